"""The warehouse's metrics against an independent Python computation of their definitions.

A seeded generator writes a small company into a landing folder (managers.csv, Wazzup
webhook bodies, amoCRM leads pages), rich in edge cases: the 72 h gap rule to the second,
runs of client and manager messages, outreach with and without answers, missed calls and
service lines inside waits, replies by a colleague or from the phone, waits across nights,
weekends, holidays and a working Saturday, Moscow midnight, one client on two messengers,
and waits still open at the end of data. `chatsales run` builds it into DuckDB;
tests/support/reference_metrics.py computes the same definitions from the landing files, and every
row of fct_dialogs, fct_waits and mart_manager_metrics (channel 'all') must agree.

CHATSALES_PROPERTY_SEED picks another random company (the scripted cases stay).
"""

from __future__ import annotations

import csv
import json
import math
import os
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chatsales.core.settings import Warehouse
from chatsales.core.warehouse import connect

from .support import reference_metrics as rm
from .support.background_builds import built_in_background
from .support.cli import run_cli_ok, warehouse_env
from .support.paths import REPO_ROOT

SEED = int(os.environ.get("CHATSALES_PROPERTY_SEED", "4"))
MSK = ZoneInfo("Europe/Moscow")
HOLIDAYS = REPO_ROOT / "dbt_project" / "seeds" / "holidays.csv"
GAP = timedelta(hours=72)
MS = timedelta(milliseconds=1)
# 27 Oct 2025 is a Monday; 1 Nov 2025 a working Saturday, 3-4 Nov and 31 Dec - 9 Jan days off
FIRST_DAY, LAST_FILLER_DAY = date(2025, 10, 27), date(2026, 1, 14)
UNKNOWN_CRM_USER = 8209999  # an amoCRM admin who is no manager of managers.csv
WON, LOST = 142, 143
TOLERANCE = 1e-3


def msk(*args: int) -> datetime:
    """A Moscow wall-clock instant (y, m, d, h, min, s, ms) in UTC."""
    *wall, millis = (*args, 0, 0, 0, 0)[:7]
    return datetime(*wall, tzinfo=MSK).astimezone(UTC) + millis * MS


END = msk(2026, 1, 20, 17)  # the latest message of all data (the end of data)


# -- the generated company ---------------------------------------------------------------


@dataclass(frozen=True)
class Channel:
    id: str
    transport: str


@dataclass(frozen=True)
class Manager:
    manager_id: str
    name: str
    crm_user_id: int
    channels: tuple[Channel, ...]


Author = Manager | int | None  # a manager from the CRM, another CRM user id, or the phone


@dataclass
class Chat:
    channel: Channel
    chat_id: str
    owner: Manager | None
    contact: dict[str, str]
    late_phone: str | None = None  # reported from the chat's second message on
    last: datetime | None = None


@dataclass
class Company:
    """Managers, their chats' message records (Wazzup `messages[]` items) and amoCRM leads."""

    rng: random.Random
    managers: list[Manager] = field(default_factory=list)
    unmapped: Channel | None = None  # a connected channel nobody put in managers.csv
    records: list[dict[str, Any]] = field(default_factory=list)
    leads: list[dict[str, Any]] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)  # clients known by phone
    named: dict[str, str] = field(default_factory=dict)  # scripted message -> messageId

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def manager(self, manager_id: str) -> Manager:
        return next(m for m in self.managers if m.manager_id == manager_id)

    def channel(self, manager_id: str, transport: str) -> Channel:
        return next(c for c in self.manager(manager_id).channels if c.transport == transport)

    def owner_of(self, channel: Channel) -> Manager | None:
        return next((m for m in self.managers if channel in m.channels), None)

    def new_phone(self) -> str:
        phone = f"79{self.rng.randrange(10**9):09d}"
        while phone in self.phones:
            phone = f"79{self.rng.randrange(10**9):09d}"
        self.phones.append(phone)
        return phone

    def new_chat(self, channel: Channel, tg_phone: str | None = None, late: bool = False) -> Chat:
        """A chat with a new client; a Telegram chat may report a known client's phone."""
        owner = self.owner_of(channel)
        if channel.transport in ("whatsapp", "viber"):
            return Chat(channel, self.new_phone(), owner, {"name": "Клиент"})
        if channel.transport == "instagram":
            return Chat(channel, f"client.{self.rng.randrange(10**6)}", owner, {"name": "insta"})
        contact = {"name": "Клиент", "username": f"tg_client_{self.rng.randrange(10**6)}"}
        chat = Chat(channel, str(self.rng.randrange(10**9, 8 * 10**9)), owner, contact)
        if tg_phone and late:
            chat.late_phone = tg_phone
        elif tg_phone:
            chat.contact["phone"] = tg_phone
        return chat

    def post(
        self,
        chat: Chat,
        at: datetime,
        echo: bool,
        type_: str = "text",
        author: Author = None,
        name: str | None = None,
        tie: bool = False,
    ) -> datetime:
        """Messages of a chat come in time order; `tie` allows the previous one's instant."""
        assert chat.last is None or at > chat.last or (tie and at == chat.last), (at, chat.last)
        assert at <= END, at
        message_id = self.uuid()
        contact = dict(chat.contact)
        if chat.late_phone and chat.last is not None:
            contact["phone"] = chat.late_phone
        record: dict[str, Any] = {
            "messageId": message_id,
            "dateTime": at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z",
            "channelId": chat.channel.id,
            "chatType": chat.channel.transport,
            "chatId": chat.chat_id,
            "type": type_,
            "isEcho": echo,
            "contact": contact,
            "status": "sent" if echo else "inbound",
        }
        if type_ in ("text", "wapi_template"):
            record["text"] = "Здравствуйте!" if not echo else "Добрый день, чем помочь?"
        elif type_ in ("image", "document"):
            record["contentUri"] = f"https://store.wazzup24.com/{message_id[:8]}/?filename=f.jpg"
        if isinstance(author, Manager):
            record |= {"authorId": str(author.crm_user_id), "authorName": author.name}
            record["sentFromApp"] = True
        elif isinstance(author, int):
            record |= {"authorId": str(author), "authorName": "Администратор", "sentFromApp": True}
        self.records.append(record)
        chat.last = at
        if name:
            self.named[name] = message_id
        return at

    # the kinds of messages
    def client(self, chat: Chat, at: datetime, name: str | None = None) -> datetime:
        kind = "image" if self.rng.random() < 0.1 else "text"
        return self.post(chat, at, False, kind, name=name)

    def reply(
        self, chat: Chat, at: datetime, author: Author = None, name: str | None = None
    ) -> datetime:
        return self.post(chat, at, True, author=author, name=name)

    def missed_call(self, chat: Chat, at: datetime, name: str | None = None) -> datetime:
        return self.post(chat, at, False, "missing_call", name=name)

    def service(self, chat: Chat, at: datetime) -> datetime:
        return self.post(chat, at, True, "system")

    def lead(
        self, manager: Manager | int, status: int, closed: datetime | None, deleted: bool = False
    ) -> None:
        closed_s = None if closed is None else int(closed.timestamp())
        created = int((closed or END).timestamp()) - self.rng.randrange(3600, 10 * 86400)
        user = manager.crm_user_id if isinstance(manager, Manager) else manager
        lead_id = 5000001 + len(self.leads)
        self.leads.append(
            {
                "id": lead_id, "name": f"Сделка #{lead_id}", "price": 4990000,
                "responsible_user_id": user, "group_id": 0, "status_id": status,
                "pipeline_id": 7000001, "loss_reason_id": 9001 if status == LOST else None,
                "created_by": user, "updated_by": user, "created_at": created,
                "updated_at": closed_s or created + 60, "closed_at": closed_s,
                "closest_task_at": None, "is_deleted": deleted, "custom_fields_values": None,
                "score": None, "account_id": 31000001, "labor_cost": None,
                "_links": {"self": {"href": f"https://demo.amocrm.ru/api/v4/leads/{lead_id}"}},
                "_embedded": {"tags": [], "companies": [], "contacts": []},
            }
        )  # fmt: skip


