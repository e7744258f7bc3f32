"""The manager directory: `<landing>/managers.csv`, the identity map of the warehouse, and
`<landing>/interventions.csv`, the hypotheses to measure (see `interventions.py`).

Columns: manager_id, name, crm_user_id, wazzup_channel_ids, telegram_user_ids,
whatsapp_names, timezone, active (several values in a cell separated by `;`). Its
`manager_id` is the manager_id everywhere in the marts. Both files are replaced whole on
every load; their bad rows share the source's quarantine.
"""

from __future__ import annotations

import csv
import functools
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dlt
import pyarrow as pa

from chatsales.core.settings import reporting_timezone

from .. import quarantine
from . import interventions as intervention_file

log = logging.getLogger(__name__)

COLUMNS = [
    "manager_id", "name", "crm_user_id", "wazzup_channel_ids",
    "telegram_user_ids", "whatsapp_names", "timezone", "active",
]  # fmt: skip
IDENTITY_COLUMNS = {
    # column in managers.csv: identity_kind
    "crm_user_id": "crm_user_id",
    "wazzup_channel_ids": "wazzup_channel_id",
    "telegram_user_ids": "telegram_user_id",
    "whatsapp_names": "whatsapp_name",
}
MANAGERS_SCHEMA = pa.schema(
    [
        pa.field("manager_id", pa.string(), nullable=False),
        ("name", pa.string()),
        ("crm_user_id", pa.string()),
        ("timezone", pa.string()),
        ("active", pa.bool_()),
    ]
)
IDENTITIES_SCHEMA = pa.schema(
    [
        pa.field("manager_id", pa.string(), nullable=False),
        pa.field("identity_kind", pa.string(), nullable=False),
        pa.field("identity_value", pa.string(), nullable=False),
    ]
)
TRUE_VALUES = {"true", "1", "yes", "y", "да"}
FALSE_VALUES = {"false", "0", "no", "n", "нет"}


@dataclass(frozen=True)
class ManagerDirectory:
    """What the loaders need from managers.csv: the managers, their time zones, and the
    identities of each kind. An absent file is an empty directory."""

    managers: dict[str, dict] = field(default_factory=dict)
    identities: list[dict] = field(default_factory=list)

    @classmethod
    def read(cls, path: Path) -> ManagerDirectory:
        if not path.is_file():
            return cls()
        managers, identities, _ = read_managers(path)  # bad rows: this source's quarantine
        return cls({m["manager_id"]: m for m in managers}, identities)

    def timezone(self, manager_id: str) -> str:
        return (self.managers.get(manager_id) or {}).get("timezone") or reporting_timezone()

    def timezones(self) -> dict[str, str]:
        return {m: row["timezone"] for m, row in self.managers.items() if row["timezone"]}

    def identities_of(self, kind: str) -> dict[str, set[str]]:
        """Identity values of one kind (e.g. `telegram_user_id`), by manager_id."""
        found: dict[str, set[str]] = {}
        for identity in self.identities:
            if identity["identity_kind"] == kind:
                found.setdefault(identity["manager_id"], set()).add(identity["identity_value"])
        return found


class ManagersFileError(ValueError):
    """managers.csv cannot be read at all (not a single bad row)."""


def _split(cell: str | None) -> list[str]:
    return [part.strip() for part in (cell or "").split(";") if part.strip()]


def _active(cell: str | None) -> bool:
    value = (cell or "true").strip().lower() or "true"
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    raise ValueError(f"active must be true/false, got {cell!r}")


def read_managers(path: Path) -> tuple[list[dict], list[dict], list[dict]]:
    """Managers, identities and quarantined rows of a managers.csv."""
    managers, identities, rejected = [], [], []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ManagersFileError(f"{path}: missing columns {', '.join(missing)}")
        seen: set[str] = set()
        for row in reader:
            line = reader.line_num
            try:
                manager_id = (row["manager_id"] or "").strip()
                if not manager_id:
                    raise ValueError("manager_id is empty")
                if manager_id in seen:
                    raise ValueError(f"manager_id {manager_id} appears twice")
                manager = {
                    "manager_id": manager_id,
                    "name": (row["name"] or "").strip() or manager_id,
                    "crm_user_id": (row["crm_user_id"] or "").strip() or None,
                    "timezone": (row["timezone"] or "").strip() or None,
                    "active": _active(row["active"]),
                }
            except ValueError as exc:
                rejected.append(quarantine.record("directory", path.name, line, "manager", 0, row,
                                                  str(exc)))  # fmt: skip
                continue
            seen.add(manager_id)
            managers.append(manager)
            for column, kind in IDENTITY_COLUMNS.items():
                for value in _split(row[column]):
                    identities.append(
                        {"manager_id": manager_id, "identity_kind": kind, "identity_value": value}
                    )
    return managers, identities, rejected


@dlt.source(name="directory")
def directory(landing_dir: str | Path):
    """Managers and their identities (CRM user, Wazzup channels, Telegram ids, WhatsApp names),
    and the interventions to measure."""
    path = Path(landing_dir) / "managers.csv"
    interventions_path = Path(landing_dir) / intervention_file.FILE_NAME

    @functools.cache
    def contents() -> tuple[list[dict], list[dict], list[dict], list[dict]]:
        # read when the load runs (not when the source is built), once for the four tables
        if path.is_file():
            managers, identities, rejected = read_managers(path)
        else:
            log.info("directory: no %s, skipped (every message will be 'unassigned')", path)
            managers, identities, rejected = [], [], []
        events, bad_events = intervention_file.read_interventions(
            interventions_path, {m["manager_id"] for m in managers}
        )
        return managers, identities, events, rejected + bad_events

    @dlt.resource(name="managers", primary_key="manager_id", write_disposition="replace")
    def managers() -> Iterator[pa.Table]:
        yield pa.Table.from_pylist(contents()[0], schema=MANAGERS_SCHEMA)

    @dlt.resource(write_disposition="replace")
    def manager_identities() -> Iterator[pa.Table]:
        yield pa.Table.from_pylist(contents()[1], schema=IDENTITIES_SCHEMA)

    # no file: an empty table (no interventions), not an error
    @dlt.resource(name="interventions", primary_key="intervention_id", write_disposition="replace")
    def interventions() -> Iterator[pa.Table]:
        yield intervention_file.table(contents()[2])

    # replaced like the files themselves: a row fixed in managers.csv or interventions.csv
    # leaves the quarantine
    @dlt.resource(name="quarantine", write_disposition="replace")
    def rejected_rows() -> Iterator[pa.Table]:
        yield quarantine.table(contents()[3])

    return managers, manager_identities, interventions, rejected_rows
