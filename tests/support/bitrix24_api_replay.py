"""A local Bitrix24 REST webhook serving a landing folder's saved pages as the portal does:
`POST /rest/<user>/<token>/<method>.json`, `filter: {">=DATE_MODIFY": ...}`, pages of 50 by
`start`/`next`. Like the amoCRM replay, it plays the portal as it was at an earlier instant
(`until`) and an outage (every call after the first `healthy_requests` answered with garbage)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import ThreadingHTTPServer
from pathlib import Path

from .amocrm_api_replay import GARBAGE
from .http_replay import ReplayHandler

WEBHOOK_TOKEN = "bitrix24-replay-token"
PAGE = 50
METHODS = ("crm.deal.list", "crm.contact.list", "user.get")


def modified(record: dict) -> datetime:
    return datetime.fromisoformat(record["DATE_MODIFY"])


@dataclass
class Portal:
    records: dict[str, list[dict]]  # by method
    until: datetime | None = None  # serve only deals and contacts modified before this
    healthy_requests: int | None = None  # None: never break
    garbage: str = "truncated JSON"
    calls: list[tuple[str, dict]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_landing(cls, landing: Path) -> Portal:
        folder = landing / "bitrix24"
        return cls({
            method: [
                record
                for path in sorted(folder.glob(f"{method}_page_*.json"))
                for record in json.loads(path.read_text(encoding="utf-8"))["result"]
            ]
            for method in METHODS
        })  # fmt: skip

    def visible(self, method: str, params: dict) -> list[dict]:
        records = self.records[method]
        if method == "user.get":
            return records
        if self.until is not None:
            records = [r for r in records if modified(r) < self.until]
        since = (params.get("filter") or {}).get(">=DATE_MODIFY")
        if since:
            records = [r for r in records if modified(r) >= datetime.fromisoformat(since)]
        return sorted(records, key=lambda r: int(r["ID"]))


class Bitrix24Replay(ReplayHandler):
    portal: Portal

    def do_POST(self):  # noqa: N802
        portal = type(self).portal
        prefix = f"/rest/1/{WEBHOOK_TOKEN}/"
        params = json.loads(self.rfile.read(int(self.headers["Content-Length"] or 0)) or b"{}")
        method = self.path.removeprefix(prefix).removesuffix(".json")
        with portal.lock:
            portal.calls.append((method, params))
            broken = portal.healthy_requests is not None and len(portal.calls) > (
                portal.healthy_requests
            )
        if not self.path.startswith(prefix):
            return self._reply(401, {"error": "NO_AUTH_FOUND", "error_description": "Wrong"})
        if method not in METHODS:
            return self._reply(400, {"error": "ERROR_METHOD_NOT_FOUND", "error_description": ""})
        records = portal.visible(method, params)
        start = int(params.get("start") or 0)
        body = {"result": records[start : start + PAGE], "total": len(records)}
        if start + PAGE < len(records):
            body["next"] = start + PAGE
        if broken:
            status, garbage, headers = GARBAGE[portal.garbage]
            if garbage is None:
                whole = json.dumps(body, ensure_ascii=False).encode()
                garbage = whole[: len(whole) * 2 // 3]
            return self._reply(status, garbage, headers)
        return self._reply(200, body)


@contextmanager
def bitrix24_webhook(portal: Portal) -> Iterator[str]:
    """The replay of `portal` on a free port; yields the webhook URL (it holds the token)."""
    handler = type("Replay", (Bitrix24Replay,), {"portal": portal})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/rest/1/{WEBHOOK_TOKEN}/"
    finally:
        server.shutdown()
        server.server_close()