def build_company(seed: int) -> Company:
    rng = random.Random(seed)
    c = Company(rng)
    team = [
        ("m01", "Алексей Смирнов", ("whatsapp", "telegram")),
        ("m02", "Мария Кузнецова", ("whatsapp",)),
        ("m03", "Дмитрий Попов", ("telegram", "whatsapp")),
        ("m04", "Елена Васильева", ("instagram", "whatsapp")),
    ]
    for i, (manager_id, name, transports) in enumerate(team, start=1):
        channels = tuple(Channel(c.uuid(), t) for t in transports)
        c.managers.append(Manager(manager_id, name, 8200000 + i, channels))
    c.unmapped = Channel(c.uuid(), "whatsapp")
    for case in SCRIPTED_CASES:
        case(c)
    random_chats(c, chats=36)
    random_leads(c, won=10)
    return c


# -- scripted edge cases (named messages are checked by hand in the tests) ----------------


def gap_rule(c: Company) -> None:
    chat = c.new_chat(c.channel("m01", "whatsapp"))
    c.client(chat, msk(2025, 11, 10, 10), name="gap_first")
    t = c.reply(chat, msk(2025, 11, 10, 10, 4, 30), c.manager("m01"))
    t = c.client(chat, t + GAP, name="gap_exactly_72h")  # same dialog
    t = c.reply(chat, msk(2025, 11, 13, 10, 30), c.manager("m02"), name="gap_reply_by_m02")
    c.client(chat, t + GAP + timedelta(seconds=1), name="gap_72h_plus_1s")  # Sunday: new dialog
    c.reply(chat, msk(2025, 11, 17, 9, 5), c.manager("m01"))
    # a reply 72 h + 1 ms after the client: too late, it opens a new (outgoing) dialog
    t = c.client(chat, msk(2025, 12, 8, 10), name="late_reply_wait")
    c.reply(chat, t + GAP + MS, c.manager("m01"), name="late_reply")
    t = c.client(chat, msk(2025, 12, 15, 11), name="reply_at_72h_wait")
    c.reply(chat, t + GAP, c.manager("m01"))


def runs_and_colleagues(c: Company) -> None:
    chat = c.new_chat(c.channel("m02", "whatsapp"))
    c.client(chat, msk(2025, 11, 18, 11, 0, 0, 250), name="run_first")
    c.client(chat, msk(2025, 11, 18, 11, 0, 40))
    c.missed_call(chat, msk(2025, 11, 18, 11, 1))
    c.client(chat, msk(2025, 11, 18, 11, 2))
    c.reply(chat, msk(2025, 11, 18, 11, 20))  # from the phone: the channel owner m02
    c.reply(chat, msk(2025, 11, 18, 11, 21), c.manager("m02"))
    c.reply(chat, msk(2025, 11, 18, 11, 22), c.manager("m03"))
    c.client(chat, msk(2025, 11, 18, 11, 40), name="colleague_wait")
    c.service(chat, msk(2025, 11, 18, 11, 41))  # an outgoing service line is no reply
    c.client(chat, msk(2025, 11, 18, 11, 45))
    c.reply(chat, msk(2025, 11, 18, 12, 10), c.manager("m03"), name="colleague_reply")
    c.client(chat, msk(2025, 11, 18, 12, 30), name="unknown_author_wait")
    c.reply(chat, msk(2025, 11, 18, 12, 31), UNKNOWN_CRM_USER)  # no manager: channel owner


