"""amoCRM / Kommo deals (leads), users, contacts (normalized phones, Telegram username)
and pipeline statuses.

From the live API v4 when `sources.amocrm.base_url` and `access_token` are configured
(env `SOURCES__AMOCRM__BASE_URL`, `SOURCES__AMOCRM__ACCESS_TOKEN`, or `.dlt/secrets.toml`);
otherwise from saved API responses in `<landing>/amocrm/` (what the demo writes);
otherwise skipped with a log line and empty tables.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)

from .. import cursors, quarantine
from .client import AmoCrmClient, ApiPages, NoPages, SnapshotPages, embedded
from .contacts import CONTACTS_SCHEMA, PIPELINE_STATUSES_SCHEMA, contact_row, pipeline_status_rows
from .convert import TS
from .convert import int_field as _int
from .convert import timestamp_field as _timestamp

log = logging.getLogger(__name__)

LEADS_SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        ("name", pa.string()),
        ("price", pa.int64()),
        ("responsible_user_id", pa.int64()),
        ("status_id", pa.int64()),
        ("pipeline_id", pa.int64()),
        ("loss_reason_id", pa.int64()),
        ("created_at", TS),
        ("updated_at", TS),
        ("closed_at", TS),
        ("is_deleted", pa.bool_()),
        ("main_contact_id", pa.int64()),
    ]
)
USERS_SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        ("name", pa.string()),
        ("email", pa.string()),
        ("is_active", pa.bool_()),
    ]
)


def lead_row(lead: dict) -> dict[str, Any]:
    contacts = embedded(lead, "contacts")
    main = next((c for c in contacts if c.get("is_main")), contacts[0] if contacts else None)
    return {
        "id": _int(lead, "id", required=True),
        "name": lead.get("name"),
        "price": _int(lead, "price"),
        "responsible_user_id": _int(lead, "responsible_user_id"),
        "status_id": _int(lead, "status_id", required=True),
        "pipeline_id": _int(lead, "pipeline_id"),
        "loss_reason_id": _int(lead, "loss_reason_id"),
        "created_at": _timestamp(lead, "created_at", required=True),
        "updated_at": _timestamp(lead, "updated_at", required=True),
        "closed_at": _timestamp(lead, "closed_at"),
        "is_deleted": bool(lead.get("is_deleted", False)),
        "main_contact_id": _int(main, "id") if main else None,
    }


def user_row(user: dict) -> dict[str, Any]:
    rights = user.get("rights") or {}
    return {
        "id": _int(user, "id", required=True),
        "name": user.get("name"),
        "email": user.get("email"),
        "is_active": bool(rights.get("is_active", True)),
    }


def _tables(
    pages: Iterator[tuple[str, dict]],
    key: str,
    convert: Callable[[dict], dict[str, Any] | list[dict[str, Any]]],
    schema: pa.Schema,
) -> Iterator[object]:
    """One arrow table per page; records that do not convert go to quarantine. Both tables
    are created even when empty, so downstream models always run. `convert` returns one
    row, or a list of rows (a pipeline gives a row per status)."""
    rejected: list[dict[str, Any]] = []
    yielded = False
    for page, body in pages:
        rows = []
        for index, record in enumerate(embedded(body, key)):
            try:
                converted = convert(record)
                rows.extend(converted if isinstance(converted, list) else [converted])
            except (ValueError, TypeError, AttributeError) as exc:
                rejected.append(quarantine.record("amocrm", page, 0, key, index, record, str(exc)))
        yield pa.Table.from_pylist(rows, schema=schema)
        yielded = True
    if not yielded:
        yield schema.empty_table()
    yield quarantine.marked(rejected)


def _pages(landing_dir: str | Path | None, base_url: str | None, access_token: str | None):
    if base_url and access_token:
        return ApiPages(AmoCrmClient(base_url, access_token))
    snapshot = Path(landing_dir) / "amocrm" if landing_dir else None
    if snapshot and snapshot.is_dir():
        return SnapshotPages(snapshot)
    log.info("amocrm: no API settings and no %s folder, skipped (tables stay empty)", snapshot)
    return NoPages()


def _updated_since(
    fetch: Callable[[int], Iterator[tuple[str, dict]]],
    key: str,
    convert: Callable[[dict], dict[str, Any]],
    schema: pa.Schema,
) -> Iterator[object]:
    """Rows changed since the resource's cursor (epoch seconds, the API's filter), rows
    already loaded dropped (ingestion/cursors.py). The cursor is committed with the load."""
    state = dlt.current.resource_state()
    since = state.get("updated_at_cursor", 0)
    cursor = datetime.fromtimestamp(since, UTC) if since else None
    seen_at_cursor = set(state.get("rows_at_cursor", []))
    # what earlier runs loaded; pages need not come in time order
    loaded_until, loaded_rows = cursor, frozenset(seen_at_cursor)
    for item in _tables(fetch(since), key, convert, schema):
        if isinstance(item, pa.Table) and item.num_rows:
            item = cursors.unseen(item, "updated_at", loaded_until, loaded_rows)
            cursor, seen_at_cursor = cursors.advance(item, "updated_at", cursor, seen_at_cursor)
            if cursor is not None:
                since = int(cursor.timestamp())
                state["updated_at_cursor"] = since
                state["rows_at_cursor"] = sorted(seen_at_cursor)
        yield item


@dlt.source(name="amocrm")
def amocrm(
    landing_dir: str | Path | None = None,
    base_url: str | None = None,
    access_token: str | None = None,
):
    """Leads (deals) and contacts incremental on `updated_at` and merged on `id`; users
    merged on `id`; `pipeline_statuses` replaced. In a snapshot folder: `leads_page_*.json`,
    `contacts_page_*.json`, `users.json`, `pipelines.json`. Every table is created, empty,
    when there is nothing to read."""
    pages = _pages(landing_dir, base_url, access_token)

    @dlt.resource(primary_key="id", write_disposition="merge")
    def leads() -> Iterator[object]:
        yield from _updated_since(pages.leads, "leads", lead_row, LEADS_SCHEMA)

    @dlt.resource(primary_key="id", write_disposition="merge")
    def users() -> Iterator[object]:
        yield from _tables(pages.users(), "users", user_row, USERS_SCHEMA)

    @dlt.resource(primary_key="id", write_disposition="merge")
    def contacts() -> Iterator[object]:
        yield from _updated_since(pages.contacts, "contacts", contact_row, CONTACTS_SCHEMA)

    @dlt.resource(primary_key=["pipeline_id", "status_id"], write_disposition="replace")
    def pipeline_statuses() -> Iterator[object]:
        pipelines = pages.pipelines()
        yield from _tables(pipelines, "pipelines", pipeline_status_rows, PIPELINE_STATUSES_SCHEMA)

    return leads, users, contacts, pipeline_statuses
