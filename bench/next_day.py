"""One more day of Wazzup webhooks for a landing folder: the bodies of its last day (UTC) again,
24 h later and with new message ids, written as a new file `wazzup/next-day-YYYY-MM-DD.jsonl`
that the loader picks up as it would a file the receiver published.

The last day is read from the newest files by name (the demo's and the receiver's names sort
by time), back to the first file that ends before that day.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

from chatsales.app.demo.clock import DAY_MS, iso_ms
from chatsales.app.demo.wazzup import ENCODE
from ingestion.wazzup.parsing import parse_utc


def later_by_a_day(iso: str) -> str:
    return iso_ms(round(parse_utc(iso, "time").timestamp() * 1000) + DAY_MS)


def body_moment(body: dict) -> datetime:
    """The latest instant a webhook body carries (KeyError, ValueError... when none)."""
    moments = [parse_utc(m["dateTime"], "dateTime") for m in body.get("messages") or []]
    moments += [parse_utc(s["timestamp"], "timestamp") for s in body.get("statuses") or []]
    moments += [
        datetime.fromtimestamp(c["timestamp"] / 1000, tz=UTC)
        for c in body.get("channelsUpdates") or []
    ]
    return max(moments)


def dated_bodies(path: Path) -> Iterator[tuple[date, dict]]:
    """The bodies of a JSONL file with their UTC day; lines without a moment are passed over."""
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            try:
                body = json.loads(line)
                yield body_moment(body).date(), body
            except (ValueError, KeyError, TypeError, AttributeError):
                continue


def last_day_bodies(wazzup: Path) -> tuple[date, list[dict]]:
    last_day, bodies = None, []
    for path in sorted(wazzup.glob("*.jsonl"), reverse=True):
        dated = list(dated_bodies(path))
        newest = max((day for day, _ in dated), default=None)
        if newest is None:
            continue
        if last_day is not None and newest < last_day:
            break
        last_day = last_day or newest
        bodies += [body for day, body in dated if day == last_day]
    if last_day is None:
        raise ValueError(f"no webhook body with a date in {wazzup}/*.jsonl")
    return last_day, sorted(bodies, key=body_moment)


def moved_to_next_day(body: dict, next_day: date) -> dict:
    """The body 24 h later; a message id becomes a new one, the same for its edits and statuses."""
    body = json.loads(json.dumps(body))

    def new_id(message_id: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{message_id}@{next_day}"))

    for message in body.get("messages") or []:
        message["messageId"] = new_id(message["messageId"])
        message["dateTime"] = later_by_a_day(message["dateTime"])
    for status in body.get("statuses") or []:
        status["messageId"] = new_id(status["messageId"])
        status["timestamp"] = later_by_a_day(status["timestamp"])
    for update in body.get("channelsUpdates") or []:
        update["timestamp"] += DAY_MS
    return body


def append_next_day(landing: Path) -> tuple[Path, int]:
    """Write the landing's next day of webhooks; the new file and how many bodies it holds."""
    last_day, bodies = last_day_bodies(landing / "wazzup")
    next_day = date.fromordinal(last_day.toordinal() + 1)
    path = landing / "wazzup" / f"next-day-{next_day}.jsonl"
    with path.open("w", encoding="utf-8") as out:
        out.writelines(ENCODE(moved_to_next_day(body, next_day)) + "\n" for body in bodies)
    return path, len(bodies)
