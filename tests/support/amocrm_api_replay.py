"""A local amoCRM API v4 serving a landing folder's saved pages (what the demo writes) as the
live API does: `filter[updated_at][from]` (`>=`), `order[updated_at]=asc`, `limit` and `page`
with `_links.next`, HTTP 204 when nothing matches. It can play the account as it was at an
earlier instant (`until`), and an outage: every request after the first `healthy_requests`
answered with one kind of garbage."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

from .http_replay import ReplayHandler

ACCESS_TOKEN = "amocrm-replay-token"
HTML_ERROR_PAGE = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
# (status, body, headers) of each kind of garbage; None: the real page, cut short
GARBAGE = {
    "truncated JSON": (200, None, {}),
    "HTML instead of JSON": (200, HTML_ERROR_PAGE, {}),
    "HTTP 502": (502, HTML_ERROR_PAGE, {}),
    "HTTP 500": (500, b"", {}),
    "rate limited (429)": (429, b"", {"Retry-After": "1"}),
}


def saved_records(folder: Path, resource: str) -> list[dict]:
    """Every record of the saved pages `<resource>_page_*.json` (or `<resource>.json`)."""
    paths = sorted(folder.glob(f"{resource}_page_*.json"))
    paths = paths or sorted(folder.glob(f"{resource}.json"))
    return [
        record
        for path in paths
        for record in json.loads(path.read_text(encoding="utf-8"))["_embedded"][resource]
    ]


@dataclass
class Account:
    """What the replay serves, and how it misbehaves."""

    records: dict[str, list[dict]]  # leads, contacts, users: as the API lists them
    until: int | None = None  # serve only records updated before this epoch second
    healthy_requests: int | None = None  # None: never break
    garbage: str = "truncated JSON"
    requests: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_landing(cls, landing: Path) -> Account:
        folder = landing / "amocrm"
        resources = ("leads", "contacts", "users")
        return cls({name: saved_records(folder, name) for name in resources})

    def visible(self, resource: str) -> list[dict]:
        records = self.records.get(resource, [])
        if self.until is None or resource == "users":
            return records
        return [r for r in records if r["updated_at"] < self.until]

    def requests_to(self, path: str) -> list[dict[str, list[str]]]:
        """The query of each request made to `path`."""
        urls = [urlparse(r) for r in self.requests]
        return [parse_qs(u.query) for u in urls if u.path == path]


class AmoCrmApiReplay(ReplayHandler):
    account: Account

    def do_GET(self):  # noqa: N802
        account = type(self).account
        with account.lock:
            account.requests.append(self.path)
            broken = (
                account.healthy_requests is not None
                and len(account.requests) > account.healthy_requests
            )
        if self.headers.get("Authorization") != f"Bearer {ACCESS_TOKEN}":
            return self._reply(401, {"title": "Unauthorized", "status": 401})
        url = urlparse(self.path)
        resource = url.path.removeprefix("/api/v4/").strip("/")
        if resource == "leads/pipelines":
            return self._reply(204)  # the demo's account has no saved pipelines
        if resource not in account.records:
            return self._reply(404, {"title": "Not Found", "status": 404})
        body = self._page(account, resource, parse_qs(url.query))
        if broken:
            return self._garbage(account.garbage, body)
        if body is None:
            return self._reply(204)
        return self._reply(200, body)

    def _page(self, account: Account, resource: str, query: dict) -> dict | None:
        since = int(query.get("filter[updated_at][from]", ["0"])[0])
        limit = int(query.get("limit", ["250"])[0])
        page = int(query.get("page", ["1"])[0])
        records = [r for r in account.visible(resource) if r.get("updated_at", since) >= since]
        if "order[updated_at]" in query:
            records.sort(key=lambda r: (r["updated_at"], r["id"]))
        chunk = records[(page - 1) * limit : page * limit]
        if not chunk:
            return None
        links = {"self": {"href": self._href(resource, query, page)}}
        if page * limit < len(records):
            links["next"] = {"href": self._href(resource, query, page + 1)}
        return {"_page": page, "_links": links, "_embedded": {resource: chunk}}

    def _href(self, resource: str, query: dict, page: int) -> str:
        params = {key: values[0] for key, values in query.items()} | {"page": page}
        return f"http://{self.headers['Host']}/api/v4/{resource}?{urlencode(params)}"

    def _garbage(self, kind: str, page: dict | None) -> None:
        status, body, headers = GARBAGE[kind]
        if body is None:
            whole = json.dumps(page or {"_embedded": {}}, ensure_ascii=False).encode()
            body = whole[: len(whole) * 2 // 3]
        self._reply(status, body, headers)


@contextmanager
def amocrm_api(account: Account) -> Iterator[str]:
    """The replay of `account` on a free port; yields its base URL."""
    handler = type("Replay", (AmoCrmApiReplay,), {"account": account})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
