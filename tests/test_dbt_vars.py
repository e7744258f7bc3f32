"""Settings that reach dbt as vars: CHATSALES_MESSAGES_PER_DIALOG_RANGE."""

import json

import pytest
from pydantic import ValidationError

from chatsales.core.settings import Settings
from orchestration.assets.dbt import BUILD, build_args

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("text", ["40-90", "40..90", "40, 90", " 40 – 90 ", "40.0-90"])
def test_a_range_is_read_in_the_usual_spellings(text):
    settings = Settings.from_environ({"CHATSALES_MESSAGES_PER_DIALOG_RANGE": text})
    assert settings.messages_per_dialog_range == (40.0, 90.0)


@pytest.mark.parametrize("text", ["90-40", "40", "forty-ninety", "1-2-3"])
def test_a_bad_range_is_refused_with_its_variable(text):
    with pytest.raises(ValidationError, match="CHATSALES_MESSAGES_PER_DIALOG_RANGE"):
        Settings.from_environ({"CHATSALES_MESSAGES_PER_DIALOG_RANGE": text})


def test_dbt_builds_get_the_range_and_a_backfill_window_together(monkeypatch):
    monkeypatch.delenv("CHATSALES_MESSAGES_PER_DIALOG_RANGE", raising=False)
    assert build_args() == BUILD
    monkeypatch.setenv("CHATSALES_MESSAGES_PER_DIALOG_RANGE", "40-90")
    args = build_args({"window_start": "2025-03-01", "window_end": "2025-03-02"})
    assert args[: len(BUILD)] == BUILD and args[len(BUILD)] == "--vars"
    assert json.loads(args[len(BUILD) + 1]) == {
        "messages_per_dialog_range": [40.0, 90.0],
        "window_start": "2025-03-01",
        "window_end": "2025-03-02",
    }
