"""amoCRM API v4 bodies: deals planned from the stories, linked to the simulated dialogs."""

from __future__ import annotations

import json
import math
import random
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import texts
from .company import TRANSPORT_LABELS, Manager
from .stories import (
    CONVERSION_NOISE,
    LATE_MONTHS,
    WON_NOISE,
    team_conversion,
    won_per_month,
)
from .timeline import DialogRef

BASE = "https://uyut-demo.amocrm.ru"
ACCOUNT_ID = 31000001
ADMIN_ID = 8100090
PAGE_SIZE = 250
WON, LOST = 142, 143
PIPELINES = {7000001: (61000001, 61000002, 61000003, 61000004), 7000002: (62000001, 62000002)}
OPEN_STATUSES = frozenset(s for stages in PIPELINES.values() for s in stages)
SOURCE_ENUMS = {"WhatsApp": 500001, "Telegram": 500002, "Viber": 500003, "Instagram": 500004}
MINUTE = 60
SECOND_CONTACT_OFFSET = 900000  # a lead's second contact: the client's id + this


def plan_wins(
    rng: random.Random,
    managers: list[Manager],
    dialogs: list[DialogRef],
    scale: float,
    months: int,
) -> dict[tuple[str, int], int]:
    """Won deals per (manager, month): m01/m02 follow their trends, the rest of the team
    fills up to the month's team conversion, shared in proportion to their warm dialogs."""
    total = Counter(d.month for d in dialogs)
    warm = Counter((d.manager_id, d.month) for d in dialogs if d.kind != "cold")
    wins: dict[tuple[str, int], int] = {}
    for month in range(1, months + 1):
        wobble = rng.uniform(1 - CONVERSION_NOISE, 1 + CONVERSION_NOISE)
        target = round(team_conversion(month) * wobble * total[month])
        rest: list[Manager] = []
        for m in managers:
            planted = won_per_month(m.profile, month, months)
            if planted is None:
                rest.append(m)
            else:
                wobble = rng.uniform(1 - WON_NOISE, 1 + WON_NOISE)
                wins[m.manager_id, month] = round(planted * scale * wobble)
                target -= wins[m.manager_id, month]
        weights = [warm[m.manager_id, month] for m in rest]
        shares = [max(target, 0) * w / (sum(weights) or 1) for w in weights]
        floors = [math.floor(s) for s in shares]
        order = sorted(range(len(rest)), key=lambda i: (floors[i] - shares[i], i))
        for i in order[: max(target, 0) - sum(floors)]:
            floors[i] += 1
        for m, n in zip(rest, floors, strict=True):
            wins[m.manager_id, month] = n
    return wins


def build_leads(
    rng: random.Random,
    managers: list[Manager],
    dialogs: list[DialogRef],
    wins: dict[tuple[str, int], int],
    bounds: list[int],
) -> list[dict[str, Any]]:
    """Won and lost deals close inside the month of their dialog; open deals stay open."""
    end_s, months = bounds[-1] // 1000, len(bounds) - 1
    crm_ids = {m.manager_id: m.crm_user_id for m in managers}
    by_key: dict[tuple[str, int], list[DialogRef]] = defaultdict(list)
    for d in dialogs:
        by_key[d.manager_id, d.month].append(d)
    rows: list[tuple[int, int, int | None, int, DialogRef]] = []  # created, status, closed
    for (manager_id, month), refs in sorted(by_key.items()):
        month_end = bounds[month] // 1000
        warm = [d for d in refs if d.kind != "cold"]
        cold = [d for d in refs if d.kind == "cold"]
        rng.shuffle(warm)

        def take(n: int, pool: list[DialogRef], refs: list[DialogRef] = refs) -> list[DialogRef]:
            got = [pool.pop() for _ in range(min(n, len(pool)))]
            return got + [rng.choice(refs) for _ in range(n - len(got))]

        won = take(wins.get((manager_id, month), 0), warm)
        lost = take(round(len(won) * rng.uniform(0.7, 1.0)), warm) + cold[::7]
        late = month > months - LATE_MONTHS
        opened = take(round(len(refs) * (0.10 if late else 0.02)), warm)
        for status, picked in ((WON, won), (LOST, lost), (0, opened)):
            for d in picked:
                created = min(
                    d.start_ms // 1000 + rng.randrange(2 * MINUTE, 180 * MINUTE),
                    month_end - 10 * MINUTE,
                )
                closed: int | None = None
                if status:
                    delay, room = rng.lognormvariate(math.log(2 * 86400), 1.0), month_end - created
                    if delay >= room:  # must close inside its month
                        delay = room * rng.uniform(0.2, 0.99)
                    closed = created + max(MINUTE, int(delay))
                    updated = closed
                else:
                    updated = created + int((end_s - 1 - created) * rng.random() ** 3)
                rows.append((created, status, closed, updated, d))
    rows.sort(key=lambda r: (r[0], r[4].start_ms))
    leads = [_lead(rng, 3000001 + i, crm_ids, *row) for i, row in enumerate(rows)]
    leads.sort(key=lambda lead: (lead["updated_at"], lead["id"]))
    return leads


