"""The HTTP side of the receiver: a plain ASGI app served by uvicorn (httptools, uvloop).

Only `POST /wazzup/<token>`, or `POST /wazzup` with `Authorization: Bearer <token>`, is
accepted; `GET /health` answers `{"status":"ok"}`. A body is answered 200 only after the
commit thread has fsynced it; one it could not store gets a 500. The token is compared in
constant time and never logged: uvicorn's access log is off, and in whatever else uvicorn
or this module logs (a path, a request's scope at TRACE level) it reads `<token>`.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import json
import logging
import signal
import socket
import threading
from pathlib import Path
from typing import Any

import uvicorn
import uvloop
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from chatsales.app.receiver.writer import CommitThread, LandingWriter, encode_line

log = logging.getLogger(__name__)

STALL_SECONDS = 15  # a client that stalls mid-request is dropped after this
DRAIN_FACTOR = 8  # an oversize body up to this many times the limit is read before the 413
BACKLOG = 128  # the listen backlog: bursts of webhooks are not reset
SERVER_NAME = "chatsales-wazzup-receiver"


class _StallGuardedProtocol(HttpToolsProtocol):
    """uvicorn's protocol with a deadline on reading a request: from its first byte (or the
    connection) to its last, at most `stall_seconds`, else the connection is closed.
    uvicorn itself times out only an idle keep-alive connection."""

    def __init__(self, *args: Any, stall_seconds: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stall_seconds = stall_seconds
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        self._arm()  # before parsing: the data may complete the request and disarm it
        super().data_received(data)

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._deadline is None:
            self._deadline = self.loop.call_later(self._stall_seconds, self._stalled)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _stalled(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            log.warning("wazzup receiver: a client stalled mid-request: disconnected")
            self.transport.close()


class _RedactToken(logging.Filter):
    """On uvicorn's loggers: at TRACE level it logs each request's scope, path included."""

    LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.asgi", "uvicorn.access")

    def __init__(self, token: str):
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token in message:
            record.msg, record.args = message.replace(self.token, "<token>"), ()
        return True

    def install(self) -> None:
        for name in self.LOGGERS:
            logging.getLogger(name).addFilter(self)

    def remove(self) -> None:
        for name in self.LOGGERS:
            logging.getLogger(name).removeFilter(self)


def _json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


STORED = _json({"ok": True})


class WebhookApp:
    """The ASGI application: routes, auth, limits, and the durable append."""

    def __init__(self, token: str, max_body_bytes: int):
        self.token = token
        self.max_body_bytes = max_body_bytes
        self.committer: CommitThread | None = None  # set once the event loop exists
        self._path = f"/wazzup/{token}".encode()
        self._bearer = f"Bearer {token}".encode()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        path = scope["raw_path"].split(b"?")[0]
        if scope["method"] == "GET":
            if path == b"/health":
                return await _reply(send, 200, {"status": "ok"})
            return await _reply(send, 404, {"error": "not found"})
        if scope["method"] != "POST":
            return await self._reject(scope, send, 501, "unsupported method")
        if path == b"/wazzup":
            auth = dict(scope["headers"]).get(b"authorization", b"")
            if not hmac.compare_digest(auth, self._bearer):
                return await self._reject(scope, send, 401, "missing or wrong bearer token")
        elif not hmac.compare_digest(path, self._path):
            return await self._reject(scope, send, 404, f"unknown path {self._redact(path)}")
        await self._store(scope, receive, send)

    async def _store(self, scope: dict, receive: Any, send: Any) -> None:
        try:
            length = int(dict(scope["headers"]).get(b"content-length", b""))
        except ValueError:
            return await self._reject(scope, send, 411, "no Content-Length")
        if length > self.max_body_bytes:
            if length <= DRAIN_FACTOR * self.max_body_bytes:
                # read and drop it, so the client gets the 413 rather than a connection reset
                await _read_body(receive, limit=None)
            return await self._reject(scope, send, 413, f"body > {self.max_body_bytes} bytes")
        body = await _read_body(receive, limit=self.max_body_bytes)
        if body is None:
            return  # the client went away: nobody to answer
        try:
            line = encode_line(body)
        except ValueError as exc:
            return await self._reject(scope, send, 400, str(exc))
        assert self.committer is not None
        try:
            await self.committer.append(line)
        except OSError as exc:
            log.error("wazzup receiver: could not store a body: %s", exc)
            return await _reply(send, 500, {"error": "not stored"})
        await _reply(send, 200, body=STORED)

    async def _reject(self, scope: dict, send: Any, status: int, reason: str) -> None:
        client = (scope.get("client") or ("?",))[0]
        log.warning("wazzup receiver: %s from %s: %s", status, client, reason)
        error = {401: "unauthorized", 404: "not found"}.get(status, reason)
        await _reply(send, status, {"error": error}, close=True)

    def _redact(self, path: bytes) -> str:
        return path.decode("latin-1").replace(self.token, "<token>")


async def _read_body(receive: Any, limit: int | None) -> bytes | None:
    """The request body (at most `limit` bytes are kept), or None if the client left."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size <= limit:
            chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _reply(
    send: Any,
    status: int,
    payload: dict[str, Any] | None = None,
    body: bytes = b"",
    close: bool = False,
) -> None:
    data = _json(payload) if payload is not None else body
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(data))]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


