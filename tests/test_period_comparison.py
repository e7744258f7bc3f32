"""marts.mart_period_comparison: every metric against the previous period and a year ago."""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal

import pytest

from chatsales.core.warehouse import query

from .support.comparable_rows import comparable_rows

pytestmark = pytest.mark.warehouse

PERIODS_PER_YEAR = {"day": 364, "week": 52, "month": 12, "quarter": 4, "year": 1}
METRICS = (
    "new_dialogs", "new_dialogs_incoming", "new_dialogs_outgoing", "new_clients",
    "dialogs_participated", "messages_sent", "messages_received", "messages_per_dialog",
    "messages_per_dialog_median", "response_time_mean_s", "response_time_median_s",
    "business_response_time_median_s",
    "response_time_p90_s", "first_response_time_median_s", "sla_share",
    "peak_concurrent_dialogs", "won_deals", "conversion_rate", "cohort_conversion_rate",
)  # fmt: skip
RATES = {
    "conversion_rate": ("won_deals", "new_dialogs"),
    "cohort_conversion_rate": ("cohort_won_dialogs", "new_dialogs"),
    "sla_share": ("waits_answered_within_sla", "waits_answered"),
}
GRAINS = "('day', 'week', 'month', 'quarter', 'year')"
Z_95 = 1.959964


def number(v):
    return None if v is None else round(float(v), 6)


def plain(v):
    """Numbers as rounded floats (both engines alike); booleans, dates and text as they are."""
    return number(v) if isinstance(v, int | float | Decimal) and not isinstance(v, bool) else v


def shifted(grain: str, start: date, periods: int) -> date:
    """The period_start `periods` grains away (days by 1, weeks by 7, the rest by whole months)."""
    if grain == "day":
        return start + timedelta(days=periods)
    if grain == "week":
        return start + timedelta(weeks=periods)
    months = periods * {"month": 1, "quarter": 3, "year": 12}[grain]
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def significant(s1, n1, s2, n2) -> bool | None:
    """The pooled two-proportion z-test at p < 0.05, as the statistics macros define it."""
    if None in (s1, n1, s2, n2) or not n1 or not n2 or s1 > n1 or s2 > n2:
        return None
    pooled = (s1 + s2) / (n1 + n2)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return None if spread == 0 else abs(s1 / n1 - s2 / n2) / spread >= Z_95


def manager_metrics(target) -> dict[tuple, dict[str, float | None]]:
    inputs = sorted({column for pair in RATES.values() for column in pair} - set(METRICS))
    columns = [*METRICS, *inputs]
    rows = query(
        f"select grain, period_start, manager_id, channel, {', '.join(columns)} "
        f"from marts.mart_manager_metrics where grain in {GRAINS}",
        target,
    )
    return {tuple(row[:4]): dict(zip(columns, map(number, row[4:]), strict=True)) for row in rows}


COMPARED = (
    "is_rate", "value", "previous_period_start", "previous_value", "abs_change", "pct_change",
    "is_significant", "year_ago_period_start", "year_ago_value", "year_ago_abs_change",
    "year_ago_pct_change", "year_ago_is_significant", "week_ago_period_start", "week_ago_value",
    "week_ago_is_significant",
)  # fmt: skip


def comparison(target, where: str = "true") -> dict[tuple, dict]:
    """Rows of the mart by (grain, period_start, manager_id, channel, metric)."""
    rows = query(
        "select grain, period_start, manager_id, channel, metric, "
        f"{', '.join(COMPARED)} from marts.mart_period_comparison where {where}",
        target,
    )
    return {tuple(row[:5]): dict(zip(COMPARED, map(plain, row[5:]), strict=True)) for row in rows}


def test_values_are_the_manager_metrics_of_the_compared_periods(built):
    mart = manager_metrics(built.warehouse)
    expected = {}
    for (grain, start, manager, channel), values in mart.items():
        previous_start = shifted(grain, start, -1)
        year_ago_start = shifted(grain, start, -PERIODS_PER_YEAR[grain])
        week_ago_start = shifted(grain, start, -7) if grain == "day" else None
        previous = mart.get((grain, previous_start, manager, channel), {})
        year_ago = mart.get((grain, year_ago_start, manager, channel), {})
        week_ago = mart.get((grain, week_ago_start, manager, channel), {})
        for metric in METRICS:
            compared = (
                values[metric],
                previous.get(metric),
                year_ago.get(metric),
                week_ago.get(metric),
            )
            if compared != (None, None, None, None):
                key = (grain, start, manager, channel, metric)
                expected[key] = (
                    metric in RATES,
                    *compared,
                    previous_start,
                    year_ago_start,
                    week_ago_start,
                )
    actual = {
        key: (
            row["is_rate"], row["value"], row["previous_value"], row["year_ago_value"],
            row["week_ago_value"], row["previous_period_start"], row["year_ago_period_start"],
            row["week_ago_period_start"],
        )
        for key, row in comparison(built.warehouse).items()
    }  # fmt: skip
    assert {key[0] for key in actual} == set(PERIODS_PER_YEAR)
    assert actual == expected


