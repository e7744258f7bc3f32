"""Every component's output in one place: `name | line`, on serve's stdout and in one log
file, with every known secret replaced by `***`."""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO, TextIO

REDACTED = "***"
COLOURS = re.compile(r"\x1b\[[0-9;]*m")  # Dagster colours its log lines even into a pipe
SHORTEST_SECRET = 4  # shorter values (an empty password) would blank out ordinary text


class Redactor:
    def __init__(self, secrets: Iterable[str | None]):
        # longest first: a secret that contains another is replaced whole
        kept = {s for s in secrets if s and len(s) >= SHORTEST_SECRET}
        self.secrets = sorted(kept, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text


def prefixed(name: str, line: str, width: int) -> str:
    return f"{name:<{width}} | {line.rstrip(chr(10)).rstrip(chr(13))}"


class LogSink:
    """Lines from many threads, written whole to stdout and the log file."""

    def __init__(self, log_path: Path | None, redact: Redactor, width: int = 9,
                 stream: TextIO | None = None):  # fmt: skip
        self.redact = redact
        self.width = width
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()
        self._file = None
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(log_path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115

    def write(self, name: str, line: str) -> None:
        text = prefixed(name, self.redact(COLOURS.sub("", line)), self.width) + "\n"
        with self._lock:
            self.stream.write(text)
            self.stream.flush()
            if self._file is not None:
                self._file.write(text)

    def pump(self, name: str, pipe: BinaryIO) -> threading.Thread:
        """Copy a child's output into the sink until the pipe closes, in a thread."""

        def copy() -> None:
            with pipe:
                for raw in iter(pipe.readline, b""):
                    self.write(name, raw.decode("utf-8", errors="replace"))

        thread = threading.Thread(target=copy, name=f"log-{name}", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