def _lead(
    rng: random.Random,
    lead_id: int,
    crm_ids: dict[str, int],
    created: int,
    status: int,
    closed: int | None,
    updated: int,
    d: DialogRef,
) -> dict[str, Any]:
    word, title, price = texts.PRODUCTS[d.product]
    pipeline = 7000002 if rng.random() < 0.08 else 7000001
    if status not in (WON, LOST):
        status = rng.choice(PIPELINES[pipeline])
    amount = int(price * rng.lognormvariate(0, 0.3) * (6 if pipeline == 7000002 else 1)) // 100
    user = crm_ids[d.manager_id]
    source = TRANSPORT_LABELS[d.transport]
    fields = (
        None
        if rng.random() < 0.15
        else [
            {
                "field_id": 900101,
                "field_name": "Источник",
                "field_code": None,
                "field_type": "select",
                "values": [{"value": source, "enum_id": SOURCE_ENUMS[source], "enum_code": None}],
            }
        ]
    )
    tags = [{"id": 9001, "name": "wazzup", "color": None}] if rng.random() < 0.7 else []
    if d.kind == "cold":
        tags.append({"id": 9002, "name": "акция-июнь", "color": None})
    contacts = [d.client.contact_id] + (
        [d.client.contact_id + SECOND_CONTACT_OFFSET] if rng.random() < 0.03 else []
    )
    return {
        "id": lead_id,
        "name": f"{title} {d.client.name}",
        "price": 0 if status == LOST and rng.random() < 0.5 else amount * 100,
        "responsible_user_id": user,
        "group_id": 0,
        "status_id": status,
        "pipeline_id": pipeline,
        "loss_reason_id": rng.choice(texts.LOSS_REASONS) if status == LOST else None,
        "created_by": user,
        "updated_by": user,
        "created_at": created,
        "updated_at": updated,
        "closed_at": closed,
        "closest_task_at": None if closed else updated + rng.randrange(86400, 7 * 86400),
        "is_deleted": False,
        "custom_fields_values": fields,
        "score": None,
        "account_id": ACCOUNT_ID,
        "labor_cost": None,
        "_links": {"self": {"href": f"{BASE}/api/v4/leads/{lead_id}?with=contacts"}},
        "_embedded": {
            "tags": tags,
            "companies": [],
            "contacts": [
                {
                    "id": c,
                    "is_main": i == 0,
                    "_links": {"self": {"href": f"{BASE}/api/v4/contacts/{c}?with=contacts"}},
                }
                for i, c in enumerate(contacts)
            ],
        },
    }


LEADS_QUERY = "with=contacts&order%5Bupdated_at%5D=asc&limit=250"


def _page_href(resource: str, query: str, page: int) -> dict[str, str]:
    return {"href": f"{BASE}/api/v4/{resource}?{query}&page={page}"}


def write_pages(
    folder: Path,
    resource: str,
    query: str,
    items: list[dict[str, Any]],
    on_page: Callable[[dict[str, Any], int], None] | None = None,
) -> list[Path]:
    """`<resource>_page_0001.json`, ...: one file per API page of PAGE_SIZE items (an empty
    result is HTTP 204: no file at all). `on_page(item, page)` may adjust items first."""
    folder.mkdir(parents=True, exist_ok=True)
    pages = math.ceil(len(items) / PAGE_SIZE)
    files = []
    for page in range(1, pages + 1):
        links = {"self": _page_href(resource, query, page)}
        if page < pages:
            links["next"] = _page_href(resource, query, page + 1)
        if page > 1:
            links["first"] = _page_href(resource, query, 1)
            links["prev"] = _page_href(resource, query, page - 1)
        chunk = items[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        if on_page:
            for item in chunk:
                on_page(item, page)
        body = {"_page": page, "_links": links, "_embedded": {resource: chunk}}
        files.append(folder / f"{resource}_page_{page:04d}.json")
        _dump(files[-1], body)
    return files


def _link_to_page(lead: dict[str, Any], page: int) -> None:
    suffix = f"&page={page}&limit={PAGE_SIZE}"
    lead["_links"]["self"]["href"] += suffix
    for contact in lead["_embedded"]["contacts"]:
        contact["_links"]["self"]["href"] += suffix


def write_leads(folder: Path, leads: list[dict[str, Any]]) -> list[Path]:
    return write_pages(folder, "leads", LEADS_QUERY, leads, _link_to_page)


def _rights(admin: bool) -> dict[str, Any]:
    full = {"view": "A", "edit": "A", "add": "A", "delete": "A", "export": "A"}
    return {
        "leads": dict(full),
        "contacts": dict(full),
        "companies": dict(full),
        "tasks": {"edit": "A", "delete": "A"},
        "mail_access": admin,
        "catalog_access": admin,
        "files_access": admin,
        "status_rights": [
            {
                "entity_type": "leads",
                "pipeline_id": 7000001,
                "status_id": 61000001,
                "rights": {"view": "A", "edit": "A", "delete": "A"},
            }
        ],
        "catalog_rights": None,
        "custom_fields_rights": None,
        "oper_day_reports_view_access": admin,
        "oper_day_user_tracking": False,
        "is_admin": admin,
        "is_free": False,
        "is_active": True,
        "group_id": None,
        "role_id": None,
    }


def write_users(folder: Path, managers: list[Manager]) -> Path:
    people = [(m.crm_user_id, m.name, f"{m.profile.email}@uyut-demo.ru", False) for m in managers]
    people.append((ADMIN_ID, "Администратор Уют", "admin@uyut-demo.ru", True))
    users = [
        {
            "id": uid,
            "name": name,
            "email": email,
            "lang": "ru",
            "rights": _rights(admin),
            "_links": {"self": {"href": f"{BASE}/api/v4/users/{uid}"}},
        }
        for uid, name, email, admin in people
    ]
    body = {
        "_total_items": len(users),
        "_page": 1,
        "_page_count": 1,
        "_links": {"self": {"href": f"{BASE}/api/v4/users/?page=1&limit=250"}},
        "_embedded": {"users": users},
    }
    path = folder / "users.json"
    _dump(path, body)
    return path


def _dump(path: Path, body: dict[str, Any]) -> None:
    path.write_text(json.dumps(body, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
