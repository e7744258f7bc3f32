"""Where the checks keep their GX files: suites, results and Data Docs under
`<state_dir>/gx/`. No GX import here: importing GX takes seconds, and only a running check
needs it."""

from __future__ import annotations

from pathlib import Path

from chatsales.core.settings import state_dir


def gx_root() -> Path:
    return state_dir() / "gx"


def data_docs_index() -> Path:
    """The Data Docs front page: every suite and its latest validations."""
    return gx_root() / "data_docs" / "index.html"
