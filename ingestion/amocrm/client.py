"""amoCRM / Kommo API v4 pages, from the live API or from a folder of saved responses.

Both yield `(location, body)` pairs: the API's page URL or the file name, and the parsed
JSON body. An empty page (HTTP 204) ends the listing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from dlt.sources.helpers.requests import RequestException

from ..api_client import ApiClient, RequestPolicy
from .settings import PAGE_SIZE, REQUEST_POLICY


class AmoCrmError(RuntimeError):
    """A request failed; the message names the request, never the token."""


class AmoCrmClient:
    """GET with the bearer token, throttled and retried as `policy` says (settings.py)."""

    def __init__(self, base_url: str, access_token: str, policy: RequestPolicy = REQUEST_POLICY):
        self.base_url = base_url.rstrip("/")
        self.http = ApiClient("amocrm", policy, {"Authorization": f"Bearer {access_token}"})

    def get(self, url: str, params: dict[str, Any] | None = None) -> dict | None:
        """One page: its JSON body, or None for an empty page (204)."""
        where = f"amocrm: GET {urlparse(url).path}"
        try:
            response = self.http.request("GET", url, params=params)
        except RequestException as exc:  # no answer, on every attempt; its text has the query
            raise AmoCrmError(f"{where}: {type(exc).__name__} after "
                              f"{self.http.policy.attempts} attempts") from None  # fmt: skip
        if response.status_code == 204:
            return None
        failure = self.http.failure(response)
        if failure:
            raise AmoCrmError(f"{where}: {failure}")
        if not response.ok:
            raise AmoCrmError(f"{where}: HTTP {response.status_code}")
        return response.json()

    def pages(self, path: str, params: dict[str, Any]) -> Iterator[tuple[str, dict]]:
        url: str | None = f"{self.base_url}/api/v4/{path}"
        query: dict[str, Any] | None = {"limit": PAGE_SIZE, **params}
        while url:
            body = self.get(url, query)
            if body is None:
                return
            yield url, body
            url = ((body.get("_links") or {}).get("next") or {}).get("href")
            query = None  # the next link carries the query


def snapshot_pages(folder: Path, prefix: str) -> Iterator[tuple[str, dict]]:
    """Saved API bodies: `<prefix>_page_0001.json`, ... or a single `<prefix>.json`."""
    for path in sorted(folder.glob(f"{prefix}_page_*.json")) or sorted(
        folder.glob(f"{prefix}.json")
    ):
        text = path.read_text(encoding="utf-8").strip()
        if text:
            yield path.name, json.loads(text)


def embedded(body: dict, key: str) -> list[Any]:
    return ((body or {}).get("_embedded") or {}).get(key) or []


def _epoch(since: datetime | None) -> int:
    return int(since.timestamp()) if since else 0


class ApiPages:
    """Pages from the live API; `updated_since` is the API's filter (`>=`)."""

    def __init__(self, client: AmoCrmClient):
        self.client = client

    def leads(self, updated_since: datetime | None) -> Iterator[tuple[str, dict]]:
        params = {
            "with": "contacts",
            "order[updated_at]": "asc",
            "filter[updated_at][from]": _epoch(updated_since),
        }
        return self.client.pages("leads", params)

    def users(self) -> Iterator[tuple[str, dict]]:
        return self.client.pages("users", {})

    def contacts(self, updated_since: datetime | None) -> Iterator[tuple[str, dict]]:
        params = {"order[updated_at]": "asc", "filter[updated_at][from]": _epoch(updated_since)}
        return self.client.pages("contacts", params)

    def pipelines(self) -> Iterator[tuple[str, dict]]:
        return self.client.pages("leads/pipelines", {})


class SnapshotPages:
    """Saved responses in a folder (the demo writes these); the cursor filters rows."""

    def __init__(self, folder: Path):
        self.folder = folder

    def leads(self, updated_since: datetime | None) -> Iterator[tuple[str, dict]]:
        return snapshot_pages(self.folder, "leads")

    def users(self) -> Iterator[tuple[str, dict]]:
        return snapshot_pages(self.folder, "users")

    def contacts(self, updated_since: datetime | None) -> Iterator[tuple[str, dict]]:
        return snapshot_pages(self.folder, "contacts")

    def pipelines(self) -> Iterator[tuple[str, dict]]:
        return snapshot_pages(self.folder, "pipelines")


class NoPages:
    """Nothing configured."""

    def leads(self, updated_since: datetime | None) -> Iterator[tuple[str, dict]]:
        return iter(())

    def users(self) -> Iterator[tuple[str, dict]]:
        return iter(())

    def contacts(self, updated_since: datetime | None) -> Iterator[tuple[str, dict]]:
        return iter(())

    def pipelines(self) -> Iterator[tuple[str, dict]]:
        return iter(())
