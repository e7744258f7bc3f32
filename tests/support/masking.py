"""A warehouse copy rebuilt with CHATSALES_MASK_MESSAGE_TEXT on or off, the cheap way: only the
two models that hold message text, on a copy of a built warehouse."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from chatsales.core.settings import DBT_PROJECT_DIR, Warehouse


def rebuild_messages(source: Warehouse, tmp: Path, env: dict[str, str], masked: bool) -> None:
    """`dbt build` of the two models holding text on a copy, the setting handed to dbt as
    chatsales hands it on (Warehouse.dbt_env): an incremental run with no new message."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CHATSALES_MASK_MESSAGE_TEXT", "true" if masked else "false")
        env = {**env, **source.dbt_env(), "DBT_TARGET_PATH": str(tmp / "target")}
    dbt = str(Path(sys.executable).with_name("dbt"))
    result = subprocess.run(
        [dbt, "build", "--select", "int_messages", "fct_messages",
         "--profiles-dir", str(DBT_PROJECT_DIR)],
        cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:]
