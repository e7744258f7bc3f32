"""How long something takes, and how much memory a command's whole process tree holds.

psutil is not in the virtualenv, so the tree is read from /proc (Linux): every 0.2 s the
resident sets of the process and all its descendants are summed, and the peak is kept. Pages
shared between processes (libraries, copy-on-write after a fork) count once per process, so
the sum is an upper bound; `ru_maxrss` would instead give the largest single process.
The CPU seconds of the tree (user + system, of every descendant reaped) come from
`getrusage(RUSAGE_CHILDREN)`: they count work done, not time spent waiting for a busy CPU.
"""

from __future__ import annotations

import os
import resource
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

SAMPLE_SECONDS = 0.2
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
Result = TypeVar("Result")


def timed(action: Callable[[], Result]) -> tuple[float, Result]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def _parent_and_rss() -> dict[int, tuple[int, int]]:
    """Every live process: pid -> (parent pid, resident bytes)."""
    processes = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # it ended while we looked
            continue
        # "pid (command) state ppid ... rss ...": the command may hold spaces and parentheses
        fields = stat.rpartition(")")[2].split()
        processes[int(entry.name)] = (int(fields[1]), int(fields[21]) * PAGE_BYTES)
    return processes


def tree_rss(root: int) -> int:
    """The summed resident bytes of `root` and all its descendants, now."""
    processes = _parent_and_rss()
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in processes.items():
        children.setdefault(parent, []).append(pid)
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        total += processes.get(pid, (0, 0))[1]
        pending += children.get(pid, [])
    return total


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Sampled:
    exit_code: int
    peak_rss_bytes: int
    cpu_seconds: float


def run_sampled(command: list[str], log: Path, **popen) -> Sampled:
    """Run `command` with its output in `log`, sampling its tree; one at a time (the CPU
    seconds are the growth of this process's reaped children's)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    cpu_before = children_cpu_seconds()
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, **popen)
        peak = 0
        while True:
            peak = max(peak, tree_rss(process.pid))
            try:
                code = process.wait(timeout=SAMPLE_SECONDS)
                return Sampled(code, peak, children_cpu_seconds() - cpu_before)
            except subprocess.TimeoutExpired:
                continue