def outreach(c: Company) -> None:
    chat = c.new_chat(c.channel("m03", "telegram"))
    c.reply(chat, msk(2025, 11, 19, 12), c.manager("m03"), name="outreach_unanswered")
    c.reply(chat, msk(2025, 11, 20, 12, 30), c.manager("m03"))
    chat = c.new_chat(c.channel("m03", "whatsapp"))
    c.service(chat, msk(2025, 11, 19, 14, 59))  # a service line first: still the manager's
    c.reply(chat, msk(2025, 11, 19, 15), name="outreach_answered")
    c.client(chat, msk(2025, 11, 19, 15, 30), name="outreach_wait")
    c.reply(chat, msk(2025, 11, 19, 15, 40), c.manager("m01"))
    chat = c.new_chat(c.channel("m04", "whatsapp"))
    c.missed_call(chat, msk(2025, 12, 3, 10), name="missed_call_only")
    c.client(chat, msk(2025, 12, 6, 10, 0, 0, 1), name="after_missed_call")  # 72 h + 1 ms


def same_instant(c: Company) -> None:
    """Ties in sent_at are ordered by message id on both sides (random ids: either order)."""
    chat = c.new_chat(c.channel("m04", "whatsapp"))
    t = c.client(chat, msk(2025, 12, 2, 15))
    c.post(chat, t, False, tie=True)
    c.post(chat, t, True, author=c.manager("m04"), tie=True)
    c.post(chat, t, True, "missing_call", tie=True)
    t = c.client(chat, t + timedelta(minutes=1))
    c.post(chat, t, True, author=c.manager("m01"), tie=True)


def business_hours(c: Company) -> None:
    """Waits across nights, weekends and holidays; the long ones are kept in one dialog by
    missed calls and a client's nudge (neither answers nor splits the wait)."""
    cases = [  # (name, wait start, messages in between, reply)
        ("friday_evening", msk(2025, 11, 21, 17, 55), [], msk(2025, 11, 24, 9, 10)),
        ("saturday", msk(2025, 11, 22, 12), [], msk(2025, 11, 22, 13)),
        ("before_opening", msk(2025, 11, 24, 8, 50), [], msk(2025, 11, 24, 9, 15)),
        ("sla_exact", msk(2025, 11, 25, 10), [], msk(2025, 11, 25, 10, 15)),
        ("sla_missed", msk(2025, 11, 25, 11), [], msk(2025, 11, 25, 11, 15, 0, 1)),
        ("working_saturday", msk(2025, 10, 31, 17, 30), [msk(2025, 11, 2, 12)],
         msk(2025, 11, 5, 9, 30)),
        ("new_year", msk(2025, 12, 30, 17),
         [msk(2026, 1, 2, 12), msk(2026, 1, 5, 10), msk(2026, 1, 8, 9), msk(2026, 1, 10, 12)],
         msk(2026, 1, 12, 10)),
        ("night", msk(2025, 12, 3, 23, 30), [], msk(2025, 12, 4, 9, 30)),
    ]  # fmt: skip
    for i, (name, start, between, reply) in enumerate(cases):
        chat = c.new_chat(c.managers[i % 4].channels[-1])
        c.client(chat, start, name=name)
        for j, at in enumerate(between):
            (c.client if j == 1 else c.missed_call)(chat, at)
        c.reply(chat, reply, chat.owner)


def midnight(c: Company) -> None:
    chat = c.new_chat(c.channel("m02", "whatsapp"))
    c.client(chat, msk(2025, 12, 31, 23, 30), name="new_years_eve_2330")
    c.reply(chat, msk(2026, 1, 1, 0, 20), c.manager("m02"))
    chat = c.new_chat(c.channel("m01", "telegram"))
    c.client(chat, msk(2025, 12, 17, 0, 10), name="after_midnight_0010")
    c.reply(chat, msk(2025, 12, 17, 0, 25), c.manager("m01"))
    chat = c.new_chat(c.channel("m03", "whatsapp"))
    c.client(chat, msk(2025, 11, 30, 23, 59, 59, 500), name="month_end_235959")
    c.reply(chat, msk(2025, 12, 1, 9, 1), c.manager("m03"))


def one_client_two_messengers(c: Company) -> None:
    wa = c.new_chat(c.channel("m01", "whatsapp"))
    c.client(wa, msk(2025, 11, 3, 12), name="dual_whatsapp")
    c.reply(wa, msk(2025, 11, 3, 12, 5), c.manager("m01"))
    p = wa.chat_id
    tg = c.new_chat(c.channel("m01", "telegram"), f"+7 ({p[1:4]}) {p[4:7]}-{p[7:9]}-{p[9:]}")
    c.client(tg, msk(2025, 11, 4, 18), name="dual_telegram")
    c.reply(tg, msk(2025, 11, 5, 9), c.manager("m01"))
    late = c.new_chat(c.channel("m03", "telegram"), "8" + p[1:], late=True)
    c.client(late, msk(2025, 11, 6, 9, 30), name="dual_late_phone")
    c.client(late, msk(2025, 11, 6, 9, 31))
    c.reply(late, msk(2025, 11, 6, 9, 40), c.manager("m03"))


