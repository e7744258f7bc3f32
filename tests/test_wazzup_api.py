"""Wazzup API v3 client and `wazzup_api` dlt source against a local replay server."""

from __future__ import annotations

import json
import logging
import threading
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import duckdb
import pytest

from ingestion.wazzup.api import WazzupApi, WazzupApiError, subscribe_webhook, wazzup_api

from .support.dlt_helpers import load
from .support.http_replay import ReplayHandler

pytestmark = pytest.mark.integration

API_KEY = "test-api-key"
CHANNELS = [
    {"channelId": "0b1c2d3e-4f50-4617-8a9b-0c1d2e3f4a5b", "transport": "whatsapp",
     "plainId": "79990000001", "state": "active"},
    {"channelId": "7e8f9a0b-1c2d-4e3f-9a4b-5c6d7e8f9a0b", "transport": "tgapi",
     "plainId": "79990000002", "state": "active"},
    {"channelId": "3a4b5c6d-7e8f-4a9b-8c0d-1e2f3a4b5c6d", "transport": "instagram",
     "plainId": "demo_shop", "state": "active"},
    {"channelId": "9c0d1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f", "transport": "wapi",
     "plainId": "79990000003", "state": "notEnoughMoney"},
]  # fmt: skip
PLAIN_USERS = [{"id": "crm-user-17", "name": "Игорь Менеджер"}, {"id": 21, "name": "Мария"}]
PAGED_USERS = [{"id": f"crm-user-{n}", "name": f"Менеджер {n}"} for n in range(250)]


class WazzupReplay(ReplayHandler):
    """Replays API v3: channels, users (plain list or `{count, data}` pages of 100, with one
    429 first), and `PATCH /webhooks`."""

    requests: list[tuple[str, str]] = []
    patches: list[tuple[dict, dict]] = []
    users_mode = "paged"
    throttled = False

    def do_GET(self):  # noqa: N802
        cls = type(self)
        cls.requests.append(("GET", self.path))
        if self.headers["Authorization"] != f"Bearer {API_KEY}":
            return self._reply(401, {"error": "unauthorized"})
        url = urlparse(self.path)
        if url.path == "/v3/channels":
            return self._reply(200, CHANNELS)
        if url.path == "/v3/users" and cls.users_mode == "list":
            return self._reply(200, PLAIN_USERS)
        if url.path == "/v3/users":
            if not cls.throttled:
                cls.throttled = True
                return self._reply(429, {"error": "tooManyRequests"}, {"Retry-After": "0"})
            offset = int(parse_qs(url.query).get("offset", ["0"])[0])
            return self._reply(
                200, {"count": len(PAGED_USERS), "data": PAGED_USERS[offset : offset + 100]}
            )
        return self._reply(404, {"error": "not found"})

    def do_PATCH(self):  # noqa: N802
        type(self).requests.append(("PATCH", self.path))
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).patches.append((dict(self.headers), body))
        if body["webhooksUri"] == "not-a-url":
            return self._reply(400, {"error": "invalidWebhooksUri", "description": "bad uri"})
        return self._reply(200, {"ok": True})


@pytest.fixture
def api(monkeypatch) -> str:
    server = ThreadingHTTPServer(("127.0.0.1", 0), WazzupReplay)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    WazzupReplay.requests, WazzupReplay.patches = [], []
    WazzupReplay.users_mode, WazzupReplay.throttled = "paged", False
    yield f"http://127.0.0.1:{server.server_port}/v3"
    server.shutdown()
    server.server_close()


def test_channels_and_users_as_a_plain_list(api):
    WazzupReplay.users_mode = "list"
    client = WazzupApi(API_KEY, api)
    assert client.channels() == CHANNELS
    assert client.users() == PLAIN_USERS


def test_users_paged_by_offset_after_a_429(api):
    assert WazzupApi(API_KEY, api).users() == PAGED_USERS
    assert WazzupReplay.requests == [
        ("GET", "/v3/users"),  # 429, Retry-After: 0
        ("GET", "/v3/users"),
        ("GET", "/v3/users?offset=100"),
        ("GET", "/v3/users?offset=200"),
    ]


def test_errors_are_raised_with_the_answer(api):
    with pytest.raises(WazzupApiError, match=r"HTTP 401: \{\"error\": \"unauthorized\"\}"):
        WazzupApi("wrong-key", api).channels()
    with pytest.raises(WazzupApiError, match="HTTP 404"):
        WazzupApi(API_KEY, api).request("GET", "nothing")


def test_subscribe_webhook_patches_the_subscription(api):
    assert subscribe_webhook(API_KEY, "https://hooks.example.com/wazzup/tok", api) == {"ok": True}
    assert WazzupReplay.requests == [("PATCH", "/v3/webhooks")]
    [(headers, body)] = WazzupReplay.patches
    assert headers["Authorization"] == f"Bearer {API_KEY}"
    assert headers["Content-Type"] == "application/json"
    assert body == {
        "webhooksUri": "https://hooks.example.com/wazzup/tok",
        "subscriptions": {
            "messagesAndStatuses": True,
            "contactsAndDealsCreation": False,
            "channelsUpdates": True,
            "templateStatus": False,
        },
    }
    with pytest.raises(WazzupApiError, match="HTTP 400.*invalidWebhooksUri"):
        subscribe_webhook(API_KEY, "not-a-url", api)


def test_dlt_load_merges_channels_and_users(tmp_path, api, monkeypatch):
    monkeypatch.setenv("SOURCES__WAZZUP_API__API_KEY", API_KEY)
    counts = load(tmp_path, wazzup_api(base_url=api))
    assert counts == {"api_channels": 4, "api_users": 250}
    again = load(tmp_path, wazzup_api(base_url=api))  # merge: no duplicates
    assert again == counts
    with duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True) as conn:
        wapi = conn.execute(
            "select channel_id, transport, plain_id, state from raw_wazzup_api.api_channels "
            "where transport = 'wapi'"
        ).fetchall()
        user = conn.execute(
            "select user_id, name from raw_wazzup_api.api_users where user_id = 'crm-user-7'"
        ).fetchall()
    assert wapi == [("9c0d1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f", "wapi", "79990000003",
                     "notEnoughMoney")]  # fmt: skip
    assert user == [("crm-user-7", "Менеджер 7")]


def test_dlt_source_without_a_key_yields_empty_tables(tmp_path, monkeypatch, caplog):
    monkeypatch.delenv("SOURCES__WAZZUP_API__API_KEY", raising=False)
    with caplog.at_level(logging.INFO):
        counts = load(tmp_path, wazzup_api())
    assert counts == {"api_channels": 0, "api_users": 0}
    assert "wazzup_api: no api_key configured" in caplog.text
