"""amoCRM / Kommo API v4 pages, from the live API or from a folder of saved responses.

Both yield `(location, body)` pairs: the API's page URL or the file name, and the parsed
JSON body. An empty page (HTTP 204) ends the listing.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

log = logging.getLogger(__name__)

PAGE_SIZE = 250
MAX_REQUESTS_PER_SECOND = 7
MAX_RETRIES = 6


class AmoCrmClient:
    """GET with the bearer token, 7 requests/s at most, back-off on 429 and 5xx."""

    def __init__(self, base_url: str, access_token: str, session: requests.Session | None = None):
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        self.session.headers["Authorization"] = f"Bearer {access_token}"
        self._last_request = 0.0

    def _throttle(self) -> None:
        wait = self._last_request + 1 / MAX_REQUESTS_PER_SECOND - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last_request = time.monotonic()

    def get(self, url: str, params: dict[str, Any] | None = None) -> dict | None:
        """One page: its JSON body, or None for an empty page (204)."""
        for attempt in range(MAX_RETRIES):
            self._throttle()
            response = self.session.get(url, params=params, timeout=60)
            if response.status_code == 204:
                return None
            if response.status_code == 429 or response.status_code >= 500:
                delay = float(response.headers.get("Retry-After") or 2**attempt)
                log.warning("amocrm: HTTP %s on %s, retrying in %.0fs", response.status_code,
                            url, delay)  # fmt: skip
                time.sleep(delay)
                continue
            response.raise_for_status()
            return response.json()
        raise RuntimeError(f"amocrm: {url} still failing after {MAX_RETRIES} attempts")

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


class ApiPages:
    """Pages from the live API."""

    def __init__(self, client: AmoCrmClient):
        self.client = client

    def leads(self, updated_since: int) -> Iterator[tuple[str, dict]]:
        params = {
            "with": "contacts",
            "order[updated_at]": "asc",
            "filter[updated_at][from]": updated_since,
        }
        return self.client.pages("leads", params)

    def users(self) -> Iterator[tuple[str, dict]]:
        return self.client.pages("users", {})

    def contacts(self, updated_since: int) -> Iterator[tuple[str, dict]]:
        params = {"order[updated_at]": "asc", "filter[updated_at][from]": updated_since}
        return self.client.pages("contacts", params)

    def pipelines(self) -> Iterator[tuple[str, dict]]:
        return self.client.pages("leads/pipelines", {})


class SnapshotPages:
    """Saved responses in a folder (the demo writes these); the cursor filters rows."""

    def __init__(self, folder: Path):
        self.folder = folder

    def leads(self, updated_since: int) -> Iterator[tuple[str, dict]]:
        return snapshot_pages(self.folder, "leads")

    def users(self) -> Iterator[tuple[str, dict]]:
        return snapshot_pages(self.folder, "users")

    def contacts(self, updated_since: int) -> Iterator[tuple[str, dict]]:
        return snapshot_pages(self.folder, "contacts")

    def pipelines(self) -> Iterator[tuple[str, dict]]:
        return snapshot_pages(self.folder, "pipelines")


class NoPages:
    """Nothing configured."""

    def leads(self, updated_since: int) -> Iterator[tuple[str, dict]]:
        return iter(())

    def users(self) -> Iterator[tuple[str, dict]]:
        return iter(())

    def contacts(self, updated_since: int) -> Iterator[tuple[str, dict]]:
        return iter(())

    def pipelines(self) -> Iterator[tuple[str, dict]]:
        return iter(())
