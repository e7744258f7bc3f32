"""The draft merged into `managers.csv` without undoing a person's decision.

What is in the file stays as it is: rows, their order, every cell. A drafted person whose row
is there (same crm_user_id, one of its channels, or the same name) only gains channels that no
row holds yet and an empty crm_user_id filled; anyone else gets a new row. What init proposed
once is remembered (`<state>/init/proposed.json`): a channel or a row a person deleted
afterwards is not proposed again.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ingestion.directory import COLUMNS

from .matching import Person, same_name

SEPARATOR = ";"


@dataclass
class Merge:
    rows: list[dict[str, str]]
    added_rows: list[tuple[str, Person]] = field(default_factory=list)
    added_channels: list[tuple[str, str, str]] = field(default_factory=list)  # row, channel, why
    kept: list[str] = field(default_factory=list)  # a person's decisions init did not undo
    filled: list[tuple[str, str]] = field(default_factory=list)  # row, crm_user_id
    proposed: set[str] = field(default_factory=set)

    @property
    def changed(self) -> bool:
        return bool(self.added_rows or self.added_channels or self.filled)


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The file's header and rows as written, bad rows too (the loader quarantines those)."""
    if not path.is_file():
        return list(COLUMNS), []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or COLUMNS), list(reader)


def write_rows(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n", restval="")
    writer.writeheader()
    writer.writerows(rows)
    temporary = path.with_name(f".{path.name}.init")
    temporary.write_text(out.getvalue(), encoding="utf-8")
    os.replace(temporary, path)


def read_proposed(path: Path) -> set[str]:
    return set(json.loads(path.read_text(encoding="utf-8"))) if path.is_file() else set()


def write_proposed(path: Path, proposed: set[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(sorted(proposed), indent=1, ensure_ascii=False), encoding="utf-8")


def cell_values(row: dict[str, str], column: str) -> list[str]:
    return [v.strip() for v in (row.get(column) or "").split(SEPARATOR) if v.strip()]


def merge(
    rows: list[dict[str, str]], people: list[Person], proposed: set[str], timezone: str
) -> Merge:
    result = Merge([dict(row) for row in rows], proposed=set(proposed))
    for person in people:
        row = _row_of(result.rows, person)
        if row is None and person.key in proposed:
            result.kept.append(
                f'"{person.name}" was proposed before and is not in the file: not added again'
            )
            continue
        if row is None:
            row = _new_row(result.rows, person, timezone)
            result.added_rows.append((row["manager_id"], person))
        result.proposed.add(person.key)
        _add_crm_user_id(result, row, person, proposed)
        _add_channels(result, row, person, proposed)
    return result


def _row_of(rows: list[dict[str, str]], person: Person) -> dict[str, str] | None:
    for row in rows:
        if person.crm_user_id and (row.get("crm_user_id") or "").strip() == person.crm_user_id:
            return row
    for row in rows:
        if set(cell_values(row, "wazzup_channel_ids")) & person.channels.keys():
            return row
    named = [row for row in rows if same_name(row.get("name") or "", person.name)]
    return named[0] if len(named) == 1 else None


def _new_row(rows: list[dict[str, str]], person: Person, timezone: str) -> dict[str, str]:
    taken = {row.get("manager_id") for row in rows}
    numbers = [int(m[1]) for r in rows if (m := re.fullmatch(r"m(\d+)", r.get("manager_id") or ""))]
    number = max(numbers, default=0) + 1
    while f"m{number:02d}" in taken:
        number += 1
    row = {column: "" for column in COLUMNS}
    held = {(r.get("crm_user_id") or "").strip() for r in rows}
    crm_user_id = person.crm_user_id if person.crm_user_id not in held else None
    row.update(manager_id=f"m{number:02d}", name=person.name, crm_user_id=crm_user_id or "",
               timezone=timezone, active="true" if person.active else "false")  # fmt: skip
    rows.append(row)
    return row


def _add_crm_user_id(result: Merge, row: dict, person: Person, proposed: set[str]) -> None:
    key = f"crm_user_id:{person.crm_user_id}"
    if not person.crm_user_id or (row.get("crm_user_id") or "").strip():
        if person.crm_user_id:
            result.proposed.add(key)
        return
    held = any((r.get("crm_user_id") or "").strip() == person.crm_user_id for r in result.rows)
    if held or key in proposed:
        result.kept.append(f"{row['manager_id']}: crm_user_id left empty as you left it")
        return
    row["crm_user_id"] = person.crm_user_id
    result.filled.append((row["manager_id"], person.crm_user_id))
    result.proposed.add(key)


def _add_channels(result: Merge, row: dict, person: Person, proposed: set[str]) -> None:
    holders = {
        channel: r["manager_id"]
        for r in result.rows
        for channel in cell_values(r, "wazzup_channel_ids")
    }
    for channel, (_, why) in person.channels.items():
        key = f"wazzup_channel_id:{channel}"
        if holders.get(channel) not in (None, row["manager_id"]):
            result.kept.append(
                f"channel {channel} stays {holders[channel]}'s, as in the file "
                f"(init would give it to {row['manager_id']}: {why})"
            )
        elif channel not in holders and key in proposed:
            result.kept.append(f"channel {channel} stays out of {row['manager_id']}, as you left")
        elif channel not in holders:
            row["wazzup_channel_ids"] = SEPARATOR.join(
                [*cell_values(row, "wazzup_channel_ids"), channel]
            )
            result.added_channels.append((row["manager_id"], channel, why))
        result.proposed.add(key)
