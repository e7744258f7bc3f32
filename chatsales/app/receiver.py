"""The Wazzup webhook receiver: every POST body is stored durably before it is answered 200.

Wazzup keeps no message history, so a body answered 200 but not stored is lost for good.
Each accepted body (the `{"test": true}` ping included: the loader counts it as a known
no-data body) is re-serialized as one compact JSON line, appended to the current file
`<landing>/wazzup/.incoming/<UTC time>-<pid>.jsonl.part`, flushed and fsynced, and only
then answered 200. The current file is published by an atomic rename to
`<landing>/wazzup/<UTC time>-<pid>.jsonl` (names sort in arrival order) when it is older
than `rotate_seconds`, bigger than `rotate_bytes`, or on a clean stop; the loader only reads
`wazzup/*.jsonl`, so it never sees a file being written. On start, `.part` files left by
a killed receiver are published: their complete lines are kept, a trailing partial line
(never acknowledged) is dropped. A `.part` locked (flock) by a live receiver is left alone.

Only `POST /wazzup/<token>`, or `POST /wazzup` with `Authorization: Bearer <token>`, is
accepted; `GET /health` answers `{"status":"ok"}`. Uses only the standard library.
"""

from __future__ import annotations

import errno
import fcntl
import hmac
import json
import logging
import os
import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO

log = logging.getLogger(__name__)

PART_SUFFIX = ".part"
HANDLER_TIMEOUT_SECONDS = 15  # a client that stalls mid-request is dropped after this
DRAIN_FACTOR = 8  # an oversize body up to this many times the limit is read before the 413


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


class _Batch:
    """The lines written between two fsyncs; their writers wait for `done`."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.error: OSError | None = None


class LandingWriter:
    """Appends lines to the current `.part` file and publishes it; thread-safe."""

    def __init__(self, landing_dir: Path, rotate_seconds: float, rotate_bytes: int):
        self.folder = Path(landing_dir) / "wazzup"
        self.incoming = self.folder / ".incoming"
        self.rotate_seconds = rotate_seconds
        self.rotate_bytes = rotate_bytes
        self.lock = threading.Lock()  # the file, its sizes and the batch
        self._batch = _Batch()  # the lines written since the last fsync
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

    def append(self, line: bytes) -> None:
        """Write one line and wait for the fsync that covers it; when this returns, the line
        is durable. Group commit: lines written while a sync runs share the next one."""
        with self.lock:
            if self._file is None:
                self._open()
            assert self._file is not None
            try:
                if self._file.write(line) != len(line):
                    raise OSError(errno.ENOSPC, "short write: no space left on device")
            except BaseException:
                self._cut_back(self._size)  # e.g. a full disk: later lines stay whole
                raise
            self._size += len(line)
            batch = self._batch
        self._commit(batch)
        if batch.error is not None:
            raise batch.error

    def _commit(self, batch: _Batch) -> None:
        """fsync every line written so far, unless another sync (or a rotation) covered the
        batch meanwhile. Writers wait on the lock during an fsync, then write, and the first
        of them to get the lock again syncs them all."""
        with self.lock:
            if batch.done.is_set():
                return
            assert batch is self._batch and self._file is not None
            try:
                os.fsync(self._file.fileno())
            except BaseException as exc:
                batch.error = exc if isinstance(exc, OSError) else OSError(str(exc))
                self._cut_back(self._durable_size)  # every line of the batch is refused
            else:
                self._durable_size = self._size
            if not batch.done.is_set():
                self._next_batch()
            if batch.error is None and self._due():
                self._close()

    def _next_batch(self) -> None:
        self._batch.done.set()
        self._batch = _Batch()

    def _cut_back(self, size: int) -> None:
        """Back to `size` bytes: a failed write leaves no partial line, a failed sync none of
        its batch. If even that fails, the next start's recovery cuts the partial line."""
        assert self._file is not None
        try:
            self._file.truncate(size)
            self._file.seek(size)
            os.fsync(self._file.fileno())
            self._size = size
        except OSError as exc:
            # the file is left as it is; the lines not yet synced are refused with it
            self._file.close()
            self._file = self._path = None
            self._batch.error = self._batch.error or exc
            self._next_batch()

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
        fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        _fsync_dir(self.incoming)  # the file's name is as durable as the lines written to it
        self._opened, self._size, self._durable_size = time.monotonic(), 0, 0

    def _close(self) -> None:
        assert self._file is not None and self._path is not None
        os.fsync(self._file.fileno())
        self._durable_size = self._size
        self._next_batch()  # the lines written since the last sync are durable too
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


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = HANDLER_TIMEOUT_SECONDS
    server_version = "chatsales-wazzup-receiver"
    sys_version = ""

    def do_GET(self) -> None:  # noqa: N802
        if self.path.split("?")[0] == "/health":
            self._reply(200, {"status": "ok"})
        else:
            self._reply(404, {"error": "not found"})

    def do_POST(self) -> None:  # noqa: N802
        receiver = self.server.receiver
        path = self.path.split("?")[0]
        if path == "/wazzup":
            auth = self.headers.get("Authorization", "")
            if not hmac.compare_digest(auth.encode(), f"Bearer {receiver.token}".encode()):
                return self._reject(401, "missing or wrong bearer token")
        elif not hmac.compare_digest(path.encode(), f"/wazzup/{receiver.token}".encode()):
            return self._reject(404, "unknown path")
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return self._reject(411, "no Content-Length")
        if length < 0:
            return self._reject(400, "negative Content-Length")
        if length > receiver.max_body_bytes:
            if length <= DRAIN_FACTOR * receiver.max_body_bytes:
                # read and drop it, so the client gets the 413 rather than a connection reset
                while length > 0 and (chunk := self.rfile.read(min(length, 65536))):
                    length -= len(chunk)
            return self._reject(413, f"body > {receiver.max_body_bytes} bytes")
        body = self.rfile.read(length)
        if len(body) < length:
            return self._reject(400, f"body cut short ({len(body)} of {length} bytes)")
        try:
            line = encode_line(body)
        except ValueError as exc:
            return self._reject(400, str(exc))
        try:
            receiver.writer.append(line)
        except OSError as exc:
            log.error("wazzup receiver: could not store a body: %s", exc)
            return self._reply(500, {"error": "not stored"})
        self._reply(200, {"ok": True})

    def _reject(self, status: int, reason: str) -> None:
        log.warning("wazzup receiver: %s from %s: %s", status, self.client_address[0], reason)
        self.close_connection = True
        self._reply(status, {"error": {401: "unauthorized", 404: "not found"}.get(status, reason)})

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # the request line holds the token: never logged

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002
        message = (format % args).replace(self.server.receiver.token, "<token>")
        log.warning("wazzup receiver: %s", message)


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # stop() waits for requests in flight before the last rotation
    request_queue_size = 128  # the listen backlog: bursts of webhooks are not reset
    block_on_close = True
    receiver: Receiver


