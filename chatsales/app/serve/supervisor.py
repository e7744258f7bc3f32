"""One supervised child: started, health-checked, restarted with back-off, stopped."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .logs import LogSink
from .processes import MARKER, kill_marked, marker_value, signal_group


@dataclass(frozen=True)
class Backoff:
    """The wait before restart number `failures` (1, 2, …): `initial · factor^(n-1)`, at
    most `cap`. A child that stayed healthy `reset_after` seconds starts over at 1."""

    initial: float = 1.0
    factor: float = 2.0
    cap: float = 60.0
    reset_after: float = 120.0

    def delay(self, failures: int) -> float:
        return min(self.cap, self.initial * self.factor ** max(0, failures - 1))

    def failures_after(self, failures: int, healthy_for: float) -> int:
        """The count of consecutive failures once the child fails again."""
        return 1 if healthy_for >= self.reset_after else failures + 1


@dataclass
class ChildSpec:
    name: str
    command: list[str]
    env: dict[str, str]
    cwd: Path
    healthy: Callable[[float], bool]  # called with the time the process started
    start_grace: float = 120.0  # seconds it may take to answer at all
    failed_checks: int = 3  # consecutive failed checks, once it answered, that restart it
    check_every: float = 2.0
    stop_timeout: float = 30.0  # SIGTERM, then this long, then SIGKILL
    backoff: Backoff = field(default_factory=Backoff)


class SupervisedChild:
    """A monitor thread keeps the child running; `stop()` ends it and its whole tree."""

    def __init__(self, spec: ChildSpec, sink: LogSink):
        self.spec = spec
        self.sink = sink
        self.marker = marker_value(spec.name)
        self.process: subprocess.Popen | None = None
        self._output: threading.Thread | None = None  # copies the child's output to the sink
        self.started_at = 0.0  # wall clock, for health checks that compare timestamps
        self.healthy_since: float | None = None
        self.failures = 0
        self.restarts = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._monitor, name=f"serve-{spec.name}")

    def say(self, message: str) -> None:
        self.sink.write("serve", f"{self.spec.name}: {message}")

    @property
    def is_healthy(self) -> bool:
        return self.healthy_since is not None

    def start(self) -> None:
        self._thread.start()

    def _launch(self) -> None:
        self.process = subprocess.Popen(
            self.spec.command,
            env={**self.spec.env, MARKER: self.marker},
            cwd=self.spec.cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started_at, self.healthy_since = time.time(), None
        assert self.process.stdout is not None
        self._output = self.sink.pump(self.spec.name, self.process.stdout)
        self.say(f"started (pid {self.process.pid})")

    def _monitor(self) -> None:
        while not self._stopping.is_set():
            try:
                self._launch()
            except OSError as exc:  # the program is missing or not executable
                reason: str | None = f"could not start: {exc}"
            else:
                reason = self._watch()
            if reason is None:  # asked to stop
                return
            healthy_for = time.time() - self.healthy_since if self.healthy_since else 0.0
            self.healthy_since = None
            self._end_tree()
            self.failures = self.spec.backoff.failures_after(self.failures, healthy_for)
            delay = self.spec.backoff.delay(self.failures)
            self.say(f"{reason}: restart {self.restarts + 1} in {delay:.0f}s")
            if self._stopping.wait(delay):
                return
            self.restarts += 1

    def _watch(self) -> str | None:
        """Wait until the child dies or stops answering (why), or stop() is called (None)."""
        failed = 0
        while not self._stopping.wait(self.spec.check_every):
            assert self.process is not None
            if (code := self.process.poll()) is not None:
                return f"exited with code {code}"
            if self.spec.healthy(self.started_at):
                if self.healthy_since is None:
                    self.say(f"healthy after {time.time() - self.started_at:.0f}s")
                    self.healthy_since = time.time()
                failed = 0
            elif self.healthy_since is not None:
                failed += 1
                if failed >= self.spec.failed_checks:
                    return f"no answer to {failed} health checks"
            elif time.time() - self.started_at > self.spec.start_grace:
                return f"not healthy {self.spec.start_grace:.0f}s after it started"
        return None

    def _end_tree(self) -> None:
        """SIGTERM the child's group, SIGKILL it after the timeout, then whatever it left."""
        process = self.process
        if process is not None and process.poll() is None:
            signal_group(process.pid, signal.SIGTERM)
            signal_group(process.pid, signal.SIGCONT)  # a stopped process must run to exit
            try:
                process.wait(self.spec.stop_timeout)
            except subprocess.TimeoutExpired:
                self.say(f"still running {self.spec.stop_timeout:.0f}s after SIGTERM: SIGKILL")
                signal_group(process.pid, signal.SIGKILL)
                process.wait()
        if process is not None:
            signal_group(process.pid, signal.SIGKILL)  # what the group leader left behind
        if left := kill_marked(self.marker):
            self.say(f"ended {len(left)} leftover process(es): {left}")
        if self._output is not None:
            self._output.join(5)  # its last lines (the pipe closes with the last process)

    def stop(self) -> int | None:
        """Stop supervising and end the child's tree; the child's exit code."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()
        self._end_tree()
        code = self.process.returncode if self.process is not None else None
        self.say(f"stopped (exit code {code})")
        return code
