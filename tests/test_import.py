"""`chatsales import`: what a head of sales does with an export a manager sent."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from .support.cli import run_cli
from .support.paths import FIXTURES

pytestmark = pytest.mark.integration

WHATSAPP = FIXTURES / "whatsapp/landing/whatsapp"
GOOD_WHATSAPP = WHATSAPP / "m01/Чат WhatsApp с Анна Клиентова.txt"
UNDECIDABLE_WHATSAPP = WHATSAPP / "m02/WhatsApp Chat with Boris.txt"
TELEGRAM = FIXTURES / "telegram/landing/telegram/igor/chat_anna_2024-03-13.json"


@pytest.fixture
def landing(tmp_path) -> Path:
    folder = tmp_path / "landing"
    folder.mkdir()
    shutil.copy(FIXTURES / "whatsapp/landing/managers.csv", folder / "managers.csv")
    return folder


def chatsales_import(landing: Path, *args: str):
    return run_cli(["import", *args, "--landing", str(landing)], dict(os.environ))


def landed(landing: Path) -> list[str]:
    return sorted(str(p.relative_to(landing)) for p in landing.rglob("*") if p.is_file())


def test_a_whatsapp_export_lands_once(landing):
    first = chatsales_import(landing, "whatsapp", str(GOOD_WHATSAPP), "--manager", "m01")
    assert first.returncode == 0, first.stderr
    assert "✓ imported" in first.stdout
    again = chatsales_import(landing, "whatsapp", str(GOOD_WHATSAPP), "--manager", "m01")
    assert "already imported" in again.stdout
    assert landed(landing) == ["managers.csv", f"whatsapp/m01/{GOOD_WHATSAPP.name}"]


def test_a_telegram_export_lands_under_its_own_name(landing):
    result = chatsales_import(landing, "telegram", str(TELEGRAM), "--manager", "m02")
    assert result.returncode == 0, result.stderr
    [exported] = [p for p in landed(landing) if p.startswith("telegram/m02/")]
    assert exported.startswith("telegram/m02/chat_anna_2024-03-13-") and exported.endswith(".json")


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["whatsapp", str(UNDECIDABLE_WHATSAPP), "--manager", "m02"],
         "WhatsApp Chat with Boris.txt: cannot decide"),
        (["whatsapp", str(GOOD_WHATSAPP), "--manager", "nobody"], "manager 'nobody' is not in"),
        (["telegram", str(GOOD_WHATSAPP), "--manager", "m01"], "not a Telegram Desktop JSON"),
    ],
)  # fmt: skip
def test_a_bad_export_is_refused_with_the_reason_and_nothing_lands(landing, args, reason):
    result = chatsales_import(landing, *args)
    assert result.returncode == 2
    assert reason in result.stderr
    assert landed(landing) == ["managers.csv"]
