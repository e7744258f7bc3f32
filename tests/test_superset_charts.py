"""Every chart's numbers, through Superset's chart-data API (the request the dashboard
makes), equal the same question asked of the marts directly, on both warehouses."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
import yaml

from .support.superset_reference import REFERENCES, compare_chart
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
    assert rows and {"judged_by", "max_severity"} <= set(rows[0])
    # the sort key rounds severity to 0.1 (half up, as SQL's ROUND of a NUMERIC)
    tenth = [
        Decimal(str(row["max_severity"] or 0)).quantize(Decimal("0.1"), ROUND_HALF_UP)
        for row in rows
    ]
    order = [(s, row["period_start"]) for s, row in zip(tenth, rows, strict=True)]
    assert order == sorted(order, reverse=True)
