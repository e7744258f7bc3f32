"""`chatsales run` with something done to it, or to what it runs on, at a point of its
progress: the fault tests' shared driver."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable

from .cli import CHATSALES
from .paths import REPO_ROOT


def run_interrupted(
    marker: str, action: Callable[[subprocess.Popen], None], env: dict[str, str]
) -> tuple[int, list[str]]:
    """Start `chatsales run` in its own process group, call `action` with it once a progress
    line contains `marker`, and read on until it ends: its exit code and its lines."""
    process = subprocess.Popen(
        [CHATSALES, "run"], env={**env, "PYTHONUNBUFFERED": "1"}, cwd=REPO_ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    lines: list[str] = []
    acted = False
    try:
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if not acted and marker in line:
                acted = True
                action(process)
        process.wait(timeout=1200)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=60)
    assert acted, f"never printed {marker!r}:\n" + "\n".join(lines[-20:])
    return process.returncode, lines
