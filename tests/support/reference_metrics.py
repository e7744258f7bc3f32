"""The metric definitions (dbt doc blocks in dbt_project/models/docs) in plain Python, the
independent side of tests/test_metric_properties.py.

Reads a landing folder (managers.csv, Wazzup webhook bodies in `wazzup/*.jsonl`, amoCRM
leads pages in `amocrm/leads_page_*.json`) and computes messages, dialogs, waits and the
per-period manager metrics from the written definitions, never from the project's SQL.
Where the contract leaves a choice open, the refinement documented in the dbt model
descriptions is followed; those places say so.
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

TEAM = "all"
UNASSIGNED = "unassigned"
WON_STATUS = 142
# Wazzup chatType -> channel of the message grain (groups fold into their messenger)
CHANNELS = {
    "whatsapp": "whatsapp", "whatsgroup": "whatsapp", "telegram": "telegram",
    "telegroup": "telegram", "max": "max", "maxgroup": "max", "viber": "viber",
    "instagram": "instagram", "vk": "vk", "avito": "avito",
}  # fmt: skip
GROUP_CHAT_TYPES = {"whatsgroup", "telegroup", "maxgroup"}
SYSTEM_TYPES = {"missing_call", "system"}


@dataclass(frozen=True)
class Settings:
    """The dbt vars of the contract, with their documented defaults."""

    timezone: ZoneInfo = ZoneInfo("Europe/Moscow")
    dialog_gap: timedelta = timedelta(hours=72)
    sla_seconds: float = 15 * 60
    work_days: frozenset[int] = frozenset({1, 2, 3, 4, 5})
    work_start: time = time(9)
    work_end: time = time(18)
    # the holidays seed: local date -> is_working_day (days off and working Saturdays)
    calendar_exceptions: Mapping[date, bool] = field(default_factory=dict)

    def is_working_day(self, day: date) -> bool:
        return self.calendar_exceptions.get(day, day.isoweekday() in self.work_days)


def read_calendar_exceptions(path: Path) -> dict[date, bool]:
    with path.open(encoding="utf-8", newline="") as f:
        return {
            date.fromisoformat(row["calendar_date"]): row["is_working_day"].strip() == "true"
            for row in csv.DictReader(f)
        }


# -- sources ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Directory:
    """managers.csv: which manager is behind a CRM user id and owns a Wazzup channel."""

    by_crm_user: dict[str, str]
    by_channel: dict[str, str]


def read_directory(landing: Path) -> Directory:
    claims: dict[str, dict[str, set[str]]] = {"crm": defaultdict(set), "channel": defaultdict(set)}
    with (landing / "managers.csv").open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            manager = row["manager_id"].strip()
            if row["crm_user_id"].strip():
                claims["crm"][row["crm_user_id"].strip()].add(manager)
            for channel in filter(None, (c.strip() for c in row["wazzup_channel_ids"].split(";"))):
                claims["channel"][channel].add(manager)
    # an id claimed by several managers goes to the first by id (int_manager_identities.yml)
    return Directory(
        by_crm_user={k: min(v) for k, v in claims["crm"].items()},
        by_channel={k: min(v) for k, v in claims["channel"].items()},
    )


def read_wazzup_records(landing: Path) -> list[dict[str, Any]]:
    """Every message record, one per messageId: the last one received wins (edits, deletes
    and re-deliveries re-send the id). Files are read in name order, lines in file order."""
    latest: dict[str, dict[str, Any]] = {}
    for path in sorted((landing / "wazzup").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            body = json.loads(line) if line.strip() else {}
            for record in body.get("messages", []):
                latest.pop(record["messageId"], None)
                latest[record["messageId"]] = record
    return list(latest.values())


@dataclass(frozen=True)
class Deal:
    deal_id: str
    manager_id: str
    is_won: bool
    closed_at: datetime | None


def read_amocrm_deals(landing: Path, directory: Directory) -> list[Deal]:
    leads: dict[int, dict[str, Any]] = {}
    for path in sorted((landing / "amocrm").glob("leads_page_*.json")):
        for lead in json.loads(path.read_text(encoding="utf-8"))["_embedded"]["leads"]:
            leads[lead["id"]] = lead
    return [
        Deal(
            deal_id=f"amocrm:{lead['id']}",
            manager_id=directory.by_crm_user.get(str(lead["responsible_user_id"]), UNASSIGNED),
            is_won=lead["status_id"] == WON_STATUS,
            closed_at=None if lead["closed_at"] is None else _epoch(lead["closed_at"]),
        )
        for lead in leads.values()
        if not lead.get("is_deleted")
    ]


# -- messages --------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    message_id: str
    source: str
    channel: str
    chat_id: str
    client_id: str
    manager_id: str
    channel_owner_manager_id: str | None
    direction: str
    sender_kind: str
    sent_at: datetime


def normalized_phone(raw: str | None) -> str | None:
    """E.164 digits: Russian 8XXXXXXXXXX and 9XXXXXXXXX become 7XXXXXXXXXX."""
    digits = "".join(ch for ch in raw or "" if ch.isdigit())
    if len(digits) == 11 and digits.startswith("8"):
        return "7" + digits[1:]
    if len(digits) == 10 and digits.startswith("9"):
        return "7" + digits
    return digits if len(digits) >= 10 else None


def sender_kind(record: Mapping[str, Any]) -> str:
    """Wazzup marks missed calls and service lines by type; a template sent by no CRM user
    (no authorId) is automation; the rest is the client's (isEcho false) or a manager's."""
    if record.get("type") in SYSTEM_TYPES:
        return "system"
    if (
        record.get("isEcho")
        and record.get("type") == "wapi_template"
        and not record.get("authorId")
    ):
        return "automation"
    return "manager" if record.get("isEcho") else "client"


def normalize_wazzup(records: Iterable[Mapping[str, Any]], directory: Directory) -> list[Message]:
    records = list(records)
    chat_phones: dict[str, set[str]] = defaultdict(set)
    for r in records:
        phone = _record_phone(r)
        if phone:
            chat_phones[_chat_key(r)].add(phone)
    messages = []
    for r in records:
        chat = _chat_key(r)
        channel = CHANNELS.get(r["chatType"], "other")
        owner = directory.by_channel.get(r["channelId"])
        # a reply sent from the CRM is its author's; from the phone, the channel owner's
        author = directory.by_crm_user.get(str(r.get("authorId"))) if r.get("isEcho") else None
        phones = chat_phones.get(chat)
        messages.append(
            Message(
                message_id=r["messageId"],
                source="wazzup",
                channel=channel,
                chat_id=chat,
                client_id=max(phones) if phones else f"{channel}:{r['chatId']}",
                manager_id=author or owner or UNASSIGNED,
                channel_owner_manager_id=owner,
                direction="outgoing" if r.get("isEcho") else "incoming",
                sender_kind=sender_kind(r),
                sent_at=_iso(r["dateTime"]),
            )
        )
    return messages


def _chat_key(record: Mapping[str, Any]) -> str:
    return f"wazzup:{record['channelId']}:{record['chatId']}"


def _record_phone(record: Mapping[str, Any]) -> str | None:
    """A 1:1 WhatsApp/Viber chat id is the client's phone; other chats may report one."""
    channel = CHANNELS.get(record["chatType"], "other")
    if channel in ("whatsapp", "viber") and record["chatType"] not in GROUP_CHAT_TYPES:
        return normalized_phone(record["chatId"])
    return normalized_phone((record.get("contact") or {}).get("phone"))


