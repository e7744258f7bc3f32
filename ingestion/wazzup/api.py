"""Wazzup API v3: channels and users (reference data), and the webhook subscription.

Messages never come from here (the API lists no past messages): they arrive as webhooks,
see `receiver.py`. The `wazzup_api` dlt source reads its key from `sources.wazzup_api.api_key`
(env `SOURCES__WAZZUP_API__API_KEY`, or `.dlt/secrets.toml`); with none it logs one line and
yields empty tables.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from typing import Any

import dlt
import pyarrow as pa
import requests

log = logging.getLogger(__name__)

BASE_URL = "https://api.wazzup24.com/v3"
USERS_PAGE_SIZE = 100
MAX_RETRIES = 5
MAX_DELAY_SECONDS = 60.0

CHANNELS_SCHEMA = pa.schema(
    [
        pa.field("channel_id", pa.string(), nullable=False),
        ("transport", pa.string()),
        ("plain_id", pa.string()),
        ("state", pa.string()),
    ]
)
USERS_SCHEMA = pa.schema([pa.field("user_id", pa.string(), nullable=False), ("name", pa.string())])


class WazzupApiError(RuntimeError):
    """A non-2xx answer (or an unexpected body) from the Wazzup API."""


def _retry_delay(response: requests.Response, attempt: int) -> float:
    value = response.headers.get("Retry-After", "")
    try:
        delay = float(value)
    except ValueError:
        try:
            delay = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            delay = 2.0**attempt
    return min(max(delay, 0.0), MAX_DELAY_SECONDS)


class WazzupApi:
    """Requests with the bearer key; backs off on 429 (Retry-After, else exponential)."""

    def __init__(
        self, api_key: str, base_url: str = BASE_URL, session: requests.Session | None = None
    ):
        if not api_key:
            raise ValueError("the Wazzup API key is empty")
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        self.headers = {"Authorization": f"Bearer {api_key}"}

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        url = f"{self.base_url}/{path.lstrip('/')}"
        for attempt in range(MAX_RETRIES + 1):
            response = self.session.request(method, url, headers=self.headers, timeout=60, **kwargs)
            if response.status_code == 429 and attempt < MAX_RETRIES:
                delay = _retry_delay(response, attempt)
                log.warning("wazzup api: 429 on %s %s, retrying in %.1fs", method, url, delay)
                time.sleep(delay)
                continue
            if not response.ok:
                raise WazzupApiError(
                    f"wazzup api: {method} {url} -> HTTP {response.status_code}: "
                    f"{response.text[:1000]}"
                )
            if not response.content:
                return None
            try:
                return response.json()
            except ValueError as exc:
                raise WazzupApiError(f"wazzup api: {method} {url}: body is not JSON") from exc
        raise AssertionError("unreachable")

    def channels(self) -> list[dict[str, Any]]:
        """`GET /channels`: `[{channelId, transport, plainId, state}]`."""
        body = self.request("GET", "channels")
        if not isinstance(body, list):
            raise WazzupApiError(f"wazzup api: /channels: expected a list, got {body!r:.200}")
        return body

    def users(self) -> list[dict[str, Any]]:
        """`GET /users`: a plain `[{id, name}]`, or `{count, data}` paged by `?offset=`."""
        body = self.request("GET", "users")
        if isinstance(body, list):
            return body
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise WazzupApiError(f"wazzup api: /users: unexpected body {body!r:.200}")
        users = list(body["data"])
        count = int(body.get("count") or len(users))
        while len(users) < count:
            page = self.request("GET", "users", params={"offset": len(users)})
            data = page.get("data") if isinstance(page, dict) else None
            if not data:
                log.warning("wazzup api: /users: count %d but only %d listed", count, len(users))
                break
            users.extend(data)
        return users

    def subscribe_webhook(self, webhooks_uri: str) -> Any:
        """`PATCH /webhooks`: deliver messages, statuses and channel updates to the URI."""
        return self.request(
            "PATCH",
            "webhooks",
            json={
                "webhooksUri": webhooks_uri,
                "subscriptions": {
                    "messagesAndStatuses": True,
                    "contactsAndDealsCreation": False,
                    "channelsUpdates": True,
                    "templateStatus": False,
                },
            },
        )


def subscribe_webhook(
    api_key: str,
    webhooks_uri: str,
    base_url: str = BASE_URL,
    session: requests.Session | None = None,
) -> Any:
    """Point the Wazzup account's webhooks at `webhooks_uri`; WazzupApiError on non-2xx."""
    return WazzupApi(api_key, base_url, session).subscribe_webhook(webhooks_uri)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _table(records: list[dict[str, Any]], fields: dict[str, str], schema: pa.Schema) -> pa.Table:
    """Rows keyed by the schema's first column; a record without that key is skipped."""
    key = schema.names[0]
    rows = [
        {column: _text(record.get(source)) for column, source in fields.items()}
        for record in records
        if isinstance(record, dict)
    ]
    kept = [row for row in rows if row[key]]
    if len(kept) < len(records):
        log.warning("wazzup api: %d records without %s skipped", len(records) - len(kept), key)
    return pa.Table.from_pylist(kept, schema=schema)


@dlt.source(name="wazzup_api", section="wazzup_api")
def wazzup_api(api_key: str | None = None, base_url: str = BASE_URL):
    """Channels merged on `channel_id`, users merged on `user_id`."""
    client = WazzupApi(api_key, base_url) if api_key else None
    if client is None:
        log.info("wazzup_api: no api_key configured, skipped (tables stay empty)")

    @dlt.resource(name="api_channels", primary_key="channel_id", write_disposition="merge")
    def api_channels() -> Iterator[pa.Table]:
        if client is None:
            yield CHANNELS_SCHEMA.empty_table()
            return
        fields = {
            "channel_id": "channelId",
            "transport": "transport",
            "plain_id": "plainId",
            "state": "state",
        }
        yield _table(client.channels(), fields, CHANNELS_SCHEMA)

    @dlt.resource(name="api_users", primary_key="user_id", write_disposition="merge")
    def api_users() -> Iterator[pa.Table]:
        if client is None:
            yield USERS_SCHEMA.empty_table()
            return
        yield _table(client.users(), {"user_id": "id", "name": "name"}, USERS_SCHEMA)

    return api_channels, api_users