def unmapped_channel(c: Company) -> None:
    assert c.unmapped is not None
    chat = c.new_chat(c.unmapped)
    c.client(chat, msk(2025, 12, 9, 10), name="unmapped_wait")
    c.reply(chat, msk(2025, 12, 9, 10, 10))  # from the phone of a channel nobody owns
    chat = c.new_chat(c.unmapped)
    c.client(chat, msk(2025, 12, 10, 10), name="unmapped_by_m02")
    c.reply(chat, msk(2025, 12, 10, 10, 7), c.manager("m02"))


def end_of_data(c: Company) -> None:
    chat = c.new_chat(c.channel("m01", "whatsapp"))
    c.client(chat, END - timedelta(days=2), name="pending_2d")
    chat = c.new_chat(c.channel("m02", "whatsapp"))
    c.client(chat, END - GAP, name="pending_exactly_72h")
    chat = c.new_chat(c.channel("m03", "whatsapp"))
    c.client(chat, END - GAP - timedelta(seconds=1), name="unanswered_72h_1s")
    chat = c.new_chat(c.channel("m04", "instagram"))
    c.client(chat, msk(2026, 1, 12, 11), name="unanswered_then_new_dialog")
    t = c.client(chat, msk(2026, 1, 15, 11, 0, 0, 1))  # 72 h + 1 ms: a new dialog
    t = c.reply(chat, t + timedelta(minutes=3), c.manager("m04"))
    c.client(chat, END - timedelta(hours=1), name="pending_after_answer")
    chat = c.new_chat(c.channel("m02", "whatsapp"))
    c.reply(chat, END - timedelta(days=1), c.manager("m02"), name="pending_outreach")
    chat = c.new_chat(c.channel("m04", "whatsapp"))
    c.client(chat, END - timedelta(minutes=30))
    c.reply(chat, END, c.manager("m04"), name="end_of_data")


def scripted_leads(c: Company) -> None:
    m1, m2, m3, m4 = c.managers
    c.lead(m1, WON, msk(2025, 11, 14, 12))
    c.lead(m1, WON, msk(2025, 12, 31, 23, 30))  # December in Moscow, 20:30 UTC
    c.lead(m2, WON, msk(2026, 1, 1, 0, 30))  # January in Moscow, still 31 Dec in UTC
    c.lead(m3, WON, msk(2025, 11, 28, 16))
    c.lead(m4, WON, msk(2026, 1, 15, 10))
    c.lead(UNKNOWN_CRM_USER, WON, msk(2025, 12, 10, 15))  # 'unassigned'
    c.lead(m2, WON, msk(2025, 12, 11, 15), deleted=True)
    c.lead(m2, LOST, msk(2025, 12, 5, 11))
    c.lead(m3, 61000001, None)  # still open


SCRIPTED_CASES: list[Callable[[Company], None]] = [
    gap_rule, runs_and_colleagues, outreach, same_instant, business_hours, midnight,
    one_client_two_messengers, unmapped_channel, end_of_data, scripted_leads,
]  # fmt: skip


# -- random chats ------------------------------------------------------------------------


def random_instant(rng: random.Random, first: date, last: date) -> datetime:
    """Mostly working hours, often evenings, around midnight, nights and weekends."""
    day = first + timedelta(days=rng.randrange((last - first).days))
    r = rng.random()
    hours = (
        rng.uniform(9, 18) if r < 0.55
        else rng.uniform(18, 23) if r < 0.75
        else rng.uniform(23, 25) if r < 0.9
        else rng.uniform(1, 9)
    )  # fmt: skip
    return msk(day.year, day.month, day.day) + timedelta(milliseconds=int(hours * 3_600_000))


def next_morning(at: datetime) -> datetime:
    local = at.astimezone(MSK)
    day = local.date() + timedelta(days=1 if local.hour >= 9 else 0)
    while day.isoweekday() > 5:
        day += timedelta(days=1)
    return msk(day.year, day.month, day.day, 9)


def reply_delay(rng: random.Random, run_start: datetime, last: datetime) -> datetime:
    r = rng.random()
    if r < 0.3:
        return last + timedelta(milliseconds=rng.randrange(5_000, 600_000))
    if r < 0.4:  # the calendar SLA to the millisecond
        return max(run_start + timedelta(seconds=900) + rng.choice((-1, 0, 1)) * MS, last + MS)
    if r < 0.6:
        return last + timedelta(milliseconds=rng.randrange(600_000, 7_200_000))
    if r < 0.75:
        return last + timedelta(milliseconds=rng.randrange(7_200_000, 72_000_000))
    if r < 0.88:
        return next_morning(last) + timedelta(milliseconds=rng.randrange(0, 2_400_000))
    if r < 0.95:
        return last + timedelta(milliseconds=rng.randrange(86_400_000, 345_600_000))
    return last + GAP + rng.choice((0, 1)) * MS  # answered at the gap, or too late


def client_delay(rng: random.Random, last: datetime) -> datetime:
    r = rng.random()
    if r < 0.75:
        return last + timedelta(milliseconds=rng.randrange(30_000, 10_800_000))
    if r < 0.93:
        return last + timedelta(milliseconds=rng.randrange(36_000_000, 144_000_000))
    return last + GAP + rng.choice((-1, 0, 1, 1000)) * MS


