"""Count the files a block of code opens, seen through Python's `open` audit event: the real
opens of the real files, nothing replaced."""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_watched: list[tuple[str, Counter]] = []  # (folder prefix, opens per file name)


def _count(event: str, args: tuple) -> None:
    if event != "open" or not _watched or not isinstance(args[0], str | bytes | os.PathLike):
        return
    path = os.path.abspath(os.fsdecode(args[0]))
    for prefix, opens in _watched:
        if path.startswith(prefix):
            opens[path.removeprefix(prefix)] += 1


sys.addaudithook(_count)  # a hook cannot be removed: it stays, idle while nothing is watched


@contextmanager
def files_opened(folder: Path) -> Iterator[Counter]:
    """How many times each file under `folder` (by relative path) is opened in the block."""
    watched = (str(folder.resolve()) + os.sep, Counter())
    _watched.append(watched)
    try:
        yield watched[1]
    finally:
        _watched.remove(watched)
