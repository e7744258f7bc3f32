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
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
from dlt.common.typing import TSecretStrValue

from .. import cursors, quarantine
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

log = logging.getLogger(__name__)
CONVERSION_ERRORS = (ValueError, TypeError, AttributeError)


def _tables(
    pages: Iterator[tuple[str, dict]],
    kind: str,
    convert: Callable[[dict], dict[str, Any]],
    schema: pa.Schema,
) -> Iterator[object]:
    """One arrow table per page (an empty one when there is no page, so downstream models
    always run); records that do not convert go to quarantine, always yielded."""
    rejected: list[dict[str, Any]] = []
    yielded = False
    for location, body in pages:
        rows = []
        records = body.get("result") if isinstance(body, dict) else None
        if not isinstance(records, list):
            rejected.append(quarantine.record("bitrix24", location, 0, "body", 0, body,
                                              "no result[] in the body"))  # fmt: skip
            continue
        for index, record in enumerate(records):
            try:
                rows.append(convert(record))
            except CONVERSION_ERRORS as exc:
                rejected.append(
                    quarantine.record("bitrix24", location, 0, kind, index, record, str(exc))
                )
        yield pa.Table.from_pylist(rows, schema=schema)
        yielded = True
    if not yielded:
        yield schema.empty_table()
    yield quarantine.marked(rejected)


def _modified_since(
    pages: Pages,
    method: str,
    select: list[str],
    kind: str,
    convert: Callable[[dict], dict[str, Any]],
    schema: pa.Schema,
) -> Iterator[object]:
    """Rows modified since the resource's cursor (`>=`: a row modified in the cursor's
    second is read again, never missed; the rows already loaded are then dropped, see
    ingestion/cursors.py). The cursor is committed with the load."""
    state = dlt.current.resource_state()
    saved: str | None = state.get("modified_at_cursor")
    params: dict[str, Any] = {"order": {"ID": "ASC"}, "select": select}
    if saved:
        params["filter"] = {">=DATE_MODIFY": saved}
    cursor = datetime.fromisoformat(saved) if saved else None
    seen_at_cursor = set(state.get("rows_at_cursor", []))
    # what earlier runs loaded; pages need not come in time order
    loaded_until, loaded_rows = cursor, frozenset(seen_at_cursor)
    for item in _tables(pages.pages(method, params), kind, convert, schema):
        if isinstance(item, pa.Table) and item.num_rows:
            item = cursors.unseen(item, "modified_at", loaded_until, loaded_rows)
            cursor, seen_at_cursor = cursors.advance(item, "modified_at", cursor, seen_at_cursor)
            if cursor is not None:
                state["modified_at_cursor"] = cursor.isoformat()
                state["rows_at_cursor"] = sorted(seen_at_cursor)
        yield item


def _pages(landing_dir: str | Path | None, webhook_url: str | None) -> Pages:
    if webhook_url:
        return Bitrix24Client(webhook_url)
    snapshot = Path(landing_dir) / "bitrix24" if landing_dir else None
    if snapshot and snapshot.is_dir():
        return SnapshotPages(snapshot)
    log.info("bitrix24: no webhook_url and no %s folder, skipped (tables stay empty)", snapshot)
    return NoPages()


@dlt.source(name="bitrix24")
def bitrix24(landing_dir: str | Path | None = None, webhook_url: TSecretStrValue | None = None):
    """`deals` and `contacts` incremental on DATE_MODIFY and merged on `id`; `users` merged
    on `id`; rejected records in `quarantine`."""
    pages = _pages(landing_dir, webhook_url)

    @dlt.resource(primary_key="id", write_disposition="merge")
    def deals() -> Iterator[object]:
        yield from _modified_since(
            pages, "crm.deal.list", DEAL_FIELDS, "deals", deal_row, DEALS_SCHEMA
        )

    @dlt.resource(primary_key="id", write_disposition="merge")
    def contacts() -> Iterator[object]:
        yield from _modified_since(
            pages, "crm.contact.list", CONTACT_FIELDS, "contacts", contact_row, CONTACTS_SCHEMA
        )

    @dlt.resource(primary_key="id", write_disposition="merge")
    def users() -> Iterator[object]:
        params = {"sort": "ID", "order": "ASC"}
        yield from _tables(pages.pages("user.get", params), "users", user_row, USERS_SCHEMA)

    return deals, contacts, users