def _iso(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def _order(m: Message) -> tuple[datetime, str]:
    return m.sent_at, m.message_id


# -- dialogs ---------------------------------------------------------------------------


@dataclass
class Dialog:
    dialog_id: str
    chat_id: str
    channel: str
    client_id: str
    owner_manager_id: str
    direction: str
    is_unanswered_outreach: bool
    client_message_count: int
    manager_message_count: int
    message_count: int
    started_at: datetime
    ended_at: datetime
    messages: list[Message] = field(repr=False)
    is_new_client: bool = False


def split_into_dialogs(messages: Iterable[Message], settings: Settings) -> list[Dialog]:
    """A message more than dialog_gap after the chat's previous message (of any kind) starts a
    new dialog; exactly dialog_gap later is still the same dialog."""
    by_chat: dict[str, list[Message]] = defaultdict(list)
    for m in messages:
        by_chat[m.chat_id].append(m)
    dialogs = []
    for chat in by_chat.values():
        chat.sort(key=_order)
        run = [chat[0]]
        for previous, m in zip(chat, chat[1:], strict=False):
            if m.sent_at - previous.sent_at > settings.dialog_gap:
                dialogs.append(make_dialog(run))
                run = []
            run.append(m)
        dialogs.append(make_dialog(run))
    mark_new_clients(dialogs)
    return dialogs


def make_dialog(messages: list[Message]) -> Dialog:
    first = messages[0]
    conversation = [m for m in messages if m.sender_kind in ("client", "manager")]
    managers = [m for m in conversation if m.sender_kind == "manager"]
    clients = [m for m in conversation if m.sender_kind == "client"]
    if conversation:
        direction = "incoming" if conversation[0].sender_kind == "client" else "outgoing"
    else:  # system messages only: the first message's direction (int_dialogs.yml)
        direction = first.direction
    owner = managers[0].manager_id if managers else first.channel_owner_manager_id or UNASSIGNED
    return Dialog(
        dialog_id=f"dialog:{first.source}:{first.message_id}",
        chat_id=first.chat_id,
        channel=first.channel,
        client_id=first.client_id,
        owner_manager_id=owner,
        direction=direction,
        is_unanswered_outreach=direction == "outgoing" and not clients,
        client_message_count=len(clients),
        manager_message_count=len(managers),
        message_count=len(messages),
        started_at=first.sent_at,
        ended_at=messages[-1].sent_at,
        messages=messages,
    )


def mark_new_clients(dialogs: list[Dialog]) -> None:
    first: dict[str, Dialog] = {}
    for d in sorted(dialogs, key=lambda d: (d.started_at, d.dialog_id)):
        first.setdefault(d.client_id, d)
    for d in dialogs:
        d.is_new_client = first[d.client_id] is d


# -- waits -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Wait:
    wait_id: str
    dialog_id: str
    chat_id: str
    channel: str
    client_id: str
    credited_manager_id: str
    replied_by_manager_id: str | None
    reply_message_id: str | None
    status: str
    is_first_wait: bool
    client_message_count: int
    response_time_s: float | None
    business_response_time_s: float | None
    started_at: datetime
    replied_at: datetime | None
    # the client waits until the reply, the dialog's last message, or the end of data
    open_until: datetime


def open_dialog_ids(dialogs: list[Dialog], settings: Settings) -> set[str]:
    """Still open at the end of data (the latest message of all): the chat's last dialog,
    whose last message is within dialog_gap of that end."""
    if not dialogs:
        return set()
    end_of_data = max(d.ended_at for d in dialogs)
    last_of_chat: dict[str, Dialog] = {}
    for d in sorted(dialogs, key=lambda d: (d.started_at, d.dialog_id)):
        last_of_chat[d.chat_id] = d
    return {
        d.dialog_id
        for d in last_of_chat.values()
        if end_of_data - d.ended_at <= settings.dialog_gap
    }


def build_waits(dialogs: list[Dialog], settings: Settings) -> list[Wait]:
    still_open = open_dialog_ids(dialogs, settings)
    end_of_data = max((d.ended_at for d in dialogs), default=None)
    waits = []
    for d in dialogs:
        until = end_of_data if d.dialog_id in still_open else d.ended_at
        for run, reply in client_runs(d):
            waits.append(make_wait(d, run, reply, d.dialog_id in still_open, until, settings))
    return waits


def client_runs(dialog: Dialog) -> Iterator[tuple[list[Message], Message | None]]:
    """Runs of consecutive client messages and the manager message answering each (None
    when the dialog ends first). Automation and system messages neither answer a run nor
    break it."""
    run: list[Message] = []
    for m in dialog.messages:
        if m.sender_kind == "client":
            run.append(m)
        elif m.sender_kind == "manager" and run:
            yield run, m
            run = []
    if run:
        yield run, None


def make_wait(
    dialog: Dialog,
    run: list[Message],
    reply: Message | None,
    is_open: bool,
    unanswered_until: datetime,
    settings: Settings,
) -> Wait:
    start = run[0]
    status = "answered" if reply else "pending" if is_open else "unanswered"
    return Wait(
        wait_id=f"wait:{start.source}:{start.message_id}",
        dialog_id=dialog.dialog_id,
        chat_id=dialog.chat_id,
        channel=dialog.channel,
        client_id=dialog.client_id,
        credited_manager_id=reply.manager_id if reply else dialog.owner_manager_id,
        replied_by_manager_id=reply.manager_id if reply else None,
        reply_message_id=reply.message_id if reply else None,
        status=status,
        # an incoming dialog's first wait: its first message is the client's
        is_first_wait=dialog.direction == "incoming" and start is _first_conversation(dialog),
        client_message_count=len(run),
        response_time_s=(reply.sent_at - start.sent_at).total_seconds() if reply else None,
        business_response_time_s=(
            business_seconds(start.sent_at, reply.sent_at, settings) if reply else None
        ),
        started_at=start.sent_at,
        replied_at=reply.sent_at if reply else None,
        open_until=reply.sent_at if reply else unanswered_until,
    )


def _first_conversation(dialog: Dialog) -> Message | None:
    return next((m for m in dialog.messages if m.sender_kind in ("client", "manager")), None)


def business_seconds(start: datetime, end: datetime, settings: Settings) -> float:
    """Seconds of [start, end) inside working hours of working days, local time."""
    tz = settings.timezone
    total = 0.0
    day = start.astimezone(tz).date()
    while day <= end.astimezone(tz).date():
        if settings.is_working_day(day):
            opens = datetime.combine(day, settings.work_start, tz).astimezone(UTC)
            closes = datetime.combine(day, settings.work_end, tz).astimezone(UTC)
            overlap = (min(closes, end) - max(opens, start)).total_seconds()
            total += max(overlap, 0.0)
        day += timedelta(days=1)
    return total


# -- per-period metrics ----------------------------------------------------------------


def period_start(at: datetime, grain: str, tz: ZoneInfo) -> date:
    return period_of_day(at.astimezone(tz).date(), grain)


def period_of_day(local: date, grain: str) -> date:
    if grain == "day":
        return local
    if grain == "week":
        return local - timedelta(days=local.weekday())
    if grain == "month":
        return local.replace(day=1)
    if grain == "quarter":
        return date(local.year, 3 * ((local.month - 1) // 3) + 1, 1)
    if grain == "year":
        return date(local.year, 1, 1)
    raise ValueError(grain)


def percentile_cont(values: list[float], fraction: float) -> float | None:
    """Linear interpolation between the closest ranks, like SQL percentile_cont."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    return None if numerator is None or not denominator else numerator / denominator


def wilson(successes: int, trials: int, sign: int, z: float = 1.959964) -> float | None:
    """Bound of the Wilson 95% score interval; None without trials or above 100%."""
    if not trials or successes > trials:
        return None
    p = successes / trials
    spread = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    return (p + z * z / (2 * trials) + sign * spread) / (1 + z * z / trials)


def daily_peaks(waits: Iterable[Wait], tz: ZoneInfo) -> dict[tuple[date, str], int]:
    """The most waits open at one moment, per local day and credited manager (and the team).
    A wait is open over [started_at, open_until): one closing as another opens counts once."""
    peaks: dict[tuple[date, str], int] = defaultdict(int)
    by_scope: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    for w in waits:
        if w.open_until > w.started_at:
            for scope in (w.credited_manager_id, TEAM):
                by_scope[scope] += [(w.started_at, 1), (w.open_until, -1)]
    for scope, events in by_scope.items():
        events.sort()
        count = 0
        for (at, change), (next_at, _) in zip(events, events[1:], strict=False):
            count += change
            if count and next_at > at:
                for day in local_days(at, next_at, tz):
                    peaks[day, scope] = max(peaks[day, scope], count)
    return peaks


def local_days(start: datetime, end: datetime, tz: ZoneInfo) -> Iterator[date]:
    """The local days that [start, end) overlaps."""
    day, last = start.astimezone(tz).date(), (end - timedelta(microseconds=1)).astimezone(tz)
    while day <= last.date():
        yield day
        day += timedelta(days=1)


Key = tuple[str, date, str]  # (grain, period_start, manager_id or 'all')


@dataclass
class PeriodFacts:
    """What one (grain, period, manager) holds; metrics are computed from it."""

    dialogs: list[Dialog] = field(default_factory=list)
    owned: set[str] = field(default_factory=set)
    participated: set[str] = field(default_factory=set)
    sent_per_dialog: Counter[tuple[str, str]] = field(default_factory=Counter)
    received: int = 0
    waits: list[Wait] = field(default_factory=list)
    peak_concurrent_dialogs: int = 0
    won_deals: int = 0


def manager_metrics(
    reference: Reference, grains: Iterable[str] = ("day", "month")
) -> dict[Key, dict[str, Any]]:
    """mart_manager_metrics rows with channel = 'all', per manager and for the team."""
    settings = reference.settings
    facts: dict[Key, PeriodFacts] = defaultdict(PeriodFacts)
    grains = tuple(grains)

    def buckets(at: datetime, manager_id: str) -> Iterator[PeriodFacts]:
        for grain in grains:
            start = period_start(at, grain, settings.timezone)
            yield facts[grain, start, manager_id]
            yield facts[grain, start, TEAM]

    owner_of = {d.dialog_id: d.owner_manager_id for d in reference.dialogs}
    for d in reference.dialogs:  # a dialog belongs to the period of its first message
        for f in buckets(d.started_at, d.owner_manager_id):
            f.dialogs.append(d)
    for m in reference.messages:  # sent: the author's; received: the dialog owner's
        dialog_id = reference.dialog_of[m.message_id]
        if m.sender_kind not in ("client", "manager"):
            continue
        for f in buckets(m.sent_at, owner_of[dialog_id]):
            f.owned.add(dialog_id)
            f.received += m.sender_kind == "client"
        if m.sender_kind == "manager":
            for f in buckets(m.sent_at, m.manager_id):
                f.sent_per_dialog[m.manager_id, dialog_id] += 1
                f.participated.add(dialog_id)
    for w in reference.waits:  # bucketed by the wait's start, credited manager
        for f in buckets(w.started_at, w.credited_manager_id):
            f.waits.append(w)
    for (day, scope), peak in daily_peaks(reference.waits, settings.timezone).items():
        for grain in grains:  # a longer period carries its highest day
            f = facts[grain, period_of_day(day, grain), scope]
            f.peak_concurrent_dialogs = max(f.peak_concurrent_dialogs, peak)
    for deal in reference.deals:  # won deals by close date, to the responsible manager
        if deal.is_won and deal.closed_at is not None:
            for f in buckets(deal.closed_at, deal.manager_id):
                f.won_deals += 1
    return {key: metrics_of(f, settings) for key, f in facts.items()}


def metrics_of(f: PeriodFacts, settings: Settings) -> dict[str, Any]:
    sent = sum(f.sent_per_dialog.values())
    answered = [w for w in f.waits if w.status == "answered"]
    calendar = [w.response_time_s for w in answered]
    business = [w.business_response_time_s for w in answered]
    first = [w for w in answered if w.is_first_wait]
    within_sla = [b for b in business if b <= settings.sla_seconds]
    new_dialogs = len(f.dialogs)
    return {
        "new_dialogs": new_dialogs,
        "new_dialogs_incoming": sum(d.direction == "incoming" for d in f.dialogs),
        "new_dialogs_outgoing": sum(d.direction == "outgoing" for d in f.dialogs),
        "new_clients": sum(d.is_new_client for d in f.dialogs),
        "unanswered_outreach": sum(d.is_unanswered_outreach for d in f.dialogs),
        "dialogs_owned": len(f.owned),
        "dialogs_participated": len(f.participated),
        "messages_sent": sent,
        "messages_received": f.received,
        "messages_per_dialog": ratio(sent, len(f.participated)),
        # per (manager, dialog) pair, also for the team (mart_manager_metrics.yml)
        "messages_per_dialog_median": percentile_cont(list(f.sent_per_dialog.values()), 0.5),
        "waits": len(f.waits),
        "waits_answered": len(answered),
        "waits_unanswered": sum(w.status == "unanswered" for w in f.waits),
        "waits_pending": sum(w.status == "pending" for w in f.waits),
        "waits_answered_within_sla": len(within_sla),
        "sla_share": ratio(len(within_sla), len(answered)),
        "response_time_mean_s": mean(calendar),
        "response_time_median_s": percentile_cont(calendar, 0.5),
        "response_time_p90_s": percentile_cont(calendar, 0.9),
        "business_response_time_mean_s": mean(business),
        "business_response_time_median_s": percentile_cont(business, 0.5),
        "business_response_time_p90_s": percentile_cont(business, 0.9),
        "first_response_time_median_s": percentile_cont([w.response_time_s for w in first], 0.5),
        "business_first_response_time_median_s": percentile_cont(
            [w.business_response_time_s for w in first], 0.5
        ),
        "peak_concurrent_dialogs": f.peak_concurrent_dialogs,
        "won_deals": f.won_deals,
        "conversion_rate": ratio(f.won_deals, new_dialogs),
        "conversion_ci_low": wilson(f.won_deals, new_dialogs, -1),
        "conversion_ci_high": wilson(f.won_deals, new_dialogs, 1),
    }


# -- everything from one landing folder ------------------------------------------------


@dataclass
class Reference:
    settings: Settings
    messages: list[Message]
    dialogs: list[Dialog]
    waits: list[Wait]
    deals: list[Deal]
    dialog_of: dict[str, str]  # message_id -> dialog_id


def compute(landing: Path, settings: Settings) -> Reference:
    directory = read_directory(landing)
    messages = normalize_wazzup(read_wazzup_records(landing), directory)
    dialogs = split_into_dialogs(messages, settings)
    return Reference(
        settings=settings,
        messages=messages,
        dialogs=dialogs,
        waits=build_waits(dialogs, settings),
        deals=read_amocrm_deals(landing, directory),
        dialog_of={m.message_id: d.dialog_id for d in dialogs for m in d.messages},
    )
