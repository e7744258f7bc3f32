"""marts.mart_anomalies: the demo's planted stories come out as anomalies, and little else."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest

from chatsales.core.warehouse import query

from .support.comparable_rows import comparable_rows

pytestmark = pytest.mark.warehouse

COLUMNS = (
    "manager_id, grain, period_start, metric, value, expected_low, expected_high, kind, "
    "reason_ru, reason_en, baseline_value, load_change, team_value, z_score"
)
LATE_MONTHS = (date(2026, 9, 1), date(2026, 10, 1))  # stories.LATE_MONTHS of 16
DIP_MONTH = date(2026, 6, 1)  # stories.DIP_MONTH
QUIET_MANAGERS = ("m01", "m02", "m07", "m08")
STORY_KINDS = ("overload", "slowdown", "too_few_messages", "too_many_messages")


def rounded(value: float, digits: int) -> str:
    """A number as the model writes it: rounded half away from zero, fixed decimals."""
    return str(Decimal(str(value)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def minutes(seconds: float) -> str:
    """'6.4', '7' or '13': one decimal under 10 min unless it is .0, whole minutes above."""
    one = rounded(seconds / 60, 1)
    return one if seconds < 600 and not one.endswith(".0") else rounded(seconds / 60, 0)


def anomalies(warehouse, where: str = "true") -> list[dict]:
    rows = query(f"select {COLUMNS} from marts.mart_anomalies where {where}", warehouse)
    return [dict(zip(COLUMNS.split(", "), row, strict=True)) for row in rows]


@pytest.fixture(scope="module")
def story(story_warehouse) -> list[dict]:
    return anomalies(story_warehouse.warehouse)


def by_key(rows: list[dict], manager_id: str, grain: str = "month") -> dict[date, list[dict]]:
    found: dict[date, list[dict]] = {}
    for row in rows:
        if row["manager_id"] == manager_id and row["grain"] == grain:
            found.setdefault(row["period_start"], []).append(row)
    return found


@pytest.mark.parametrize(("manager_id", "kind", "load_words"), [
    ("m03", "overload", ("while dialogs rose", "likely overload")),
    ("m04", "slowdown", ("while load stayed flat", "slowdown, not load")),
])  # fmt: skip
def test_late_reply_times_read_as_overload_and_slowdown(story, manager_id, kind, load_words):
    flagged = {
        period: [r for r in rows if r["metric"] == "response_time_median_s"]
        for period, rows in by_key(story, manager_id).items()
    }
    assert {p for p, rows in flagged.items() if rows} == set(LATE_MONTHS)
    for period in LATE_MONTHS:
        [row] = flagged[period]
        assert row["kind"] == kind
        assert row["value"] > 1.6 * row["baseline_value"]
        sentence = row["reason_en"]
        assert f"({minutes(row['baseline_value'])} → {minutes(row['value'])} min)" in sentence
        assert all(words in sentence for words in load_words), sentence
        assert f"{rounded(100 * row['load_change'], 0)}%" in sentence
        assert "мин" in row["reason_ru"] and "перегрузк" in row["reason_ru"]
        if kind == "overload":
            assert row["load_change"] >= 0.3
        else:
            assert abs(row["load_change"]) < 0.3


@pytest.mark.parametrize(("manager_id", "kind", "words"), [
    ("m05", "too_few_messages", "not working the client"),
    ("m06", "too_many_messages", "not closing"),
])  # fmt: skip
def test_messages_per_dialog_outliers_every_month(story, story_warehouse, manager_id, kind, words):
    months = query(
        "select period_start from marts.mart_manager_metrics where grain = 'month' "
        f"and channel = 'all' and manager_id = '{manager_id}'",
        story_warehouse.warehouse,
    )
    flagged = [
        row
        for rows in by_key(story, manager_id).values()
        for row in rows
        if row["metric"] == "messages_per_dialog"
    ]
    assert len(flagged) >= len(months) - 1 >= 15
    for row in flagged:
        assert row["kind"] == kind
        outside = (
            row["value"] < row["expected_low"]
            if kind == "too_few_messages"
            else (row["value"] > row["expected_high"])
        )
        assert outside
        bound = (
            f"at least {rounded(row['expected_low'], 1)}"
            if kind == "too_few_messages"
            else f"at most {rounded(row['expected_high'], 1)}"
        )
        value = rounded(row["value"], 1)
        sentence = f"{value} messages per dialog where the team usually has {bound}: {words}"
        assert row["reason_en"] == sentence
        assert rounded(row["value"], 1).replace(".", ",") in row["reason_ru"]
    # the team norm (mart_message_norms) of the typical managers' 6–11, not stretched by the
    # other outlier
    if kind == "too_few_messages":
        assert all(row["value"] < 3 and row["expected_low"] > 3 for row in flagged)
    else:
        assert all(row["value"] > 23 and row["expected_high"] < 21 for row in flagged)


def test_team_conversion_drops_in_the_campaign_month(story):
    drops = {
        period: row
        for period, rows in by_key(story, "all").items()
        for row in rows
        if row["kind"] == "conversion_drop"
    }
    assert set(drops) == {DIP_MONTH}
    row = drops[DIP_MONTH]
    assert row["baseline_value"] > 0.1 and row["value"] < 0.08 and row["z_score"] < -1.96
    before, after = rounded(100 * row["baseline_value"], 1), rounded(100 * row["value"], 1)
    assert row["reason_en"].startswith(f"Team conversion fell from {before}% to {after}% (won/")
    assert "significant, p < 0.05" in row["reason_en"]
    assert row["reason_ru"].startswith(
        f"Конверсия команды упала с {before.replace('.', ',')}% до {after.replace('.', ',')}%"
    )


def test_quiet_managers_raise_no_story_kinds_before_the_late_months(story):
    noise = [
        (row["manager_id"], row["grain"], row["period_start"], row["kind"])
        for row in story
        if row["manager_id"] in QUIET_MANAGERS
        and row["kind"] in STORY_KINDS
        and row["period_start"] < date(2026, 9, 1)
    ]
    assert noise == []


def test_a_handful_per_period_at_most(story):
    per_period: dict[tuple[str, date], int] = {}
    for row in story:
        key = (row["grain"], row["period_start"])
        per_period[key] = per_period.get(key, 0) + 1
    assert max(per_period.values()) <= 6
    for grain in ("week", "month"):
        counts = [n for (g, _), n in per_period.items() if g == grain]
        assert sum(counts) / len(counts) <= 3.5, grain


def test_the_month_in_progress_is_not_judged(story_warehouse):
    [(last_day,)] = query(
        "select max(period_start) from marts.mart_manager_metrics where grain = 'day'",
        story_warehouse.warehouse,
    )
    [(latest_end,)] = query(
        "select max(case when grain = 'week' then period_start + 6 "
        "else cast(period_start + interval '1 month' as date) - 1 end) from marts.mart_anomalies",
        story_warehouse.warehouse,
    )
    assert latest_end <= last_day


def test_mart_anomalies_builds(built):
    rows = anomalies(built.warehouse)
    assert rows, "the small demo still has m05 and m06 outside the messages range"
    assert all(row["reason_en"] and row["reason_ru"] for row in rows)


@pytest.mark.postgres
def test_duckdb_and_postgres_agree(duckdb_warehouse, postgres_warehouse):
    select = "select * from marts.mart_anomalies"
    duck = comparable_rows(query(select, duckdb_warehouse.warehouse))
    pg = comparable_rows(query(select, postgres_warehouse.warehouse))
    assert len(duck) == len(pg) > 0
    assert duck == pg
