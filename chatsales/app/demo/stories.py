"""The demo company's plan at a glance: every planted story, at scale 1.0.

Months are numbered 1..`months` from START (Moscow time); "last" means month `months`.
The generator turns these numbers into chats and deals; tests recompute them from the files.
"""

from __future__ import annotations

from dataclasses import dataclass

START_YEAR, START_MONTH = 2025, 7  # month 1 = 2025-07; 16 months run through 2026-10
DIALOG_GAP_HOURS = 72  # a chat silent this long starts a new dialog (dbt var dialog_gap_hours)

# Story 3: team conversion (won deals closed in the month / dialogs started in the month).
TEAM_CONVERSION = 0.12
DIP_MONTH = 12  # 2026-06: an ad campaign floods the team with cold dialogs ...
DIP_CONVERSION = 0.07  # ... so conversion dips, then recovers
CAMPAIGN_COLD_SHARE = 0.5  # cold dialogs added in DIP_MONTH, as a share of the normal volume
CAMPAIGN_MANAGERS = ("m01", "m02", "m07", "m08")  # who takes them (keeps m03..m06 stories clean)

# Stories 1 and 2: won deals per month, first -> last month, linear in between.
WON_TRENDS = {"m01": (15.0, 40.0), "m02": (90.0, 60.0)}
DIALOG_TRENDS = {"m01": (130.0, 260.0), "m02": (360.0, 320.0)}

# Stories 4 and 5: in the last LATE_MONTHS months m03 gets twice the dialogs and answers twice
# as slowly (overload); m04 answers twice as slowly with the same load (slowdown).
LATE_MONTHS = 2
OVERLOADED, SLOWED = "m03", "m04"
LATE_FACTOR = 2.0

# Month-to-month wobble (relative, uniform +-) on every manager's dialogs and planted wins.
DIALOG_NOISE = 0.08
WON_NOISE = 0.05
CONVERSION_NOISE = 0.04  # team conversion 12% wobbles by +-0.5 points

# Dialog mix.
OUTGOING_SHARE = 0.20  # manager writes first
OUTREACH_UNANSWERED = 0.30  # share of outgoing dialogs the client never answers
RETURNING_SHARE = 0.12  # new dialog in an old chat (after > DIALOG_GAP_HOURS of silence)
DUAL_CHANNEL_SHARE = 0.15  # new Telegram clients already known by phone from WhatsApp/Viber


@dataclass(frozen=True)
class Profile:
    """One sales manager; story 6 lives in `messages` (m05 too few, m06 too many)."""

    manager_id: str
    name: str
    email: str
    transports: tuple[str, str]  # the two Wazzup channels, busiest first
    dialogs: float  # new dialogs per month
    messages: float  # mean manager messages per answered dialog
    response_min: float  # median response time, minutes


PROFILES = (
    Profile("m01", "Алексей Смирнов", "a.smirnov", ("whatsapp", "telegram"), 130, 9, 4),
    Profile("m02", "Мария Кузнецова", "m.kuznetsova", ("whatsapp", "instagram"), 360, 8, 3),
    Profile("m03", "Дмитрий Попов", "d.popov", ("whatsapp", "viber"), 170, 7, 6),
    Profile("m04", "Елена Васильева", "e.vasilyeva", ("whatsapp", "telegram"), 170, 10, 5),
    Profile("m05", "Сергей Новиков", "s.novikov", ("whatsapp", "telegram"), 160, 2.6, 7),
    Profile("m06", "Ольга Морозова", "o.morozova", ("telegram", "viber"), 100, 30, 3),
    Profile("m07", "Игорь Волков", "i.volkov", ("whatsapp", "instagram"), 160, 11, 5),
    Profile("m08", "Анна Соколова", "a.sokolova", ("whatsapp", "telegram"), 160, 8, 8),
)


def linear(first: float, last: float, month: int, months: int) -> float:
    return first if months == 1 else first + (last - first) * (month - 1) / (months - 1)


def is_late(month: int, months: int) -> bool:
    return month > months - LATE_MONTHS


def dialogs_per_month(p: Profile, month: int, months: int) -> float:
    if p.manager_id in DIALOG_TRENDS:
        return linear(*DIALOG_TRENDS[p.manager_id], month, months)
    if p.manager_id == OVERLOADED and is_late(month, months):
        return p.dialogs * LATE_FACTOR
    return p.dialogs


def won_per_month(p: Profile, month: int, months: int) -> float | None:
    """Planted won deals, or None: the others share what the team conversion leaves."""
    trend = WON_TRENDS.get(p.manager_id)
    return None if trend is None else linear(*trend, month, months)


def response_minutes(p: Profile, month: int, months: int) -> float:
    late = p.manager_id in (OVERLOADED, SLOWED) and is_late(month, months)
    return p.response_min * (LATE_FACTOR if late else 1.0)


def team_conversion(month: int) -> float:
    return DIP_CONVERSION if month == DIP_MONTH else TEAM_CONVERSION
