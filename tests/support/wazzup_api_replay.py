"""The Wazzup API v3 (the real one is not reachable here): a local HTTP server answering
channels and users to the test key, and taking a webhook subscription as Wazzup does: it
first POSTs `{"test": true}` to the URI and subscribes only when that answers 200."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
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


@dataclass
class WazzupAccount:
    """What the replay serves, and the webhook subscription it holds."""

    channels: list[dict] = field(default_factory=lambda: list(WAZZUP_CHANNELS))
    users: list[dict] = field(default_factory=lambda: list(WAZZUP_USERS))
    webhooks_uri: str | None = None


class WazzupApiReplay(ReplayHandler):
    account = WazzupAccount()  # the session's; wazzup_api() gives each replay its own

    def do_GET(self):  # noqa: N802
        if self.headers.get("Authorization") != f"Bearer {WAZZUP_API_KEY}":
            return self._reply(401, {"error": "unauthorized"})
        path = urlparse(self.path).path
        bodies = {"/v3/channels": self.account.channels, "/v3/users": self.account.users}
        return self._reply(200, bodies[path]) if path in bodies else self._reply(404, {})

    def do_PATCH(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"] or 0)) or b"{}")
        if self.headers.get("Authorization") != f"Bearer {WAZZUP_API_KEY}":
            return self._reply(401, {"error": "unauthorized"})
        if urlparse(self.path).path != "/v3/webhooks":
            return self._reply(404, {})
        uri = body.get("webhooksUri") or ""
        answered = _test_post(uri)
        if answered != 200:  # as a real service would, it quotes the URI back
            return self._reply(400, {"error": "webhooksUri", "description": f"{uri}: {answered}"})
        self.account.webhooks_uri = uri
        return self._reply(200, {"ok": True})


def _test_post(uri: str) -> int | str:
    request = urllib.request.Request(
        uri, data=b'{"test": true}', headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, ValueError, OSError) as exc:
        return type(exc).__name__


@contextmanager
def wazzup_api(account: WazzupAccount | None = None) -> Iterator[str]:
    """The replay of `account` (default: the session's) on a free local port; yields its
    base URL."""
    handler = type("Replay", (WazzupApiReplay,), {"account": account or WazzupAccount()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v3"
    finally:
        server.shutdown()
        server.server_close()
