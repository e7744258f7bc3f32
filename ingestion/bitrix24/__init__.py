"""Bitrix24 deals, contacts and users.

From the REST API through an inbound webhook when `sources.bitrix24.webhook_url` is set
(a secret: env `SOURCES__BITRIX24__WEBHOOK_URL` or `.dlt/secrets.toml`; the form is
`https://<portal>/rest/<user>/<token>/`); otherwise from saved responses in
`<landing>/bitrix24/` (`crm.deal.list_page_0001.json`, ..., `crm.contact.list_page_*`,
`user.get_page_*` or `user.get.json`: the API bodies); otherwise skipped with a log line
and empty tables. Every scalar arrives as a string and is converted here; `assigned_by_id`
stays a string, as `crm_user_id` is in the manager directory.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import dlt
from dlt.common.typing import TSecretStrValue

from ..api_client import RequestPolicy
from ..crm_loading import RecordTable, changed_since, page_tables
from .client import Bitrix24Client, NoPages, Pages, SnapshotPages
from .rows import (
    CONTACT_FIELDS,
    CONTACTS_SCHEMA,
    DEAL_FIELDS,
    DEALS_SCHEMA,
    USERS_SCHEMA,
    contact_row,
    deal_row,
    user_row,
)
from .settings import REQUEST_POLICY

log = logging.getLogger(__name__)


def _result(body: Any) -> list[Any]:
    records = body.get("result") if isinstance(body, dict) else None
    if not isinstance(records, list):
        raise ValueError("no result[] in the body")
    return records


DEALS = RecordTable("bitrix24", "deals", _result, deal_row, DEALS_SCHEMA)
CONTACTS = RecordTable("bitrix24", "contacts", _result, contact_row, CONTACTS_SCHEMA)
USERS = RecordTable("bitrix24", "users", _result, user_row, USERS_SCHEMA)


def _modified_since(pages: Pages, method: str, select: list[str]):
    """Pages of `method` modified at or after the cursor (`>=`: a row modified in the
    cursor's second is read again, never missed; crm_loading drops the ones loaded)."""

    def fetch(cursor: datetime | None) -> Iterator[tuple[str, dict]]:
        params: dict[str, Any] = {"order": {"ID": "ASC"}, "select": select}
        if cursor is not None:
            params["filter"] = {">=DATE_MODIFY": cursor.isoformat()}
        return pages.pages(method, params)

    return fetch


def _pages(
    landing_dir: str | Path | None, webhook_url: str | None, request_policy: RequestPolicy
) -> Pages:
    if webhook_url:
        return Bitrix24Client(webhook_url, request_policy)
    snapshot = Path(landing_dir) / "bitrix24" if landing_dir else None
    if snapshot and snapshot.is_dir():
        return SnapshotPages(snapshot)
    log.info("bitrix24: no webhook_url and no %s folder, skipped (tables stay empty)", snapshot)
    return NoPages()


@dlt.source(name="bitrix24")
def bitrix24(
    landing_dir: str | Path | None = None,
    webhook_url: TSecretStrValue | None = dlt.secrets.value,
    request_policy: RequestPolicy = REQUEST_POLICY,
):
    """Deals, contacts and users of a Bitrix24 portal.

    `deals` and `contacts` are incremental on DATE_MODIFY and merged on `id`; `users`
    merged on `id`; rejected records in `quarantine`. Every table is created, empty, when
    there is nothing to read.

    Args:
        landing_dir: The landing folder; its `bitrix24/` holds saved API bodies, read when
            no webhook is configured.
        webhook_url: The inbound webhook, `https://<portal>/rest/<user>/<token>/` (a secret).
        request_policy: Rate limit and retries (settings.py).

    Returns:
        The resources `deals`, `contacts` and `users`.
    """
    pages = _pages(landing_dir, webhook_url, request_policy)

    @dlt.resource(primary_key="id", write_disposition="merge")
    def deals() -> Iterator[object]:
        fetch = _modified_since(pages, "crm.deal.list", DEAL_FIELDS)
        yield from changed_since(fetch, DEALS, "modified_at")

    @dlt.resource(primary_key="id", write_disposition="merge")
    def contacts() -> Iterator[object]:
        fetch = _modified_since(pages, "crm.contact.list", CONTACT_FIELDS)
        yield from changed_since(fetch, CONTACTS, "modified_at")

    @dlt.resource(primary_key="id", write_disposition="merge")
    def users() -> Iterator[object]:
        yield from page_tables(pages.pages("user.get", {"sort": "ID", "order": "ASC"}), USERS)

    return deals, contacts, users