class Receiver:
    """The HTTP server, the landing writer and the rotation timer; `start()` / `stop()`."""

    def __init__(
        self,
        landing_dir: Path,
        host: str,
        port: int,
        token: str,
        max_body_bytes: int = 1_000_000,
        rotate_seconds: float = 60,
        rotate_bytes: int = 50_000_000,
    ):
        if not token:
            raise ValueError("the webhook token is empty: set CHATSALES_WAZZUP_WEBHOOK_TOKEN")
        self.token = token
        self.max_body_bytes = max_body_bytes
        self.writer = LandingWriter(landing_dir, rotate_seconds, rotate_bytes)
        self.server = _Server((host, port), _Handler)
        self.server.receiver = self
        self._stopped = threading.Event()
        self._threads: list[threading.Thread] = []
        self._started = False

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def start(self) -> Receiver:
        self.writer.recover()
        tick = max(0.05, min(1.0, self.writer.rotate_seconds / 4))
        self._threads = [
            threading.Thread(
                target=self.server.serve_forever, args=(0.1,), name="wazzup-http", daemon=True
            ),
            threading.Thread(
                target=self._rotate_loop, args=(tick,), name="wazzup-rotate", daemon=True
            ),
        ]
        for thread in self._threads:
            thread.start()
        self._started = True
        return self

    def _rotate_loop(self, tick: float) -> None:
        while not self._stopped.wait(tick):
            try:
                self.writer.rotate_if_due()
            except OSError as exc:
                log.error("wazzup receiver: rotation failed: %s", exc)

    def stop(self) -> None:
        """Stop accepting, finish requests in flight, publish the current file."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        if self._started:
            self.server.shutdown()
        self.server.server_close()
        for thread in self._threads:
            thread.join()
        self.writer.close()

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(
    landing_dir: Path,
    host: str,
    port: int,
    token: str,
    max_body_bytes: int = 1_000_000,
    rotate_seconds: int = 60,
    rotate_bytes: int = 50_000_000,
) -> None:
    """Run the receiver until SIGINT or SIGTERM, then stop cleanly (publishing the file)."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    receiver = Receiver(
        landing_dir, host, port, token, max_body_bytes, rotate_seconds, rotate_bytes
    ).start()
    stop = threading.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    in_main = threading.current_thread() is threading.main_thread()  # signals need it
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in signals if in_main}
    log.info(
        "wazzup receiver: listening on http://%s:%d/wazzup/<token>, landing %s",
        host,
        receiver.port,
        receiver.writer.folder,
    )
    try:
        while not stop.wait(1):
            pass
    finally:
        receiver.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        log.info("wazzup receiver: stopped")
