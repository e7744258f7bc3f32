"""Wazzup API v3: channels and users (reference data), and the webhook subscription.

Messages never come from here (the API lists no past messages): they arrive as webhooks,
see `receiver.py`. The `wazzup_api` dlt source reads its key from `sources.wazzup_api.api_key`
(env `SOURCES__WAZZUP_API__API_KEY`, or `.dlt/secrets.toml`); with none it logs one line and
yields empty tables.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import dlt
import pyarrow as pa
from dlt.common.typing import TSecretStrValue

from ..api_client import ApiClient, RequestPolicy

log = logging.getLogger(__name__)

BASE_URL = "https://api.wazzup24.com/v3"
USERS_PAGE_SIZE = 100
# Only 429 is retried here: a 5xx (an outage) fails the call at once, and the Dagster step
# is retried after 1, 2, 4 x CHATSALES_API_RETRY_BASE_SECONDS (orchestration/assets).
REQUEST_POLICY = RequestPolicy(attempts=6, backoff_seconds=1.0, max_delay_seconds=60.0,
                               retry_statuses=(429,))  # fmt: skip

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


class WazzupApi:
    """Requests with the bearer key; 429 retried as `policy` says (Retry-After honoured)."""

    def __init__(
        self, api_key: str, base_url: str = BASE_URL, policy: RequestPolicy = REQUEST_POLICY
    ):
        if not api_key:
            raise ValueError("the Wazzup API key is empty")
        self.base_url = base_url.rstrip("/")
        self.http = ApiClient("wazzup api", policy, {"Authorization": f"Bearer {api_key}"})

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        url = f"{self.base_url}/{path.lstrip('/')}"
        response = self.http.request(method, url, **kwargs)
        if not response.ok:
            raise WazzupApiError(
                f"wazzup api: {method} {url} -> HTTP {response.status_code}: {response.text[:1000]}"
            )
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise WazzupApiError(f"wazzup api: {method} {url}: body is not JSON") from exc

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


def subscribe_webhook(api_key: str, webhooks_uri: str, base_url: str = BASE_URL) -> Any:
    """Point the Wazzup account's webhooks at `webhooks_uri`; WazzupApiError on non-2xx."""
    return WazzupApi(api_key, base_url).subscribe_webhook(webhooks_uri)


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
def wazzup_api(
    api_key: TSecretStrValue | None = dlt.secrets.value,
    base_url: str = BASE_URL,
    request_policy: RequestPolicy = REQUEST_POLICY,
):
    """Channels and users of a Wazzup account (API v3), reference data for the webhooks.

    Both tables are created, empty, when no key is configured.

    Args:
        api_key: The Wazzup API key (a secret).
        base_url: The API root.
        request_policy: Retries (REQUEST_POLICY: 429 only).

    Returns:
        The resources `api_channels` (merged on `channel_id`) and `api_users` (on `user_id`).
    """
    client = WazzupApi(api_key, base_url, request_policy) if api_key else None
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
