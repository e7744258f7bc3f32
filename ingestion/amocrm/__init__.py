"""amoCRM / Kommo deals (leads), users, contacts (normalized phones, Telegram username)
and pipeline statuses.

From the live API v4 when `sources.amocrm.base_url` and `access_token` are configured
(env `SOURCES__AMOCRM__BASE_URL`, `SOURCES__AMOCRM__ACCESS_TOKEN`, or `.dlt/secrets.toml`);
otherwise from saved API responses in `<landing>/amocrm/` (what the demo writes);
otherwise skipped with a log line and empty tables.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
from dlt.common.typing import TSecretStrValue

from ..api_client import RequestPolicy
from ..crm_loading import RecordTable, changed_since, page_tables
from .client import AmoCrmClient, ApiPages, NoPages, SnapshotPages, embedded
from .contacts import (
    CONTACTS_SCHEMA,
    PIPELINE_STATUSES_SCHEMA,
    contact_row,
    custom_fields,
    pipeline_status_rows,
)
from .convert import TS
from .convert import int_field as _int
from .convert import timestamp_field as _timestamp
from .settings import REQUEST_POLICY

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
        # JSON list, one object per value of a custom field: field_id, field_name, field_code,
        # value, enum_id (e.g. the lead source «Источник»); null when the lead has none
        ("custom_fields", pa.string()),
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
        "custom_fields": _custom_fields_json(lead),
    }


def _custom_fields_json(lead: dict) -> str | None:
    values = custom_fields(lead)
    return json.dumps(values, ensure_ascii=False) if values else None


def user_row(user: dict) -> dict[str, Any]:
    rights = user.get("rights") or {}
    return {
        "id": _int(user, "id", required=True),
        "name": user.get("name"),
        "email": user.get("email"),
        "is_active": bool(rights.get("is_active", True)),
    }


def _records(key: str) -> Callable[[Any], list[Any]]:
    def records(body: Any) -> list[Any]:
        if not isinstance(body, dict):
            raise ValueError(f"the body is not an object with _embedded.{key}")
        return embedded(body, key)

    return records


LEADS = RecordTable("amocrm", "leads", _records("leads"), lead_row, LEADS_SCHEMA)
USERS = RecordTable("amocrm", "users", _records("users"), user_row, USERS_SCHEMA)
CONTACTS = RecordTable("amocrm", "contacts", _records("contacts"), contact_row, CONTACTS_SCHEMA)
# a row per status of each pipeline
PIPELINE_STATUSES = RecordTable(
    "amocrm", "pipelines", _records("pipelines"), pipeline_status_rows, PIPELINE_STATUSES_SCHEMA
)


def _pages(
    landing_dir: str | Path | None,
    base_url: str | None,
    access_token: str | None,
    request_policy: RequestPolicy,
):
    if base_url and access_token:
        return ApiPages(AmoCrmClient(base_url, access_token, request_policy))
    snapshot = Path(landing_dir) / "amocrm" if landing_dir else None
    if snapshot and snapshot.is_dir():
        return SnapshotPages(snapshot)
    log.info("amocrm: no API settings and no %s folder, skipped (tables stay empty)", snapshot)
    return NoPages()


@dlt.source(name="amocrm")
def amocrm(
    landing_dir: str | Path | None = None,
    base_url: str | None = dlt.config.value,
    access_token: TSecretStrValue | None = dlt.secrets.value,
    request_policy: RequestPolicy = REQUEST_POLICY,
):
    """Leads (deals), users, contacts and pipeline statuses of an amoCRM / Kommo account.

    Leads and contacts are incremental on `updated_at` and merged on `id`; users merged on
    `id`; `pipeline_statuses` replaced; rejected records in `quarantine`. Every table is
    created, empty, when there is nothing to read.

    Args:
        landing_dir: The landing folder; its `amocrm/` holds saved API bodies
            (`leads_page_*.json`, `contacts_page_*.json`, `users.json`, `pipelines.json`),
            read when the API is not configured.
        base_url: The account's URL, `https://<account>.amocrm.ru`.
        access_token: A long-lived token (a secret).
        request_policy: Rate limit and retries (settings.py).

    Returns:
        The resources `leads`, `users`, `contacts` and `pipeline_statuses`.
    """
    pages = _pages(landing_dir, base_url, access_token, request_policy)

    @dlt.resource(primary_key="id", write_disposition="merge")
    def leads() -> Iterator[object]:
        yield from changed_since(pages.leads, LEADS, "updated_at")

    @dlt.resource(primary_key="id", write_disposition="merge")
    def users() -> Iterator[object]:
        yield from page_tables(pages.users(), USERS)

    @dlt.resource(primary_key="id", write_disposition="merge")
    def contacts() -> Iterator[object]:
        yield from changed_since(pages.contacts, CONTACTS, "updated_at")

    @dlt.resource(primary_key=["pipeline_id", "status_id"], write_disposition="replace")
    def pipeline_statuses() -> Iterator[object]:
        yield from page_tables(pages.pipelines(), PIPELINE_STATUSES)

    return leads, users, contacts, pipeline_statuses