def test_changes_are_null_when_the_base_is_zero_or_missing(built):
    zero_bases = missing_bases = 0
    for row in comparison(built.warehouse).values():
        value = row["value"]
        for prefix in ("", "year_ago_"):
            base = row[f"{prefix}value" if prefix else "previous_value"]
            abs_change, pct_change = row[f"{prefix}abs_change"], row[f"{prefix}pct_change"]
            if value is None or base is None:
                missing_bases += base is None
                assert abs_change is None and pct_change is None, row
                continue
            assert abs_change == pytest.approx(value - base, abs=1e-6), row
            if base == 0:
                zero_bases += 1
                assert pct_change is None, row
            else:
                assert pct_change == pytest.approx((value - base) / base, abs=1e-4), row
    assert zero_bases > 0 and missing_bases > 0


def test_significance_is_the_two_proportion_test_of_rates(built):
    mart = manager_metrics(built.warehouse)
    flagged = {True: 0, False: 0, None: 0}
    for (grain, start, manager, channel, metric), row in comparison(built.warehouse).items():
        if metric not in RATES:
            assert row["is_significant"] is None and row["year_ago_is_significant"] is None
            continue
        successes, trials = RATES[metric]
        this = mart[(grain, start, manager, channel)]
        for prefix, other_start in (("", row["previous_period_start"]),
                                    ("year_ago_", row["year_ago_period_start"]),
                                    ("week_ago_", row["week_ago_period_start"])):  # fmt: skip
            other = mart.get((grain, other_start, manager, channel), {})
            expected = significant(
                this[successes], this[trials], other.get(successes), other.get(trials)
            )
            assert row[f"{prefix}is_significant"] is expected, (metric, row)
            flagged[expected] += 1
    assert flagged[True] > 0 and flagged[False] > 0


def series(target, metric: str, manager: str, grain: str = "month") -> dict[str, dict]:
    """One metric of a manager (all channels) by period, keyed 'YYYY-MM'."""
    rows = comparison(
        target,
        f"grain = '{grain}' and channel = 'all' and metric = '{metric}' "
        f"and manager_id = '{manager}'",
    )
    return {str(key[1])[:7]: row for key, row in rows.items()}


def test_won_deals_of_m01_rise_and_of_m02_fall_year_over_year(story_warehouse):
    target = story_warehouse.warehouse
    m01, m02 = series(target, "won_deals", "m01"), series(target, "won_deals", "m02")
    for period in ("2026-07", "2026-08", "2026-09", "2026-10"):
        assert m01[period]["year_ago_pct_change"] > 0.6, (period, m01[period])
        assert m02[period]["year_ago_pct_change"] < -0.15, (period, m02[period])
    assert m01["2026-10"]["value"] >= 2 * m01["2025-07"]["value"]
    assert m02["2026-10"]["value"] < 0.8 * m02["2025-07"]["value"]
    m01_quarters = series(target, "won_deals", "m01", grain="quarter")
    for quarter in ("2025-10", "2026-01", "2026-04", "2026-07"):
        assert m01_quarters[quarter]["pct_change"] > 0, (quarter, m01_quarters[quarter])
    assert m01_quarters["2026-07"]["year_ago_pct_change"] > 0.8
    m02_quarters = series(target, "won_deals", "m02", grain="quarter")
    assert m02_quarters["2026-07"]["year_ago_pct_change"] < -0.15


def test_team_conversion_drops_significantly_in_june_2026(story_warehouse):
    team = series(story_warehouse.warehouse, "conversion_rate", "all")
    june = team["2026-06"]
    assert june["previous_period_start"] == date(2026, 5, 1)
    assert june["value"] < 0.1 < june["previous_value"]
    assert june["pct_change"] < -0.25 and june["is_significant"] is True
    assert team["2026-05"]["is_significant"] is False  # 12% vs 12% +- noise
    assert team["2026-07"]["value"] > june["value"] and team["2026-07"]["is_significant"] is True


@pytest.mark.postgres
def test_duckdb_and_postgres_agree_on_the_comparison(duckdb_warehouse, postgres_warehouse):
    select = "select * from marts.mart_period_comparison"
    duck = comparable_rows(query(select, duckdb_warehouse.warehouse))
    pg = comparable_rows(query(select, postgres_warehouse.warehouse))
    assert len(duck) == len(pg) > 0
    assert duck == pg
