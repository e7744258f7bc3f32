"""marts.mart_message_norms: the normal range of messages per dialog is fair to the team (the
other outliers do not stretch it), and a fixed range set in the environment replaces it."""

from __future__ import annotations

import math
import shutil
import statistics
import subprocess
import sys
from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest

from chatsales.core.settings import DBT_PROJECT_DIR, Warehouse
from chatsales.core.warehouse import query

pytestmark = pytest.mark.warehouse

OUTLIERS = {"m05": "too_few_messages", "m06": "too_many_messages"}  # the demo's planted stories
QUIET_MANAGERS = ("m01", "m02", "m07", "m08")
WINDOW_MONTHS = 6
K = 3


def month_values(warehouse: Warehouse) -> dict[date, dict[str, float]]:
    rows = query(
        "select period_start, manager_id, messages_per_dialog from marts.mart_manager_metrics "
        "where grain = 'month' and channel = 'all' and manager_id not in ('all', 'unassigned') "
        "and messages_per_dialog is not null",
        warehouse,
    )
    by_month: dict[date, dict[str, float]] = defaultdict(dict)
    for month, manager_id, value in rows:
        by_month[month][manager_id] = value
    return by_month


def months_back(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 - n
    return date(index // 12, index % 12 + 1, 1)


def expected_norm(by_month: dict[date, dict[str, float]], manager_id: str, month: date):
    """The team norm recomputed here: the other managers' months in the window, in logs."""
    others = [
        math.log(value)
        for other_month, values in by_month.items()
        if months_back(month, WINDOW_MONTHS) < other_month <= month
        for other, value in values.items()
        if other != manager_id and value > 0
    ]
    if len(others) < 5:
        return None
    median = statistics.median(others)
    mad = statistics.median(abs(value - median) for value in others)
    sigma = 1.4826 * max(mad, math.log(1.1))
    return math.exp(median - K * sigma), math.exp(median + K * sigma)


def norms(warehouse: Warehouse, grain: str = "month") -> list[tuple]:
    return query(
        "select manager_id, period_start, messages_per_dialog, norm_low, norm_high, norm_rule "
        f"from marts.mart_message_norms where grain = '{grain}' order by 1, 2",
        warehouse,
    )


def test_the_team_norm_is_the_other_managers_median_and_mad(story_warehouse):
    by_month = month_values(story_warehouse.warehouse)
    rows = norms(story_warehouse.warehouse)
    assert len(rows) == sum(len(values) for values in by_month.values()) > 100
    for manager_id, month, _, low, high, rule in rows:
        expected = expected_norm(by_month, manager_id, month)
        if expected is None:
            assert (low, high, rule) == (None, None, None)
            continue
        assert rule == "team_median_mad"
        assert low == pytest.approx(expected[0], abs=1e-3), (manager_id, month)
        assert high == pytest.approx(expected[1], abs=1e-3), (manager_id, month)


def test_the_outliers_fall_outside_and_the_quiet_managers_inside(story_warehouse):
    for manager_id, _, value, low, high, _ in norms(story_warehouse.warehouse):
        if low is None:
            continue
        if OUTLIERS.get(manager_id) == "too_few_messages":
            assert value < low
        elif OUTLIERS.get(manager_id) == "too_many_messages":
            assert value > high
        elif manager_id in QUIET_MANAGERS:
            assert low <= value <= high


def test_anomalies_say_which_rule_judged_them(story_warehouse):
    judged = dict(
        query(
            "select judged_by, count(*) from marts.mart_anomalies group by judged_by",
            story_warehouse.warehouse,
        )
    )
    assert set(judged) <= {
        "team_median_mad", "own_trailing_median_mad", "twice_team_median", "two_proportion_test",
    }  # fmt: skip
    assert judged["team_median_mad"] > 0 and judged["two_proportion_test"] > 0


@pytest.fixture(scope="module")
def fixed_band(story_warehouse, tmp_path_factory) -> Warehouse:
    """A copy of the story warehouse after the setting CHATSALES_MESSAGES_PER_DIALOG_RANGE
    = 5-10 reached dbt as chatsales hands it on (Warehouse.dbt_env), on an incremental build."""
    tmp = tmp_path_factory.mktemp("fixed_band")
    copy = Warehouse(f"duckdb:///{tmp / 'warehouse.duckdb'}")
    shutil.copy(story_warehouse.warehouse.duckdb_path, copy.duckdb_path)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CHATSALES_MESSAGES_PER_DIALOG_RANGE", "5-10")
        env = {**story_warehouse.env, **copy.dbt_env(), "DBT_TARGET_PATH": str(tmp / "target")}
    dbt = str(Path(sys.executable).with_name("dbt"))
    result = subprocess.run(
        [dbt, "build", "--select", "mart_message_norms+", "--profiles-dir", str(DBT_PROJECT_DIR)],
        cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:]
    return copy


def test_a_fixed_band_replaces_the_team_norm(fixed_band):
    rows = norms(fixed_band) + norms(fixed_band, "week")
    assert rows and {(low, high, rule) for *_, low, high, rule in rows} == {
        (5.0, 10.0, "fixed_range")
    }


def test_a_changed_band_judges_every_period_again(story_warehouse, fixed_band):
    select = (
        "select manager_id, grain, period_start, kind, judged_by, expected_low, expected_high, "
        "value from marts.mart_anomalies where metric = 'messages_per_dialog'"
    )
    before = query(select, story_warehouse.warehouse)
    after = query(select, fixed_band)
    assert after and {row[4:7] for row in after} == {("fixed_range", 5.0, 10.0)}
    for _, _, _, kind, _, _, _, value in after:
        assert value < 5 if kind == "too_few_messages" else value > 10
    # periods inside the team norm but outside 5–10 are flagged now: the incremental run
    # judged again the periods whose range changed, though no message changed
    assert {row[:3] for row in after} - {row[:3] for row in before}
