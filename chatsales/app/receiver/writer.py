"""The landing files: each accepted body is one JSON line, fsynced before it is answered.

A body is re-serialized as one compact JSON line and appended to the current file
`<landing>/wazzup/.incoming/<UTC time>-<pid>.jsonl.part`; one thread writes and fsyncs, and
the lines handed to it while an fsync runs share the next one (group commit). The current
file is published by an atomic rename to `<landing>/wazzup/<UTC time>-<pid>.jsonl` (names
sort in arrival order) when it is older than `rotate_seconds`, bigger than `rotate_bytes`,
or on a clean stop; the loader only reads `wazzup/*.jsonl`, so it never sees a file being
written. On start, `.part` files left by a killed receiver are published: their complete
lines are kept, a trailing partial line (never acknowledged) is dropped. A `.part` locked
(flock) by a live receiver is left alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import json
import logging
import os
import queue
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

log = logging.getLogger(__name__)

PART_SUFFIX = ".part"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def encode_line(body: bytes) -> bytes:
    """The body as one compact JSON line; ValueError if it is not a JSON object."""
    try:
        value = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise ValueError(f"JSON {type(value).__name__}, not an object")
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        return (text + "\n").encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (\ud800) cannot be UTF-8: keep it escaped
        return (json.dumps(value, separators=(",", ":")) + "\n").encode("ascii")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LandingWriter:
    """Appends lines to the current `.part` file and publishes it; thread-safe."""

    def __init__(self, landing_dir: Path, rotate_seconds: float, rotate_bytes: int):
        self.folder = Path(landing_dir) / "wazzup"
        self.incoming = self.folder / ".incoming"
        self.rotate_seconds = rotate_seconds
        self.rotate_bytes = rotate_bytes
        self.lock = threading.Lock()  # the file and its sizes
        self._durable_size = 0
        self._file: BinaryIO | None = None
        self._path: Path | None = None
        self._opened = 0.0
        self._size = 0
        self._last_stamp = datetime.min.replace(tzinfo=UTC)

    def recover(self) -> list[Path]:
        """Publish `.part` files left by a receiver that died; returns the published files."""
        self.incoming.mkdir(parents=True, exist_ok=True)
        published = []
        with self.lock:
            for part in sorted(self.incoming.glob(f"*.jsonl{PART_SUFFIX}")):
                try:
                    handle = open(part, "r+b")  # noqa: SIM115
                except FileNotFoundError:  # published meanwhile by its (live) receiver
                    continue
                with handle:
                    try:
                        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        log.warning("wazzup receiver: %s is in use by a live receiver", part.name)
                        continue
                    if not part.exists():
                        continue
                    data = handle.read()
                    keep = data.rfind(b"\n") + 1
                    if keep < len(data):
                        log.warning(
                            "wazzup receiver: %s: dropped a partial last line of %d "
                            "bytes (never acknowledged)",
                            part.name,
                            len(data) - keep,
                        )
                        handle.truncate(keep)
                        os.fsync(handle.fileno())
                    if keep == 0:
                        part.unlink()
                        continue
                    published.append(self._publish(part))
                    log.info(
                        "wazzup receiver: recovered %d lines from %s",
                        data[:keep].count(b"\n"),
                        part.name,
                    )
            _fsync_dir(self.incoming)
        return published

    def append_batch(self, lines: list[bytes]) -> list[OSError | None]:
        """Write the lines, then one fsync for all of them. Returns, for each line, None when
        it is durable, or the error it was refused with; a refused line leaves nothing in the
        file (a full disk cuts back the short write, a failed fsync its whole batch)."""
        errors: list[OSError | None] = [None] * len(lines)
        unsynced: list[int] = []  # the lines of this batch written since the last fsync
        with self.lock:
            for index, line in enumerate(lines):
                try:
                    if self._file is None:
                        self._open()
                    assert self._file is not None
                    if self._file.write(line) != len(line):
                        raise OSError(errno.ENOSPC, "short write: no space left on device")
                except OSError as exc:
                    errors[index] = exc
                    if self._file is not None and not self._cut_back(self._size):
                        for unsynced_index in unsynced:  # went with the file it was in
                            errors[unsynced_index] = exc
                        unsynced.clear()
                    continue
                self._size += len(line)
                unsynced.append(index)
            if unsynced:
                assert self._file is not None
                try:
                    os.fsync(self._file.fileno())
                except OSError as exc:
                    for index in unsynced:
                        errors[index] = exc
                    self._cut_back(self._durable_size)
                else:
                    self._durable_size = self._size
            if self._file is not None and self._due():
                try:
                    self._close()
                except OSError as exc:  # the lines are durable; the next start publishes it
                    log.error("wazzup receiver: rotation failed: %s", exc)
        return errors

    def _cut_back(self, size: int) -> bool:
        """Back to `size` bytes: a failed write leaves no partial line, a failed sync none of
        its batch. If even that fails, the file is closed as it is (False); the next start's
        recovery cuts its partial line."""
        assert self._file is not None
        try:
            self._file.truncate(size)
            self._file.seek(size)
            os.fsync(self._file.fileno())
            self._size = size
            return True
        except OSError:
            self._file.close()
            self._file = self._path = None
            return False

    def rotate_if_due(self) -> None:
        with self.lock:
            if self._file is not None and self._due():
                self._close()

    def close(self) -> None:
        with self.lock:
            if self._file is not None:
                self._close()

    def _due(self) -> bool:
        return (
            self._size >= self.rotate_bytes
            or time.monotonic() - self._opened >= self.rotate_seconds
        )

    def _open(self) -> None:
        stamp = max(datetime.now(UTC), self._last_stamp + timedelta(milliseconds=1))
        self._last_stamp = stamp
        name = f"{stamp:%Y-%m-%dT%H-%M-%S}.{stamp.microsecond // 1000:03d}Z-{os.getpid()}.jsonl"
        self.incoming.mkdir(parents=True, exist_ok=True)
        self._path = self.incoming / (name + PART_SUFFIX)
        # unbuffered: a write is in the kernel's cache at once, and a failed one is seen
        self._file = open(self._path, "xb", buffering=0)  # noqa: SIM115  (kept open)
        self._opened, self._size, self._durable_size = time.monotonic(), 0, 0
        fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        _fsync_dir(self.incoming)  # the file's name is as durable as the lines written to it

    def _close(self) -> None:
        assert self._file is not None and self._path is not None
        os.fsync(self._file.fileno())
        try:
            if self._size:
                self._publish(self._path)
            else:
                self._path.unlink()
        finally:
            self._file.close()  # releases the flock only after the rename
            self._file = self._path = None

    def _publish(self, part: Path) -> Path:
        target = self.folder / part.name.removesuffix(PART_SUFFIX)
        suffix = 1
        while target.exists():  # never overwrite a published file
            target = self.folder / part.name.replace(".jsonl", f"-{suffix}.jsonl")
            suffix += 1
        # Publish time as mtime: the loader picks files up incrementally on modification date.
        os.utime(part)
        os.rename(part, target)
        _fsync_dir(self.folder)
        return target


_STOP = None  # put on the queue: the thread writes what is queued before it, then ends


class CommitThread:
    """The one thread that writes to the landing files, so an event loop never waits on a
    disk: `await append(line)` returns once the line is fsynced. The lines queued while a
    write and fsync run go together into the next one (group commit). When no line comes
    for `tick` seconds, it publishes the file if it is due."""

    def __init__(self, writer: LandingWriter, loop: asyncio.AbstractEventLoop, tick: float):
        self.writer = writer
        self._loop = loop
        self._tick = tick
        self._queue: queue.SimpleQueue[tuple[bytes, asyncio.Future[OSError | None]] | None]
        self._queue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="wazzup-commit", daemon=True)

    def start(self) -> CommitThread:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._queue.put(_STOP)
        self._thread.join()

    async def append(self, line: bytes) -> None:
        """Store the line durably; raises the OSError it was refused with."""
        future: asyncio.Future[OSError | None] = self._loop.create_future()
        self._queue.put((line, future))
        error = await future
        if error is not None:
            raise error

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=self._tick)
            except queue.Empty:
                self._rotate_if_due()
                continue
            batch = [first]
            while batch[-1] is not _STOP:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            items = [item for item in batch if item is not _STOP]
            if items:
                self._commit(items)
            if batch[-1] is _STOP:
                return

    def _commit(self, items: list[tuple[bytes, asyncio.Future[OSError | None]]]) -> None:
        try:
            errors = self.writer.append_batch([line for line, _ in items])
        except Exception as exc:  # a bug, not a disk: still no 200 for these lines
            log.exception("wazzup receiver: could not store a batch")
            errors = [OSError(str(exc))] * len(items)
        futures = [future for _, future in items]
        with contextlib.suppress(RuntimeError):  # a closed loop: no request waits any more
            self._loop.call_soon_threadsafe(_settle, futures, errors)

    def _rotate_if_due(self) -> None:
        try:
            self.writer.rotate_if_due()
        except OSError as exc:
            log.error("wazzup receiver: rotation failed: %s", exc)


def _settle(futures: list[asyncio.Future[OSError | None]], errors: list[OSError | None]) -> None:
    for future, error in zip(futures, errors, strict=True):
        if not future.done():  # its request may have been cancelled meanwhile
            future.set_result(error)
