"""A base for the local HTTP servers that replay an API's answers in its wire format."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any


class ReplayHandler(BaseHTTPRequestHandler):
    """Quiet request handler with one way to answer: bytes as they are, else JSON."""

    def _reply(self, status: int, body: Any = b"", headers: dict | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass
