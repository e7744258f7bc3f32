"""Every chart's numbers, through Superset's chart-data API (the request the dashboard
makes), equal the same question asked of the marts directly, on both warehouses."""

from __future__ import annotations

import datetime as dt
import json
from decimal import ROUND_HALF_UP, Decimal

import pytest
import yaml

from .support.superset_reference import REFERENCES, TEAM, compare_chart
from .support.superset_server import BUNDLE

BUNDLE_CHARTS = {
    chart["uuid"]: chart
    for chart in (yaml.safe_load(p.read_text()) for p in (BUNDLE / "charts").glob("*.yaml"))
}


@pytest.mark.unit
def test_every_chart_has_a_reference_query():
    assert set(REFERENCES) == set(BUNDLE_CHARTS)
    for uuid, reference in REFERENCES.items():
        assert reference.slice_name == BUNDLE_CHARTS[uuid]["slice_name"]
        assert reference.compare_lag == BUNDLE_CHARTS[uuid]["params"].get("compare_lag")


@pytest.fixture(scope="module")
def admin(superset):
    return superset.session()


def _chart_ids(superset, admin) -> dict[str, int]:
    query = "(columns:!(id,uuid),page_size:100)"
    answer = admin.get(f"{superset.url}/api/v1/chart/", params={"q": query}, timeout=60)
    answer.raise_for_status()
    return {chart["uuid"]: chart["id"] for chart in answer.json()["result"]}


@pytest.fixture(scope="module")
def chart_ids(superset, admin) -> dict[str, int]:
    return _chart_ids(superset, admin)


@pytest.mark.superset
@pytest.mark.parametrize("uuid", sorted(REFERENCES, key=lambda u: REFERENCES[u].slice_name))
def test_the_chart_shows_what_the_marts_say(superset, admin, chart_ids, uuid):
    answer = admin.get(f"{superset.url}/api/v1/chart/{chart_ids[uuid]}/data/", timeout=120)
    assert answer.status_code == 200, answer.text[:500]
    problems = compare_chart(REFERENCES[uuid], answer.json()["result"], superset.query)
    assert not problems, "\n".join(problems[:20])


BIG_NUMBERS = sorted(uuid for uuid, reference in REFERENCES.items() if reference.compare_lag)
CHANGE = {1: "pct_change", 12: "year_ago_pct_change"}


@pytest.mark.superset
@pytest.mark.parametrize("uuid", BIG_NUMBERS)
def test_a_big_numbers_delta_is_the_change_in_the_period_comparison_mart(superset_duckdb, uuid):
    """The browser turns the monthly series into "+4.3% vs previous month": the last month
    against the one `compare_lag` months before must be the mart's own change."""
    lag = REFERENCES[uuid].compare_lag
    admin = superset_duckdb.session()
    chart_id = _chart_ids(superset_duckdb, admin)[uuid]
    answer = admin.get(f"{superset_duckdb.url}/api/v1/chart/{chart_id}/data/", timeout=120)
    rows = answer.json()["result"][0]
    series = sorted(rows["data"], key=lambda row: row["period_start"])
    (metric,) = set(series[-1]) - {"period_start"}
    shown = series[-1][metric] / series[-1 - lag][metric] - 1
    (expected,) = superset_duckdb.query(
        f"SELECT {CHANGE[lag]} AS change FROM marts.mart_period_comparison "
        f"WHERE grain = 'month' AND manager_id = 'all' AND channel = 'all' "
        f"AND metric = '{metric}' ORDER BY period_start DESC LIMIT 1"
    )
    assert shown == pytest.approx(expected["change"], abs=5e-5)


ANOMALIES = "da438a47-e9b5-5a03-8e56-ff765150af68"