class Receiver:
    """The HTTP server (in a thread of its own, on its own event loop), the landing writer
    and its commit thread; `start()` / `stop()`."""

    def __init__(
        self,
        landing_dir: Path,
        host: str,
        port: int,
        token: str,
        max_body_bytes: int = 1_000_000,
        rotate_seconds: float = 60,
        rotate_bytes: int = 50_000_000,
        stall_seconds: float = STALL_SECONDS,
    ):
        if not token:
            raise ValueError("the webhook token is empty: set CHATSALES_WAZZUP_WEBHOOK_TOKEN")
        self.token = token
        self.writer = LandingWriter(landing_dir, rotate_seconds, rotate_bytes)
        self.app = WebhookApp(token, max_body_bytes)
        self._socket = socket.create_server((host, port), backlog=BACKLOG)
        config = uvicorn.Config(
            self.app,
            http=functools.partial(_StallGuardedProtocol, stall_seconds=stall_seconds),
            lifespan="off",
            access_log=False,  # its lines hold the path, and the path holds the token
            log_config=None,  # the process's logging stays as it is
            server_header=False,
            headers=[("server", SERVER_NAME)],
            timeout_graceful_shutdown=None,  # stop() waits for every request in flight
        )
        self.server = uvicorn.Server(config)
        self._redact = _RedactToken(token)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._committer: CommitThread | None = None
        self._thread: threading.Thread | None = None
        self._stopped = False

    @property
    def port(self) -> int:
        return self._socket.getsockname()[1]

    def start(self) -> Receiver:
        self.writer.recover()
        self._redact.install()
        self._loop = uvloop.new_event_loop()
        tick = max(0.05, min(1.0, self.writer.rotate_seconds / 4))
        self._committer = self.app.committer = CommitThread(self.writer, self._loop, tick)
        self._committer.start()
        self._thread = threading.Thread(target=self._serve, name="wazzup-http", daemon=True)
        self._thread.start()
        while not self.server.started:  # the socket already listens; this is quick
            if not self._thread.is_alive():
                raise RuntimeError("the wazzup receiver's server did not start")
            self._thread.join(0.01)
        return self

    def _serve(self) -> None:
        assert self._loop is not None
        try:
            self._loop.run_until_complete(self.server.serve(sockets=[self._socket]))
        finally:
            self._loop.close()

    def stop(self) -> None:
        """Stop accepting, finish requests in flight, publish the current file."""
        if self._stopped:
            return
        self._stopped = True
        if self._thread is not None:
            self.server.should_exit = True
            self._thread.join()
        self._socket.close()
        if self._committer is not None:
            self._committer.stop()
        self.writer.close()
        self._redact.remove()

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
    )
    stop = threading.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    in_main = threading.current_thread() is threading.main_thread()  # signals need it
    # before the server answers: a SIGTERM right after the first 200 still stops it cleanly
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in signals if in_main}
    try:
        receiver.start()
        log.info(
            "wazzup receiver: listening on http://%s:%d/wazzup/<token>, landing %s",
            host,
            receiver.port,
            receiver.writer.folder,
        )
        while not stop.wait(1):
            pass
    finally:
        receiver.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        log.info("wazzup receiver: stopped")
