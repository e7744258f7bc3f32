"""Dialog simulation: plans every dialog of every month, then plays them out in time order.

`Simulator.events()` yields `(post_ms, seq, kind, message, extra)` tuples in the order Wazzup
would POST them (kind: message, status, edit, delete), holding only open dialogs in memory.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from . import stories, texts
from .clock import HOUR_MS, MonthDays, local_hour, month_starts, next_nine
from .company import Chat, Client, Manager, People, new_uuid

Event = tuple[int, int, str, "Message", str]
GAP_MS = stories.DIALOG_GAP_HOURS * HOUR_MS


@dataclass(slots=True, order=True)
class DialogPlan:
    start_ms: int
    order: int  # tie-break, keeps sorting deterministic
    month: int = field(compare=False)
    manager: Manager = field(compare=False)
    kind: str = field(compare=False)  # in | out | cold (campaign)


@dataclass(slots=True)
class DialogRef:
    """What the CRM side needs to know about a dialog."""

    manager_id: str
    month: int
    start_ms: int
    client: Client
    transport: str
    kind: str
    product: int


@dataclass(slots=True)
class Message:
    id: str
    ms: int
    chat: Chat
    echo: bool
    author: Manager | None  # None for clients and for echoes sent from the phone
    type: str = "text"
    text: str | None = None
    file: str | None = None
    inst_post: bool = False


def plan_dialogs(
    managers: list[Manager], rng: random.Random, scale: float, months: int
) -> list[DialogPlan]:
    bounds = month_starts(months)
    campaign = [m for m in managers if m.manager_id in stories.CAMPAIGN_MANAGERS]
    plans: list[DialogPlan] = []
    for month in range(1, months + 1):
        days = MonthDays(bounds[month - 1], bounds[month])
        wobble = stories.DIALOG_NOISE
        normal = [
            round(
                stories.dialogs_per_month(m.profile, month, months)
                * scale
                * rng.uniform(1 - wobble, 1 + wobble)
            )
            for m in managers
        ]
        cold = 0
        if month == stories.DIP_MONTH:
            cold = round(sum(normal) * stories.CAMPAIGN_COLD_SHARE)
        for manager, count in zip(managers, normal, strict=True):
            for _ in range(count):
                kind = "out" if rng.random() < stories.OUTGOING_SHARE else "in"
                start = days.pick(rng, working_only=kind == "out")
                plans.append(DialogPlan(start, len(plans), month, manager, kind))
        for i in range(cold):
            manager = campaign[i % len(campaign)]
            plans.append(DialogPlan(days.pick(rng), len(plans), month, manager, "cold"))
    plans.sort()
    return plans


class Simulator:
    def __init__(self, rng: random.Random, months: int, end_ms: int) -> None:
        self.rng, self.months, self.end_ms = rng, months, end_ms
        self.people = People(rng)
        self.chats: dict[str, list[Chat]] = {}
        self.heap: list[Event] = []
        self.seq = 0
        self.messages = 0
        self.dialogs: list[DialogRef] = []

    def events(self, plans: list[DialogPlan]) -> Iterator[Event]:
        heap = self.heap
        for plan in plans:
            while heap and heap[0][0] <= plan.start_ms:
                yield heapq.heappop(heap)
            self._dialog(plan)
        while heap:
            yield heapq.heappop(heap)

    # -- plumbing ------------------------------------------------------------------------
    def _push(self, ms: int, kind: str, message: Message, extra: str = "") -> None:
        if ms < self.end_ms:
            self.seq += 1
            heapq.heappush(self.heap, (ms, self.seq, kind, message, extra))

    def _emit(self, message: Message) -> None:
        if message.ms >= self.end_ms:
            return
        self.messages += 1
        self._push(message.ms, "message", message)
        rng, r = self.rng, self.rng.random()
        if r < 0.010 and message.text:  # ~1% edited
            suffix = rng.choice(texts.EDIT_SUFFIXES)
            self._push(message.ms + rng.randrange(20_000, 600_000), "edit", message, suffix)
        elif 0.010 <= r < 0.013 and message.type != "missing_call":  # ~0.3% deleted
            self._push(message.ms + rng.randrange(10_000, 1_800_000), "delete", message)
        elif message.echo and 0.013 <= r < 0.16:  # delivery/read receipts for a sample
            delivered = message.ms + rng.randrange(800, 6000)
            self._push(delivered, "status", message, "delivered")
            read = delivered + int(rng.lognormvariate(math.log(240_000), 1.2))
            self._push(read, "status", message, "read")

    def _chat(self, plan: DialogPlan) -> Chat:
        rng = self.rng
        channels = plan.manager.channels
        channel = channels[0] if rng.random() < 0.65 else channels[1]
        chats = self.chats.setdefault(channel.id, [])
        if chats and rng.random() < stories.RETURNING_SHARE:
            for _ in range(4):
                chat = rng.choice(chats)
                if chat.last_ms < plan.start_ms - GAP_MS - HOUR_MS:
                    return chat
        chat = self.people.new_chat(channel)
        chats.append(chat)
        return chat

    # -- one dialog ----------------------------------------------------------------------
    def _dialog(self, plan: DialogPlan) -> None:
        rng, manager = self.rng, plan.manager
        chat = self._chat(plan)
        product = rng.randrange(len(texts.PRODUCTS))
        self.dialogs.append(
            DialogRef(
                manager.manager_id,
                plan.month,
                plan.start_ms,
                chat.client,
                chat.channel.transport,
                plan.kind,
                product,
            )
        )
        d = _Dialog(self, plan, chat, product)
        d.play()
        chat.last_ms = d.last_ms
        for message in d.out:
            self._emit(message)


class _Dialog:
    """Plays one dialog: alternating client runs (waits) and manager reply runs."""

    def __init__(self, sim: Simulator, plan: DialogPlan, chat: Chat, product: int) -> None:
        self.rng, self.plan, self.chat = sim.rng, plan, chat
        self.manager = plan.manager
        self.median_s = stories.response_minutes(self.manager.profile, plan.month, sim.months) * 60
        self.product = texts.PRODUCTS[product]
        self.out: list[Message] = []
        self.last_ms = plan.start_ms
        self.greeted = False

    def play(self) -> None:
        rng, kind = self.rng, self.plan.kind
        mean = self.manager.profile.messages
        remaining = (
            rng.choice((1, 1, 2)) if kind == "cold" else max(1, round(rng.gauss(mean, 0.35 * mean)))
        )
        if kind == "out":
            self._manager_run(self.plan.start_ms, 1, opener=True)
            remaining -= 1
            if rng.random() < stories.OUTREACH_UNANSWERED:
                if rng.random() < 0.3:  # a reminder the next day, still no answer
                    self._manager_run(self.last_ms + rng.randrange(20 * HOUR_MS, 30 * HOUR_MS), 1)
                return
            if remaining == 0:
                remaining = 1
            wait = self._client_run(self.last_ms + self._client_delay())
        else:
            wait = self._client_run(self.plan.start_ms, opener=True)
            if rng.random() < 0.02:  # nobody ever answers this client
                return
        while remaining > 0:
            k = min(remaining, rng.choices((1, 2, 3), (6, 3, 1))[0])
            self._manager_run(self._reply_at(wait), k, opener=not self.greeted)
            remaining -= k
            if remaining:
                wait = self._client_run(self.last_ms + self._client_delay())
        if rng.random() < 0.10:  # a closing "thank you" nobody answers
            self._client_run(self.last_ms + self._client_delay(), thanks=True)

    def _reply_at(self, wait_ms: int) -> int:
        rng = self.rng
        base = wait_ms
        hour = local_hour(wait_ms)
        if (hour >= 22 or hour < 8) and rng.random() < 0.6:
            base = next_nine(wait_ms)  # answered in the morning
        delay = min(rng.lognormvariate(math.log(self.median_s), 0.8), 12 * 3600.0)
        return max(base + int(delay * 1000), self.last_ms + rng.randrange(3000, 20_000))

    def _client_delay(self) -> int:
        rng = self.rng
        if rng.random() < 0.10:
            return rng.randrange(2 * HOUR_MS, 40 * HOUR_MS)
        return int(min(rng.lognormvariate(math.log(720), 1.1), 6 * 3600.0) * 1000)

    def _add(self, ms: int, echo: bool, author: Manager | None, **kw: object) -> None:
        self.out.append(Message(new_uuid(self.rng), ms, self.chat, echo, author, **kw))
        self.last_ms = ms

    def _client_run(self, ms: int, opener: bool = False, thanks: bool = False) -> int:
        rng = self.rng
        if not opener and rng.random() < 0.04:  # called first, then wrote
            self._add(
                max(self.last_ms + 1000, ms - rng.randrange(10_000, 60_000)),
                False,
                None,
                type="missing_call",
            )
        first = ms
        for i in range(rng.choices((1, 2, 3), (55, 30, 15))[0] if not thanks else 1):
            if opener and i == 0:
                text = rng.choice(texts.CLIENT_OPENERS).format(p=self.product[0])
                inst = self.chat.channel.transport == "instagram" and rng.random() < 0.2
                self._add(ms, False, None, text=text, inst_post=inst)
            elif not thanks and rng.random() < 0.06:
                self._add(ms, False, None, type="image", file=rng.choice(texts.IMAGE_FILES))
            else:
                pool = texts.CLIENT_THANKS if thanks else texts.CLIENT_PHRASES
                self._add(ms, False, None, text=rng.choice(pool))
            ms += rng.randrange(4000, 45_000)
        return first

    def _manager_run(self, ms: int, count: int, opener: bool = False) -> None:
        rng, manager, p = self.rng, self.manager, self.product
        self.greeted = True
        for i in range(count):
            author = manager if rng.random() >= 0.10 else None  # ~10% typed on the phone
            r = rng.random()
            if opener and i == 0:
                pool = texts.MANAGER_OUTREACH if self.plan.kind == "out" else texts.MANAGER_OPENERS
                text = rng.choice(pool).format(
                    n=self.chat.client.name.split()[0],
                    m=manager.name.split()[0],
                    p=p[0],
                    P=p[0].capitalize(),
                    price=f"{p[2]:,}".replace(",", " "),
                )
                self._add(ms, True, author, text=text)
            elif r < 0.03:
                self._add(ms, True, author, type="document", file=rng.choice(texts.DOCUMENT_FILES))
            elif r < 0.06:
                self._add(ms, True, author, type="image", file=rng.choice(texts.IMAGE_FILES))
            else:
                self._add(ms, True, author, text=rng.choice(texts.MANAGER_PHRASES))
            ms += rng.randrange(8000, 90_000)