@pytest.mark.superset
def test_the_anomalies_table_puts_the_most_severe_first_then_the_latest(superset, admin, chart_ids):
    answer = admin.get(f"{superset.url}/api/v1/chart/{chart_ids[ANOMALIES]}/data/", timeout=120)
    rows = answer.json()["result"][0]["data"]
    assert rows and {"judged_by_label", "max_severity"} <= set(rows[0])
    # the sort key rounds severity to 0.1 (half up, as SQL's ROUND of a NUMERIC)
    tenth = [
        Decimal(str(row["max_severity"] or 0)).quantize(Decimal("0.1"), ROUND_HALF_UP)
        for row in rows
    ]
    order = [(s, row["period_start"]) for s, row in zip(tenth, rows, strict=True)]
    assert order == sorted(order, reverse=True)


@pytest.mark.superset
def test_a_standing_anomaly_is_listed_once_with_how_long_it_stood(superset, admin, chart_ids):
    answer = admin.get(f"{superset.url}/api/v1/chart/{chart_ids[ANOMALIES]}/data/", timeout=120)
    rows = answer.json()["result"][0]["data"]
    since = next(column for column in rows[0] if column.startswith("Standing since"))
    runs = [(r["manager_name"], r["grain_label"], r["kind_label"], r[since]) for r in rows]
    assert len(runs) == len(set(runs))
    (longest,) = superset.query(
        "SELECT MAX(n) AS n FROM (SELECT COUNT(*) AS n FROM marts.mart_anomalies "
        "GROUP BY manager_id, grain, metric, kind, standing_since) AS runs"
    )
    assert max(row["periods_standing"] for row in rows) == longest["n"] > 1


DAY = "aa5be3c5-815b-5db2-9322-d5f0f55ecfc3"


@pytest.mark.superset
def test_the_day_table_shows_the_days_picked_in_the_day_filter(superset, admin, chart_ids):
    """Nothing picked: the last full day. Days picked (the native time filter sets the time
    range): those days, each manager's figures from the mart's day rows."""
    chart = admin.get(f"{superset.url}/api/v1/chart/{chart_ids[DAY]}", timeout=60).json()
    context = json.loads(chart["result"]["query_context"])
    (last_full,) = superset.query(
        "SELECT MAX(period_start) - 1 AS day FROM marts.mart_manager_metrics WHERE grain = 'day'"
    )
    first, end = last_full["day"] - dt.timedelta(days=9), last_full["day"] - dt.timedelta(days=6)
    picked = f"{first.isoformat()} : {end.isoformat()}"
    query = context["queries"][0]
    query["time_range"] = picked
    query["filters"] = [{"col": "day", "op": "TEMPORAL_RANGE", "val": picked}]
    answer = admin.post(f"{superset.url}/api/v1/chart/data", json=context, timeout=120)
    assert answer.status_code == 200, answer.text[:500]
    shown = {
        (dt.datetime.fromtimestamp(row["day"] / 1000, dt.UTC).date(), row["manager_name"]): row
        for row in answer.json()["result"][0]["data"]
    }
    expected = superset.query(
        f"""
        SELECT m.period_start AS day, COALESCE(d.manager_name, '{TEAM}') AS manager_name,
          m.response_time_median_s / 60.0 AS median_min, m.messages_sent, m.dialogs_participated
        FROM marts.mart_manager_metrics AS m
        LEFT JOIN marts.dim_managers AS d ON d.manager_id = m.manager_id
        WHERE m.grain = 'day' AND m.channel = 'all'
          AND m.period_start >= DATE '{first}' AND m.period_start < DATE '{end}'
        """
    )
    assert {row["day"] for row in expected} == {first + dt.timedelta(days=n) for n in range(3)}
    assert set(shown) == {(row["day"], row["manager_name"]) for row in expected}
    for row in expected:
        got = shown[(row["day"], row["manager_name"])]
        assert got["messages_sent"] == row["messages_sent"]
        assert got["dialogs"] == row["dialogs_participated"]
        median = row["median_min"]
        assert got["response_median_min"] == (median and pytest.approx(float(median)))
