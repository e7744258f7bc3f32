"""Bitrix24 REST list pages, from an inbound webhook or from a folder of saved responses.

Both yield `(location, body)` pairs: `method?start=N[&filter]` (never the webhook URL: it
holds the token) or the file name, and the parsed `{result[], total, next?, time}` body.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from dlt.sources.helpers.requests import RequestException, Response

from ..api_client import ApiClient, RequestPolicy
from .settings import REQUEST_POLICY


class Bitrix24Error(RuntimeError):
    """A call failed; the message names the method and Bitrix24's error, not the URL."""


class Bitrix24Client:
    """POST JSON to `<webhook_url><method>.json`, throttled and retried as `policy` says
    (settings.py: 2 requests/s, back-off on `503 QUERY_LIMIT_EXCEEDED`, 429 and other 5xx)."""

    def __init__(self, webhook_url: str, policy: RequestPolicy = REQUEST_POLICY):
        self.webhook_url = webhook_url.rstrip("/") + "/"
        self.http = ApiClient("bitrix24", policy, describe=_describe)

    def call(self, method: str, params: dict[str, Any]) -> dict:
        try:
            response = self.http.request("POST", f"{self.webhook_url}{method}.json", json=params)
        except RequestException as exc:  # its text would hold the URL
            raise Bitrix24Error(f"bitrix24: {method}: {type(exc).__name__} after "
                                f"{self.http.policy.attempts} attempts") from None  # fmt: skip
        failure = self.http.failure(response)
        if failure:
            said = _error(response)
            raise Bitrix24Error(f"bitrix24: {method}: {failure}" + (f" ({said})" if said else ""))
        if response.status_code != 200:
            raise Bitrix24Error(
                f"bitrix24: {method}: HTTP {response.status_code} {_error(response)}"
            )
        body = response.json()
        if not isinstance(body, dict) or "error" in body:
            raise Bitrix24Error(f"bitrix24: {method}: {_error(response)}")
        return body

    def pages(self, method: str, params: dict[str, Any]) -> Iterator[tuple[str, dict]]:
        # the location names the filter too, so quarantine rows of later runs stay apart
        where = "".join(f"&{key}={value}" for key, value in (params.get("filter") or {}).items())
        start: int | None = 0
        while start is not None:
            body = self.call(method, {**params, "start": start})
            yield f"{method}?start={start}{where}", body
            following = int(body.get("next") or 0)
            start = following if following > start else None  # absent on the last page


def _error(response: Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    return " ".join(str(body[k]) for k in ("error", "error_description") if body.get(k))


def _describe(response: Response) -> str:
    """`QUERY_LIMIT_EXCEEDED ... on crm.deal.list`: the method, never the webhook URL."""
    method = response.url.rsplit("/", 1)[-1].removesuffix(".json")
    return f"{_error(response)} on {method}".strip()


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
