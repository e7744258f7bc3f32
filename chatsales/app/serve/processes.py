"""Finding and ending a component's whole process tree.

Each child starts in a session (and process group) of its own, so a signal to the group
reaches what it forks; a grandchild that makes a session of its own (or outlives its parent)
escapes the group, so every child also carries a marker in its environment, which whatever
it starts inherits, and `marked` finds them all in /proc."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

MARKER = "CHATSALES_SERVE_TREE"


def marker_value(component: str, serve_pid: int | None = None) -> str:
    return f"{serve_pid or os.getpid()}:{component}"


def _environ(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:  # gone, or not ours to read
        return b""


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def marked(prefix: str) -> list[int]:
    """Live processes whose marker starts with `prefix` (`<serve pid>:` for the whole tree,
    `<serve pid>:<component>` for one component)."""
    needle = f"{MARKER}={prefix}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            variables = _environ(int(entry.name)).split(b"\0")
            if any(v.startswith(needle) for v in variables) and not _is_zombie(int(entry.name)):
                found.append(int(entry.name))
    return found


def signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def kill_marked(prefix: str, grace: float = 5.0) -> list[int]:
    """SIGTERM, then SIGKILL, the marked processes still alive; the pids that were found."""
    pids = marked(prefix)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and marked(prefix):
        time.sleep(0.1)
    for pid in marked(prefix):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return pids
