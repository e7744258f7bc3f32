"""Settings that reach dbt as vars (dbt_project.yml reads them from the environment that
chatsales hands on to dbt): CHATSALES_MESSAGES_PER_DIALOG_RANGE."""

import pytest
from pydantic import ValidationError

from chatsales.core.settings import Settings, Warehouse

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("text", ["40-90", "40..90", "40, 90", " 40 – 90 ", "40.0-90"])
def test_a_range_is_read_in_the_usual_spellings(text):
    settings = Settings.from_environ({"CHATSALES_MESSAGES_PER_DIALOG_RANGE": text})
    assert settings.messages_per_dialog_range == (40.0, 90.0)


@pytest.mark.parametrize("text", ["90-40", "40", "forty-ninety", "1-2-3"])
def test_a_bad_range_is_refused_with_its_variable(text):
    with pytest.raises(ValidationError, match="CHATSALES_MESSAGES_PER_DIALOG_RANGE"):
        Settings.from_environ({"CHATSALES_MESSAGES_PER_DIALOG_RANGE": text})


def test_dbt_gets_the_range_in_its_environment(monkeypatch, tmp_path):
    target = Warehouse(f"duckdb:///{tmp_path / 'wh.duckdb'}")
    monkeypatch.delenv("CHATSALES_MESSAGES_PER_DIALOG_RANGE", raising=False)
    assert target.dbt_env()["CHATSALES_MESSAGES_PER_DIALOG_RANGE"] == ""  # the team norm
    monkeypatch.setenv("CHATSALES_MESSAGES_PER_DIALOG_RANGE", " 40 .. 90.5 ")
    assert target.dbt_env()["CHATSALES_MESSAGES_PER_DIALOG_RANGE"] == "40-90.5"
