"""The Wazzup API v3 for the session's runs (the real one is not reachable here): a local HTTP
server answering channels and users to the test key."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from urllib.parse import urlparse

from .demo_landing import UNMAPPED_CHANNEL
from .http_replay import ReplayHandler

WAZZUP_API_KEY = "test-wazzup-key"
WAZZUP_CHANNELS = [
    {"channelId": UNMAPPED_CHANNEL, "transport": "whatsapp", "plainId": "79990000009",
     "state": "active"},
    {"channelId": "11111111-2222-4333-8444-555555555555", "transport": "tgapi",
     "plainId": "79990000010", "state": "phoneUnavailable"},
]  # fmt: skip
WAZZUP_USERS = [{"id": "8100001", "name": "Алексей Смирнов"}, {"id": "8100002", "name": "Мария"}]


class WazzupApiReplay(ReplayHandler):
    """The Wazzup API v3 for the session's runs (the real one is not reachable here)."""

    def do_GET(self):  # noqa: N802
        if self.headers.get("Authorization") != f"Bearer {WAZZUP_API_KEY}":
            return self._reply(401, {"error": "unauthorized"})
        path = urlparse(self.path).path
        bodies = {"/v3/channels": WAZZUP_CHANNELS, "/v3/users": WAZZUP_USERS}
        return self._reply(200, bodies[path]) if path in bodies else self._reply(404, {})


@contextmanager
def wazzup_api() -> Iterator[str]:
    """The replay on a free local port; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), WazzupApiReplay)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v3"
    finally:
        server.shutdown()