def episode_gap(rng: random.Random, last: datetime) -> datetime:
    """Silence before the chat's next episode: around the 72 h rule, or days."""
    choices = (GAP, GAP + MS, GAP - MS, GAP + timedelta(seconds=1))
    if rng.random() < 0.4:
        return last + rng.choice(choices)
    return last + timedelta(hours=rng.uniform(30, 300))


def pick_author(rng: random.Random, c: Company, chat: Chat) -> tuple[Author, str]:
    owner = chat.owner or rng.choice(c.managers)
    r = rng.random()
    if r < 0.62:
        return owner, "text"
    if r < 0.77:
        return None, "text"
    if r < 0.92:
        return rng.choice([m for m in c.managers if m is not owner]), "text"
    if r < 0.97:
        return UNKNOWN_CRM_USER, "text"
    return None, "wapi_template"


class Episode:
    """One stretch of conversation in a chat; every message lands before END or not at all."""

    def __init__(self, c: Company, chat: Chat) -> None:
        self.c, self.rng, self.chat = c, c.rng, chat
        self.open = True

    def send(self, at: datetime, action: Callable[[datetime], datetime]) -> datetime:
        if at >= END - timedelta(minutes=1):
            self.open = False
            return at
        return action(at)

    def client_run(self, at: datetime) -> tuple[datetime, datetime]:
        c, rng, chat = self.c, self.rng, self.chat
        if rng.random() < 0.1:
            at = self.send(at, lambda t: c.missed_call(chat, t)) + timedelta(seconds=40)
        start = at
        for i in range(rng.choice((1, 1, 2, 3, 4))):
            if i and rng.random() < 0.08:
                at = self.send(at, lambda t: c.service(chat, t)) + timedelta(seconds=5)
            at = self.send(at, lambda t: c.client(chat, t))
            at += timedelta(milliseconds=rng.randrange(3_000, 120_000))
        return start, chat.last or start

    def manager_run(self, at: datetime) -> datetime:
        c, rng, chat = self.c, self.rng, self.chat
        for _ in range(rng.choice((1, 1, 2, 3))):
            author, kind = pick_author(rng, c, chat)
            at = self.send(at, lambda t, a=author, k=kind: c.post(chat, t, True, k, a))
            at += timedelta(milliseconds=rng.randrange(5_000, 90_000))
        return chat.last or at

    def play(self, at: datetime) -> datetime:
        rng = self.rng
        if rng.random() < 0.25:  # the manager writes first
            last = self.manager_run(at)
            if rng.random() < 0.35 or not self.open:
                return last
            at = client_delay(rng, last)
        for _ in range(rng.randint(1, 4)):
            start, last = self.client_run(at)
            if rng.random() < 0.12 or not self.open:
                return last  # never answered
            last = self.manager_run(reply_delay(rng, start, last))
            if not self.open:
                return last
            at = client_delay(rng, last)
        return self.chat.last or at


def random_chats(c: Company, chats: int) -> None:
    rng = c.rng
    channels = [ch for m in c.managers for ch in m.channels] + [c.unmapped]
    scripted_phones = len(c.phones)  # the scripted clients keep their story
    for _ in range(chats):
        channel = rng.choice(channels)
        phones = c.phones[scripted_phones:]
        known = rng.choice(phones) if phones and rng.random() < 0.4 else None
        chat = c.new_chat(channel, known, late=rng.random() < 0.3)
        at = random_instant(rng, FIRST_DAY, LAST_FILLER_DAY)
        for _ in range(rng.choice((1, 1, 2, 3))):
            episode = Episode(c, chat)
            last = episode.play(at)
            if not episode.open:
                break
            at = episode_gap(rng, last)


def random_leads(c: Company, won: int) -> None:
    rng = c.rng
    for _ in range(won):
        manager = rng.choice(c.managers)
        c.lead(manager, WON, random_instant(rng, FIRST_DAY, LAST_FILLER_DAY))
    for _ in range(3):
        c.lead(rng.choice(c.managers), LOST, random_instant(rng, FIRST_DAY, LAST_FILLER_DAY))


# -- the landing folder ------------------------------------------------------------------


def write_landing(c: Company, landing: Path) -> None:
    landing.mkdir(parents=True, exist_ok=True)
    with (landing / "managers.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(
            ["manager_id", "name", "crm_user_id", "wazzup_channel_ids", "telegram_user_ids",
             "whatsapp_names", "timezone", "active"]
        )  # fmt: skip
        for m in c.managers:
            channels = ";".join(ch.id for ch in m.channels)
            writer.writerow([m.manager_id, m.name, m.crm_user_id, channels, "", m.name,
                             "Europe/Moscow", "true"])  # fmt: skip
    write_webhooks(c, landing / "wazzup")
    (landing / "amocrm").mkdir()
    page = {"_page": 1, "_links": {"self": {"href": "https://demo.amocrm.ru/api/v4/leads"}},
            "_embedded": {"leads": c.leads}}  # fmt: skip
    (landing / "amocrm" / "leads_page_0001.json").write_text(
        json.dumps(page, ensure_ascii=False), encoding="utf-8"
    )


