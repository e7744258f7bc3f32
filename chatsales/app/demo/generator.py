"""`generate_demo`: the whole demo landing folder from one seed."""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

from . import amocrm, contacts
from .clock import local_day, month_starts
from .company import Manager, build_managers
from .timeline import Simulator, plan_dialogs
from .wazzup import write_wazzup

MANAGERS_HEADER = (
    "manager_id",
    "name",
    "crm_user_id",
    "wazzup_channel_ids",
    "telegram_user_ids",
    "whatsapp_names",
    "timezone",
    "active",
)
# The demo company's hypotheses (dated events and what each should move), as the head of sales
# would enter them: the stories of stories.py they match are measured in mart_interventions.
INTERVENTIONS_HEADER = (
    "intervention_id", "event_date", "manager_id", "kind", "title", "description",
    "expected_metric", "expected_direction",
)  # fmt: skip
INTERVENTIONS = (
    ("m01_objection_script", "2026-03-02", "m01", "script", "New 'too expensive' objection script",
     "Алексей (m01) answers price objections with the new script from today.",
     "conversion_rate", "up"),
    ("campaign_june_2026", "2026-06-01", "all", "campaign", "June ad campaign",
     "Targeted ads (deal tag акция-июнь) bring a flood of cold leads for the whole of June, "
     "handled by m01, m02, m07 and m08.", "new_dialogs", "up"),
    ("campaign_june_2026_end", "2026-07-01", "all", "campaign", "June ad campaign ends",
     "The June ads are switched off: back to the usual warm traffic.", "conversion_rate", "up"),
    ("m03_extra_traffic", "2026-09-01", "m03", "team_change", "m03 takes over extra traffic",
     "Дмитрий (m03) takes over a second inbound line on top of his own: about twice his usual "
     "dialogs.", "new_dialogs", "up"),
    ("m04_new_crm", "2026-09-01", "m04", "other", "m04 moved to the new CRM",
     "Елена (m04) works in the new CRM from today; her traffic stays the same.",
     "response_time_median_s", "down"),
)  # fmt: skip
OWNED_GLOBS = (
    "managers.csv",
    "interventions.csv",
    "wazzup/[0-9][0-9][0-9][0-9]-[0-9][0-9].jsonl",
    "amocrm/leads_page_[0-9][0-9][0-9][0-9].json",
    "amocrm/users.json",
    "amocrm/contacts_page_[0-9][0-9][0-9][0-9].json",
)


@dataclass(frozen=True)
class DemoSummary:
    managers: int
    dialogs: int
    messages: int
    webhook_bodies: int
    leads: int
    won_leads: int
    contacts: int
    files_written: int
    first_day: str  # of the simulated months (Moscow): where the demo's history starts


def generate_demo(
    landing: Path, seed: int = 42, scale: float = 1.0, months: int = 16
) -> DemoSummary:
    """(Re)write the demo files under `landing`; same arguments give byte-identical files."""
    if scale <= 0 or months < 1:
        raise ValueError("scale must be > 0 and months >= 1")
    landing = Path(landing)
    for pattern in OWNED_GLOBS:
        for path in landing.glob(pattern):
            path.unlink()
    landing.mkdir(parents=True, exist_ok=True)

    rng = random.Random(seed)
    bounds = month_starts(months)
    managers = build_managers(rng)
    files = [_write_managers(landing / "managers.csv", managers)]
    files.append(_write_interventions(landing / "interventions.csv"))

    plans = plan_dialogs(managers, rng, scale, months)
    sim = Simulator(rng, months, bounds[-1])
    channels = [c for m in managers for c in m.channels]
    bodies, wazzup_files = write_wazzup(landing / "wazzup", channels, bounds[0], sim.events(plans))
    files += wazzup_files

    wins = amocrm.plan_wins(rng, managers, sim.dialogs, scale, months)
    leads = amocrm.build_leads(rng, managers, sim.dialogs, wins, bounds)
    files += amocrm.write_leads(landing / "amocrm", leads)
    files.append(amocrm.write_users(landing / "amocrm", managers))
    chats = [chat for channel_chats in sim.chats.values() for chat in channel_chats]
    people = contacts.build_contacts(rng, leads, sim.people.clients, chats, bounds[-1] // 1000)
    files += contacts.write_contacts(landing / "amocrm", people)
    return DemoSummary(
        managers=len(managers),
        dialogs=len(sim.dialogs),
        messages=sim.messages,
        webhook_bodies=bodies,
        leads=len(leads),
        won_leads=sum(lead["status_id"] == amocrm.WON for lead in leads),
        contacts=len(people),
        files_written=len(files),
        first_day=local_day(bounds[0]),
    )


def _write_interventions(path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(INTERVENTIONS_HEADER)
        writer.writerows(INTERVENTIONS)
    return path


def _write_managers(path: Path, managers: list[Manager]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(MANAGERS_HEADER)
        for m in managers:
            first = m.name.split()[0]
            writer.writerow(
                [
                    m.manager_id,
                    m.name,
                    m.crm_user_id,
                    ";".join(c.id for c in m.channels),
                    m.telegram_user_id,
                    f"{m.name};{first} Уют",
                    "Europe/Moscow",
                    "true",
                ]
            )
    return path
