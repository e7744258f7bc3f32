"""Stopping a daemon the app started in a process group of its own (Superset's gunicorn, the
Spark cluster's JVMs), by its pid."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path


def stop_daemon(pid: int, timeout: float = 30) -> None:
    """SIGTERM the daemon and wait until it is gone; SIGKILL its group if it lingers."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):  # reap it if this process started it
            os.waitpid(pid, os.WNOHANG)
        if not Path(f"/proc/{pid}").exists():
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