def write_webhooks(c: Company, folder: Path) -> None:
    """Bodies in the order Wazzup POSTs them, one file per Moscow month of the POST: some
    bodies hold two messages, some messages are re-sent (edited, deleted, re-delivered),
    some echoes get delivery statuses."""
    rng = c.rng
    posts: list[tuple[datetime, int, dict[str, Any]]] = []
    for i, record in enumerate(c.records):
        sent = datetime.fromisoformat(record["dateTime"].replace("Z", "+00:00"))
        posts.append((sent, i, {"messages": [record]}))
        r = rng.random()
        later = sent + timedelta(seconds=rng.randrange(20, 1800))
        if r < 0.04:
            edited = record | {"text": "исправлено", "isEdited": True, "oldInfo": {"oldText": "-"}}
            posts.append((later, i, {"messages": [edited]}))
        elif r < 0.06:
            posts.append((later, i, {"messages": [record | {"isDeleted": True}]}))
        elif r < 0.08:
            posts.append((later, i, {"messages": [record]}))  # delivered twice
        elif r < 0.2 and record["isEcho"]:
            status = {"messageId": record["messageId"], "timestamp": record["dateTime"],
                      "status": "delivered"}  # fmt: skip
            posts.append((later, i, {"statuses": [status]}))
    posts.sort(key=lambda p: (p[0], p[1]))
    bodies: list[tuple[datetime, dict[str, Any]]] = []
    for at, _, body in posts:
        previous = bodies[-1][1] if bodies else {}
        ids = {m["messageId"] for m in previous.get("messages", [])}
        batchable = "messages" in body and set(previous) == {"messages"} and len(ids) == 1
        if batchable and body["messages"][0]["messageId"] not in ids and rng.random() < 0.1:
            previous["messages"].append(body["messages"][0])
        else:
            bodies.append((at, body))
    files: dict[str, list[str]] = {}
    for at, body in [(bodies[0][0], {"test": True}), *bodies]:
        month = at.astimezone(MSK).strftime("%Y-%m")
        files.setdefault(month, []).append(json.dumps(body, ensure_ascii=False))
    folder.mkdir()
    for month, lines in files.items():
        (folder / f"{month}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


# -- the build ---------------------------------------------------------------------------


@dataclass
class Generated:
    """The landing folder and what the reference computes from it."""

    company: Company
    landing: Path
    reference: rm.Reference

    def wait_of(self, name: str) -> rm.Wait:
        wait_id = f"wait:wazzup:{self.company.named[name]}"
        return next(w for w in self.reference.waits if w.wait_id == wait_id)

    def dialog_of(self, name: str) -> rm.Dialog:
        dialog_id = self.reference.dialog_of[self.company.named[name]]
        return next(d for d in self.reference.dialogs if d.dialog_id == dialog_id)


@pytest.fixture(scope="session")
def generated(tmp_path_factory) -> Generated:
    return _generate(tmp_path_factory)


_GENERATED: dict[str, Generated] = {}


def _generate(tmp_path_factory) -> Generated:
    """Once a session: for the fixture, or first for the background build."""
    if not _GENERATED:
        company = build_company(SEED)
        landing = tmp_path_factory.mktemp("metric_properties_landing")
        write_landing(company, landing)
        settings = rm.Settings(calendar_exceptions=rm.read_calendar_exceptions(HOLIDAYS))
        _GENERATED["session"] = Generated(company, landing, rm.compute(landing, settings))
    return _GENERATED["session"]


@built_in_background("property_warehouse")
def _start_property_build(request):
    tmp = request.getfixturevalue("tmp_path_factory").mktemp("metric_properties")
    landing = _generate(request.getfixturevalue("tmp_path_factory")).landing
    return _build_property_warehouse, (tmp, landing)


def _build_property_warehouse(tmp: Path, landing: Path) -> Warehouse:
    """The generated landing built by `chatsales run` into its own DuckDB."""
    url = f"duckdb:///{tmp / 'warehouse.duckdb'}"
    env = warehouse_env(tmp, url, landing)
    env.update(DBT_TARGET_PATH=str(tmp / "dbt_target"), DBT_LOG_PATH=str(tmp / "dbt_logs"))
    run_cli_ok(["run"], env)
    return Warehouse(url)


@pytest.fixture(scope="session")
def property_warehouse(warehouse_builds) -> Warehouse:
    return warehouse_builds.result("property_warehouse")


# -- the reference itself, on the scripted cases -------------------------------------------


@pytest.mark.unit
def test_reference_gap_rule_and_runs(generated):
    b = generated
    assert b.dialog_of("gap_exactly_72h") is b.dialog_of("gap_first")
    assert b.dialog_of("gap_72h_plus_1s") is not b.dialog_of("gap_first")
    assert b.wait_of("late_reply_wait").status == "unanswered"
    assert b.dialog_of("late_reply").direction == "outgoing"
    assert b.wait_of("reply_at_72h_wait").response_time_s == 72 * 3600
    run = b.wait_of("run_first")
    assert (run.client_message_count, run.response_time_s) == (3, 1199.75)
    assert b.dialog_of("run_first").owner_manager_id == "m02"
    colleague = b.wait_of("colleague_wait")
    assert (colleague.credited_manager_id, colleague.client_message_count) == ("m03", 2)
    assert colleague.response_time_s == 30 * 60
    assert b.wait_of("unknown_author_wait").credited_manager_id == "m02"


@pytest.mark.unit
def test_reference_dialog_kinds(generated):
    b = generated
    unanswered = b.dialog_of("outreach_unanswered")
    assert (unanswered.direction, unanswered.is_unanswered_outreach) == ("outgoing", True)
    assert unanswered.manager_message_count == 2
    answered = b.dialog_of("outreach_answered")
    assert (answered.direction, answered.owner_manager_id) == ("outgoing", "m03")
    assert not b.wait_of("outreach_wait").is_first_wait
    call = b.dialog_of("missed_call_only")
    assert (call.direction, call.owner_manager_id, call.message_count) == ("incoming", "m04", 1)
    assert b.dialog_of("after_missed_call") is not call
    assert b.dialog_of("unmapped_wait").owner_manager_id == "unassigned"
    assert b.dialog_of("unmapped_by_m02").owner_manager_id == "m02"


@pytest.mark.unit
def test_reference_one_client_on_two_messengers(generated):
    b = generated
    whatsapp, telegram = b.dialog_of("dual_whatsapp"), b.dialog_of("dual_telegram")
    late = b.dialog_of("dual_late_phone")
    assert whatsapp.client_id == telegram.client_id == late.client_id
    assert (whatsapp.is_new_client, telegram.is_new_client, late.is_new_client) == (
        True, False, False,
    )  # fmt: skip


@pytest.mark.unit
@pytest.mark.parametrize(
    ("name", "calendar_s", "business_s"),
    [
        ("friday_evening", (2 * 24 + 15 + 15 / 60) * 3600, 900),
        ("saturday", 3600, 0),
        ("before_opening", 1500, 900),
        ("sla_exact", 900, 900),
        ("sla_missed", 900.001, 900.001),
        ("working_saturday", (4 * 24 + 16) * 3600, 1800 + 9 * 3600 + 1800),
        ("new_year", (13 * 24 - 7) * 3600, 3600 + 3600),
        ("night", 10 * 3600, 1800),
    ],
)
def test_reference_business_seconds(generated, name, calendar_s, business_s):
    wait = generated.wait_of(name)
    assert wait.status == "answered"
    assert math.isclose(wait.response_time_s, calendar_s, abs_tol=1e-6)
    assert math.isclose(wait.business_response_time_s, business_s, abs_tol=1e-6)


@pytest.mark.unit
def test_reference_periods_and_end_of_data(generated):
    b = generated
    tz = b.reference.settings.timezone
    assert rm.period_start(b.wait_of("new_years_eve_2330").started_at, "day", tz) == date(
        2025, 12, 31
    )
    assert rm.period_start(b.wait_of("after_midnight_0010").started_at, "day", tz) == date(
        2025, 12, 17
    )
    assert rm.period_start(b.wait_of("month_end_235959").started_at, "month", tz) == date(
        2025, 11, 1
    )
    assert max(m.sent_at for m in b.reference.messages) == END
    statuses = {
        name: b.wait_of(name).status
        for name in ("pending_2d", "pending_exactly_72h", "unanswered_72h_1s",
                     "unanswered_then_new_dialog", "pending_after_answer")
    }  # fmt: skip
    assert statuses == {
        "pending_2d": "pending", "pending_exactly_72h": "pending",
        "unanswered_72h_1s": "unanswered", "unanswered_then_new_dialog": "unanswered",
        "pending_after_answer": "pending",
    }  # fmt: skip
    assert b.dialog_of("pending_outreach").is_unanswered_outreach


@pytest.mark.unit
def test_generated_data_is_rich(generated):
    """The random part, too, holds every kind of case (guards the generator)."""
    ref = generated.reference
    named = set(generated.company.named.values())
    random_waits = [w for w in ref.waits if w.wait_id.split(":")[-1] not in named]
    assert 200 <= len(ref.messages) <= 1500
    assert {w.status for w in random_waits} >= {"answered", "unanswered"}
    assert any(w.credited_manager_id != d.owner_manager_id for w, d in _with_dialogs(ref))
    assert any(w.client_message_count > 1 for w in random_waits)
    assert any(d.is_unanswered_outreach for d in ref.dialogs)
    assert any(w.response_time_s == 900 for w in random_waits)
    assert sum(d.is_new_client for d in ref.dialogs) < len({d.chat_id for d in ref.dialogs})
    kinds = {m.sender_kind for m in ref.messages}
    assert kinds == {"client", "manager", "automation", "system"}


def _with_dialogs(ref: rm.Reference) -> list[tuple[rm.Wait, rm.Dialog]]:
    by_id = {d.dialog_id: d for d in ref.dialogs}
    return [(w, by_id[w.dialog_id]) for w in ref.waits]


# -- comparing rows ----------------------------------------------------------------------


def same(expected: Any, actual: Any) -> bool:
    if expected is None or actual is None:
        return expected is actual
    if isinstance(expected, float) or isinstance(actual, float):
        return math.isclose(expected, actual, rel_tol=0, abs_tol=TOLERANCE)
    return expected == actual


def label(key: Any) -> str:
    return " ".join(map(str, key)) if isinstance(key, tuple) else str(key)


def assert_same_rows(what: str, expected: dict[Any, dict], actual: dict[Any, dict]) -> None:
    """Row by row, by key; the message shows the first differing rows, both sides."""
    problems = []
    for key in sorted(expected.keys() | actual.keys(), key=label):
        want, got = expected.get(key), actual.get(key)
        if want is None or got is None:
            problems.append(f"{label(key)}: expected row {want}\n  actual row {got}")
            continue
        columns = [col for col in want if not same(want[col], got[col])]
        if columns:
            diffs = ", ".join(
                f"{col} expected {want[col]!r} actual {got[col]!r}" for col in columns
            )
            problems.append(f"{label(key)}: {diffs}\n  expected row {want}\n  actual row {got}")
    assert not problems, (
        f"{what}: {len(problems)} of {len(expected)} rows differ from the reference; "
        "first ones:\n" + "\n".join(problems[:5])
    )


def epoch_ms(at: datetime | None) -> int | None:
    return None if at is None else round(at.timestamp() * 1000)


def warehouse_rows(warehouse: Warehouse, sql: str, key_width: int = 1) -> dict[Any, dict]:
    """Rows of a query as {key: {column: value}}, keyed by the first `key_width` columns."""
    with connect(warehouse) as conn:
        cursor = conn.execute(sql)
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    out = {}
    for row in rows:
        record = dict(zip(names, row, strict=True))
        key = row[0] if key_width == 1 else tuple(row[:key_width])
        out[key] = {n: record[n] for n in names[key_width:]}
    return out


DIALOG_COLUMNS = [
    "chat_id", "channel", "client_id", "owner_manager_id", "direction", "is_new_client",
    "is_unanswered_outreach", "client_message_count", "manager_message_count",
    "message_count",
]  # fmt: skip
WAIT_COLUMNS = [
    "dialog_id", "chat_id", "channel", "client_id", "credited_manager_id",
    "replied_by_manager_id", "reply_message_id", "status", "is_first_wait",
    "client_message_count", "response_time_s", "business_response_time_s",
]  # fmt: skip
METRIC_COLUMNS = [
    "new_dialogs", "new_dialogs_incoming", "new_dialogs_outgoing", "new_clients",
    "unanswered_outreach", "dialogs_owned", "dialogs_participated", "messages_sent",
    "messages_received", "messages_per_dialog", "messages_per_dialog_median",
    "waits", "waits_answered", "waits_unanswered", "waits_pending",
    "waits_answered_within_sla", "sla_share",
    "response_time_mean_s", "response_time_median_s", "response_time_p90_s",
    "first_response_time_median_s", "business_response_time_mean_s",
    "business_response_time_median_s", "business_response_time_p90_s",
    "business_first_response_time_median_s",
    "won_deals", "conversion_rate", "conversion_ci_low", "conversion_ci_high",
]  # fmt: skip
GRAINS = ["day", "week", "month"]


@pytest.mark.warehouse
def test_dialogs_match_the_reference(generated, property_warehouse):
    ref = generated.reference
    expected = {
        d.dialog_id: {c: getattr(d, c) for c in DIALOG_COLUMNS}
        | {"started_at": epoch_ms(d.started_at), "ended_at": epoch_ms(d.ended_at)}
        for d in ref.dialogs
    }
    actual = warehouse_rows(
        property_warehouse,
        f"select dialog_id, {', '.join(DIALOG_COLUMNS)}, epoch_ms(started_at) as started_at, "
        "epoch_ms(ended_at) as ended_at from marts.fct_dialogs",
    )
    assert_same_rows("fct_dialogs", expected, actual)


@pytest.mark.warehouse
def test_waits_match_the_reference(generated, property_warehouse):
    ref = generated.reference
    expected = {
        w.wait_id: {c: getattr(w, c) for c in WAIT_COLUMNS}
        | {"started_at": epoch_ms(w.started_at), "replied_at": epoch_ms(w.replied_at)}
        | {"open_until": epoch_ms(w.open_until)}
        for w in ref.waits
    }
    actual = warehouse_rows(
        property_warehouse,
        f"select wait_id, {', '.join(WAIT_COLUMNS)}, epoch_ms(started_at) as started_at, "
        "epoch_ms(replied_at) as replied_at, epoch_ms(open_until) as open_until "
        "from marts.fct_waits",
    )
    assert_same_rows("fct_waits", expected, actual)


def mart_rows(warehouse: Warehouse, grain: str, columns: list[str]) -> dict[Any, dict]:
    return warehouse_rows(
        warehouse,
        f"select grain, period_start, manager_id, {', '.join(columns)} "
        f"from marts.mart_manager_metrics where channel = 'all' and grain = '{grain}'",
        key_width=3,
    )


@pytest.mark.warehouse
@pytest.mark.parametrize("grain", GRAINS)
def test_manager_metrics_match_the_reference(generated, property_warehouse, grain):
    """Every metric of every manager and the team; a row one side lacks reads as a period
    without activity (its row set is checked below, with peak concurrency)."""
    reference = rm.manager_metrics(generated.reference, [grain])
    actual = mart_rows(property_warehouse, grain, METRIC_COLUMNS)
    empty = rm.metrics_of(rm.PeriodFacts(), generated.reference.settings)
    expected = {
        key: {c: reference.get(key, empty)[c] for c in METRIC_COLUMNS}
        for key in reference.keys() | actual.keys()
    }
    for key in expected.keys() - actual.keys():
        actual[key] = {c: empty[c] for c in METRIC_COLUMNS}
    assert_same_rows(f"mart_manager_metrics ({grain}, channel 'all')", expected, actual)


@pytest.mark.warehouse
@pytest.mark.parametrize("grain", GRAINS)
def test_peak_concurrency_and_row_set_match_the_reference(generated, property_warehouse, grain):
    """A row per period with any activity, an open wait included; the day's peak of
    dialogs waiting at one moment, the highest day at longer grains."""
    column = "peak_concurrent_dialogs"
    reference = rm.manager_metrics(generated.reference, [grain])
    expected = {key: {column: row[column]} for key, row in reference.items()}
    actual = mart_rows(property_warehouse, grain, [column])
    assert_same_rows(f"mart_manager_metrics ({grain}, channel 'all') {column}", expected, actual)
