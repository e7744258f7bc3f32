"""The session's landing folder: the demo company, plus chat exports a head of sales imports,
webhooks nobody can attribute, saved Bitrix24 pages and every export variant of the source
tests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from .cli import run_cli_ok
from .paths import FIXTURES

# Small enough to build twice on two engines in a few minutes, big enough for every story
# month to hold dialogs, deals and waits.
DEMO_ARGS = ["--seed", "7", "--scale", "0.08", "--months", "4"]
# The planted stories need all 16 months (trailing baselines, the June dip, a year ago) and
# enough dialogs per manager-month for medians and proportion tests: one DuckDB build.
STORY_DEMO_ARGS = ["--seed", "7", "--scale", "0.4", "--months", "16"]

# Beside the demo: chat exports a head of sales imports, and webhooks nobody can attribute.
IMPORTED_EXPORTS = [
    ("whatsapp", FIXTURES / "whatsapp/landing/whatsapp/m01/Чат WhatsApp с Анна Клиентова.txt"),
    ("telegram", FIXTURES / "telegram/landing/telegram/igor/chat_anna_2024-03-13.json"),
]
# A hypothesis the head of sales adds with `chatsales intervention add` (into the landing file),
# inside the demo's months so both windows are complete: mart_interventions measures it.
ADDED_INTERVENTION = {
    "--date": "2025-08-18", "--manager": "m02", "--kind": "training",
    "--title": "Быстрые ответы: тренинг", "--description": "m02 trained to answer within minutes",
    "--expected-metric": "response_time_median_s", "--expected-direction": "down",
}  # fmt: skip


def added_intervention_id() -> str:
    """The id `chatsales intervention add` derives for ADDED_INTERVENTION."""
    from ingestion.directory.interventions import slug

    args = ADDED_INTERVENTION
    return slug(args["--date"], args["--manager"], args["--title"])


UNMAPPED_CHANNEL = "00000000-dead-4bee-8000-000000000000"
PROBLEM_WEBHOOKS = [
    {"messages": [{"messageId": "stray-1", "dateTime": "2025-08-04T09:00:00.000Z",
                   "channelId": UNMAPPED_CHANNEL, "chatType": "whatsapp",
                   "chatId": "79005550101", "type": "text", "isEcho": False,
                   "text": "Здравствуйте", "status": "inbound"}]},
    '{"messages": [{"messageId": "cut-off',
]  # fmt: skip


def write_demo_landing(landing: Path, env: dict[str, str]) -> Path:
    # the demo records where its history starts in a state dir: not the checkout's
    state = {"CHATSALES_STATE_DIR": str(landing.with_name(f"{landing.name}-demo-state"))}
    run_cli_ok(["demo", *DEMO_ARGS, "--landing", str(landing)], {**env, **state})
    added = [item for pair in ADDED_INTERVENTION.items() for item in pair]
    run_cli_ok(["intervention", "add", *added, "--landing", str(landing)], env)
    for kind, path in IMPORTED_EXPORTS:
        run_cli_ok(["import", kind, str(path), "--manager", "m01", "--landing", str(landing)], env)
    lines = [
        b if isinstance(b, str) else json.dumps(b, ensure_ascii=False) for b in PROBLEM_WEBHOOKS
    ]
    (landing / "wazzup" / "zz-problems.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    shutil.copytree(FIXTURES / "bitrix24", landing / "bitrix24")  # saved API pages
    # every export variant the source tests cover, through Dagster into both warehouses
    # (folders igor/maria/oleg are no demo managers: they show up in data_issues)
    for kind in ("telegram", "whatsapp"):
        shutil.copytree(FIXTURES / kind / "landing" / kind, landing / kind, dirs_exist_ok=True)
    return landing
