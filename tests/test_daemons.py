"""Stopping a daemon by its pid: SIGTERM, and its whole group killed if it ignores that."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chatsales.app.daemons import stop_daemon

pytestmark = pytest.mark.unit

# a daemon that forks a child and, when told, ignores SIGTERM
DAEMON = """
import signal, subprocess, sys, time
if sys.argv[1] == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print(child.pid, flush=True)
time.sleep(60)
"""


def started(kind: str) -> tuple[subprocess.Popen, int]:
    daemon = subprocess.Popen([sys.executable, "-c", DAEMON, kind], stdout=subprocess.PIPE,
                              text=True, start_new_session=True)  # fmt: skip
    return daemon, int(daemon.stdout.readline())


def gone(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().split(")")[-1].split()[0] == "Z"


def test_a_daemon_that_stops_on_sigterm_is_reaped_at_once():
    daemon, child = started("polite")
    began = time.monotonic()
    stop_daemon(daemon.pid, timeout=20)
    assert time.monotonic() - began < 10  # no wait for the timeout: its zombie was reaped
    assert not Path(f"/proc/{daemon.pid}").exists()
    os.kill(child, signal.SIGKILL)  # a polite daemon stops its own children; this one did not


def test_a_daemon_ignoring_sigterm_loses_its_whole_group():
    daemon, child = started("stubborn")
    stop_daemon(daemon.pid, timeout=1)
    daemon.wait(timeout=10)
    deadline = time.monotonic() + 10
    while not gone(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert gone(child)
