"""Bitrix24 REST list pages, from an inbound webhook or from a folder of saved responses.

Both yield `(location, body)` pairs: `method?start=N[&filter]` (never the webhook URL: it
holds the token) or the file name, and the parsed `{result[], total, next?, time}` body.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import requests

log = logging.getLogger(__name__)

MAX_REQUESTS_PER_SECOND = 2.0
MAX_RETRIES = 6
BACKOFF_SECONDS = 1.0  # doubled on every retry


class Bitrix24Error(RuntimeError):
    """A call failed; the message names the method and Bitrix24's error, not the URL."""


class Bitrix24Client:
    """POST JSON to `<webhook_url><method>.json`, 2 requests/s at most, back-off on
    `503 QUERY_LIMIT_EXCEEDED` (and 429 / other 5xx)."""

    def __init__(self, webhook_url: str, session: requests.Session | None = None):
        self.webhook_url = webhook_url.rstrip("/") + "/"
        self.session = session or requests.Session()
        self._last_request = 0.0

    def _throttle(self) -> None:
        wait = self._last_request + 1 / MAX_REQUESTS_PER_SECOND - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last_request = time.monotonic()

    def call(self, method: str, params: dict[str, Any]) -> dict:
        for attempt in range(MAX_RETRIES):
            self._throttle()
            try:
                response = self.session.post(f"{self.webhook_url}{method}.json", json=params,
                                             timeout=60)  # fmt: skip
            except requests.RequestException as exc:  # its text would hold the URL
                raise Bitrix24Error(f"bitrix24: {method}: {type(exc).__name__}") from None
            if response.status_code == 429 or response.status_code >= 500:
                delay = BACKOFF_SECONDS * 2**attempt
                log.warning("bitrix24: HTTP %s %s on %s, retrying in %.1fs",
                            response.status_code, _error(response), method, delay)  # fmt: skip
                time.sleep(delay)
                continue
            if response.status_code != 200:
                raise Bitrix24Error(
                    f"bitrix24: {method}: HTTP {response.status_code} {_error(response)}"
                )
            body = response.json()
            if not isinstance(body, dict) or "error" in body:
                raise Bitrix24Error(f"bitrix24: {method}: {_error(response)}")
            return body
        raise Bitrix24Error(f"bitrix24: {method} still failing after {MAX_RETRIES} attempts")

    def pages(self, method: str, params: dict[str, Any]) -> Iterator[tuple[str, dict]]:
        # the location names the filter too, so quarantine rows of later runs stay apart
        where = "".join(f"&{key}={value}" for key, value in (params.get("filter") or {}).items())
        start: int | None = 0
        while start is not None:
            body = self.call(method, {**params, "start": start})
            yield f"{method}?start={start}{where}", body
            following = int(body.get("next") or 0)
            start = following if following > start else None  # absent on the last page


def _error(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    return " ".join(str(body[k]) for k in ("error", "error_description") if body.get(k))


class Pages(Protocol):
    def pages(self, method: str, params: dict[str, Any]) -> Iterator[tuple[str, dict]]: ...


class SnapshotPages:
    """Saved bodies: `<method>_page_0001.json`, ... or a single `<method>.json`; the
    filter is not applied (rows merge on id)."""

    def __init__(self, folder: Path):
        self.folder = folder

    def pages(self, method: str, params: dict[str, Any]) -> Iterator[tuple[str, dict]]:
        paths = sorted(self.folder.glob(f"{method}_page_*.json"))
        for path in paths or sorted(self.folder.glob(f"{method}.json")):
            text = path.read_text(encoding="utf-8").strip()
            if text:
                yield path.name, json.loads(text)


class NoPages:
    """Nothing configured."""

    def pages(self, method: str, params: dict[str, Any]) -> Iterator[tuple[str, dict]]:
        return iter(())
