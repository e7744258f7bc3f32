"""Hypotheses: `<landing>/interventions.csv`, the dated events whose effect is measured.

The head of sales adds a row (or runs `chatsales intervention add`); the next run loads the
file into `raw_directory.interventions`, replaced whole, and `mart_interventions` compares the
metrics of the 28 days before each event with the 28 days from it on. A row that cannot be
read goes to `raw_directory.quarantine` with its line and the reason; the others load. No
file: no interventions.

Columns: intervention_id, event_date (YYYY-MM-DD), manager_id (a manager_id of managers.csv,
or `all` for the whole team), kind, title, description (optional), expected_metric,
expected_direction (`up` or `down`).
"""

from __future__ import annotations

import csv
import io
import os
import re
from datetime import date
from pathlib import Path

import pyarrow as pa

from .. import quarantine

FILE_NAME = "interventions.csv"
COLUMNS = [
    "intervention_id", "event_date", "manager_id", "kind", "title", "description",
    "expected_metric", "expected_direction",
]  # fmt: skip
OPTIONAL = {"description"}
TEAM = "all"
KINDS = ("script", "training", "team_change", "campaign", "other")
# the metrics mart_interventions measures (its `metric` column)
METRICS = (
    "new_dialogs", "won_deals", "conversion_rate", "messages_per_dialog",
    "response_time_median_s", "business_response_time_median_s", "sla_share",
)  # fmt: skip
DIRECTIONS = ("up", "down")
SCHEMA = pa.schema(
    [
        pa.field("intervention_id", pa.string(), nullable=False),
        pa.field("event_date", pa.date32(), nullable=False),
        pa.field("manager_id", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("title", pa.string(), nullable=False),
        ("description", pa.string()),
        pa.field("expected_metric", pa.string(), nullable=False),
        pa.field("expected_direction", pa.string(), nullable=False),
    ]
)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class InterventionRejected(ValueError):
    """A row that cannot be measured; the message says why."""


def _one_of(name: str, value: str, allowed: tuple[str, ...]) -> str:
    value = value.lower()
    if value not in allowed:
        raise InterventionRejected(f"unknown {name} {value!r} (one of {', '.join(allowed)})")
    return value


def validate(row: dict[str, str | None], manager_ids: set[str]) -> dict:
    """The typed row, or InterventionRejected naming the first problem. `manager_ids` are those
    of managers.csv; `all` is the whole team."""
    cells = {c: (row.get(c) or "").strip() for c in COLUMNS}
    missing = [c for c in COLUMNS if c not in OPTIONAL and not cells[c]]
    if missing:
        raise InterventionRejected(f"missing required field {', '.join(missing)}")
    raw_date = cells["event_date"]
    try:
        if not _ISO_DATE.fullmatch(raw_date):
            raise ValueError
        event_date = date.fromisoformat(raw_date)
    except ValueError:
        raise InterventionRejected(f"bad event_date {raw_date!r} (expected YYYY-MM-DD)") from None
    manager_id = cells["manager_id"]
    if manager_id.lower() == TEAM:
        manager_id = TEAM
    elif manager_id not in manager_ids:
        raise InterventionRejected(f"unknown manager_id {manager_id!r} (not in managers.csv)")
    return {
        "intervention_id": cells["intervention_id"],
        "event_date": event_date,
        "manager_id": manager_id,
        "kind": _one_of("kind", cells["kind"], KINDS),
        "title": cells["title"],
        "description": cells["description"] or None,
        "expected_metric": _one_of("expected_metric", cells["expected_metric"], METRICS),
        "expected_direction": _one_of(
            "expected_direction", cells["expected_direction"], DIRECTIONS
        ),
    }


def _missing_columns(header: list[str]) -> list[str]:
    return [c for c in COLUMNS if c not in OPTIONAL and c not in header]


def read_interventions(path: Path, manager_ids: set[str]) -> tuple[list[dict], list[dict]]:
    """Good rows and quarantined rows of an interventions.csv (none for an absent file)."""
    if not path.is_file():
        return [], []
    rows, rejected = [], []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        if missing := _missing_columns(header):
            reason = f"missing columns {', '.join(missing)}: no row of the file is loaded"
            return [], [_quarantined(path, 1, ",".join(header), reason)]
        first_line: dict[str, int] = {}
        for row in reader:
            line = reader.line_num
            try:
                good = validate(row, manager_ids)
                intervention_id = good["intervention_id"]
                if intervention_id in first_line:
                    raise InterventionRejected(
                        f"duplicate intervention_id {intervention_id!r} "
                        f"(first on line {first_line[intervention_id]})"
                    )
            except InterventionRejected as exc:
                rejected.append(_quarantined(path, line, row, str(exc)))
                continue
            first_line[good["intervention_id"]] = line
            rows.append(good)
    return rows, rejected


def _quarantined(path: Path, line: int, payload: object, reason: str) -> dict:
    return quarantine.record("directory", path.name, line, "intervention", 0, payload, reason)


def table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def slug(event_date: str, manager_id: str, title: str) -> str:
    """A stable id from the date, the manager and the title: `2026-03-02_m01_new_script`."""
    words = re.sub(r"\W+", "_", title.strip().lower()).strip("_")[:48].strip("_")
    return "_".join(part for part in (event_date.strip(), manager_id.strip(), words) if part)


def add(path: Path, row: dict[str, str | None], manager_ids: set[str]) -> tuple[dict, bool]:
    """Append a validated row to the file (created with its header when absent). Returns the
    row and whether it was added: False when the same row is already there. Raises
    InterventionRejected for a bad row or an id the file already has for another event."""
    cells = {c: (row.get(c) or "").strip() for c in COLUMNS}
    if not cells["intervention_id"]:
        cells["intervention_id"] = slug(cells["event_date"], cells["manager_id"], cells["title"])
    good = validate(cells, manager_ids)
    text = path.read_text(encoding="utf-8-sig") if path.is_file() else ""
    header = COLUMNS
    if text.strip():
        reader = csv.DictReader(io.StringIO(text))
        header = reader.fieldnames or []
        if missing := _missing_columns(header):
            raise InterventionRejected(f"{path} lacks columns {', '.join(missing)}: fix it first")
        for existing in reader:
            if (existing.get("intervention_id") or "").strip() != good["intervention_id"]:
                continue
            try:
                same = validate(existing, manager_ids) == good
            except InterventionRejected:
                same = False
            if same:
                return good, False
            raise InterventionRejected(
                f"intervention_id {good['intervention_id']!r} is already in {path} "
                f"(line {reader.line_num}) for another event: choose another --id"
            )
    else:
        text = ""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if not text:
        writer.writerow(header)
    elif not text.endswith("\n"):
        out.write("\n")
    values = {**good, "event_date": good["event_date"].isoformat()}
    writer.writerow([values.get(c) or "" for c in header])
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text + out.getvalue(), encoding="utf-8")
    os.replace(partial, path)
    return good, True
