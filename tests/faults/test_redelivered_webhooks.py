"""Webhooks delivered as Wazzup delivers them when deliveries fail: some late (it retries for
up to 24 hours), some twice, so an edit or a delete can land before the message it changes.
The demo's bodies, redelivered so, arrive in two files loaded by two runs; the marts must
equal those of the session's clean run of the same bodies in order (EXCEPT ALL both ways)."""

from __future__ import annotations

import json
import random
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chatsales.core.settings import Warehouse

from ..support.cli import run_cli_ok
from ..support.same_marts import differing_rows

pytestmark = [pytest.mark.warehouse, pytest.mark.faults]

RETRY_WINDOW = timedelta(hours=24)
LATE_SHARE = 0.3  # bodies whose first delivery failed and came later, up to a day
TWICE_SHARE = 0.2  # bodies delivered once more, up to a day later


def body_time(line: str) -> datetime | None:
    """The latest time a body carries (message dateTime, status or channel timestamp)."""
    try:
        body = json.loads(line)
    except ValueError:
        return None
    times = [m.get("dateTime") for m in body.get("messages", [])]
    times += [s.get("timestamp") for s in body.get("statuses", [])]
    found = [datetime.fromisoformat(t.replace("Z", "+00:00")) for t in times if t]
    found += [
        datetime.fromtimestamp(u["timestamp"] / 1000, UTC) for u in body.get("channelsUpdates", [])
    ]
    return max(found, default=None)


def redelivered(lines: list[str], seed: int = 16) -> list[str]:
    """The bodies in the order a retrying sender delivers them, some late, some twice."""
    rng = random.Random(seed)
    deliveries = []
    sent = datetime(1970, 1, 1, tzinfo=UTC)
    for position, line in enumerate(lines):
        sent = body_time(line) or sent  # a body without a time came with the one before
        late = rng.random() < LATE_SHARE
        first = sent + (rng.random() * RETRY_WINDOW if late else timedelta(0))
        deliveries.append((first, position, line))
        if rng.random() < TWICE_SHARE:
            deliveries.append((first + rng.random() * RETRY_WINDOW, position, line))
    return [line for *_, line in sorted(deliveries)]


def overtaken(deliveries: list[str]) -> int:
    """Originals delivered after an edit or a delete of the same message."""
    changed: set[str] = set()
    count = 0
    for line in deliveries:
        try:
            messages = json.loads(line).get("messages", [])
        except ValueError:
            continue
        for message in messages:
            if message.get("isEdited") or message.get("isDeleted"):
                changed.add(message["messageId"])
            elif message["messageId"] in changed:
                count += 1
    return count


@pytest.fixture
def redelivered_landing(demo_landing: Path, tmp_path: Path) -> tuple[Path, list[list[str]]]:
    """A copy of the demo landing without its webhook files, and the bodies redelivered,
    split into the two files the receiver would have published."""
    landing = tmp_path / "landing"
    shutil.copytree(demo_landing, landing)
    folder = landing / "wazzup"
    lines = []
    for file in sorted(folder.glob("*.jsonl")):
        lines += file.read_text(encoding="utf-8").splitlines()
        file.unlink()
    deliveries = redelivered(lines)
    half = len(deliveries) // 2
    return landing, [deliveries[:half], deliveries[half:]]


def test_late_and_twice_delivered_webhooks_give_the_same_marts(
    redelivered_landing, duckdb_warehouse, tmp_path
):
    landing, files = redelivered_landing
    assert overtaken(files[0] + files[1]) > 0  # else this would test nothing new
    env = duckdb_warehouse.env_for(tmp_path, f"duckdb:///{tmp_path / 'warehouse.duckdb'}", landing)
    for number, bodies in enumerate(files, start=1):
        published = landing / "wazzup" / f"2026-01-01T00000{number}-redelivered.jsonl"
        published.write_text("\n".join(bodies) + "\n", encoding="utf-8")
        run_cli_ok(["run"], env)

    assert differing_rows(Warehouse(env["CHATSALES_WAREHOUSE"]), duckdb_warehouse.warehouse) == {}
