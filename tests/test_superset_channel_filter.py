"""Charts that show one pick of a dashboard filter: the Conversion dashboard's channel, and
the Managers dashboard's normal-range chart, one manager at a time.

The Conversion dashboard's channel filter. Its charts keep the team's (channel 'all')
rows unless the head of sales picks a channel: then they show that channel's rows, through a
Jinja where-clause that only lets a known channel through. Checked through the chart-data
API with the native filter applied as the dashboard sends it (its extra_form_data filter
merged into the chart's query), on both warehouses, against the marts asked directly."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from .support.paths import REPO_ROOT
from .support.superset_reference import REFERENCES, Query, compare_query, normalize
from .support.superset_server import BUNDLE

CHARTS = {
    chart["uuid"]: chart
    for chart in (yaml.safe_load(p.read_text()) for p in (BUNDLE / "charts").glob("*.yaml"))
}
(CONVERSION,) = (
    yaml.safe_load(p.read_text()) for p in (BUNDLE / "dashboards").glob("Conversion_*.yaml")
)
ON_DASHBOARD = [
    item["meta"]["uuid"]
    for item in CONVERSION["position"].values()
    if isinstance(item, dict) and item.get("type") == "CHART"
]
(CHANNEL_FILTER,) = (
    f
    for f in CONVERSION["metadata"]["native_filter_configuration"]
    if f["id"] == "NATIVE_FILTER-conversion-channel"
)
TEAM_CONVERSION = "d9ea2b5f-25ea-58bb-aec6-7363a63339d7"
COHORT_CONVERSION = "1c53db3c-c857-5f12-9116-f97647e1c520"
WON_PER_MANAGER = "6fe45e38-2714-50b1-b5ea-c632ad677f65"
REPORTING_TZ = yaml.safe_load((REPO_ROOT / "dbt_project/dbt_project.yml").read_text())["vars"][
    "reporting_timezone"
]


def _channel_clause(chart: dict) -> str:
    (clause,) = [
        f["sqlExpression"]
        for f in chart["params"]["adhoc_filters"]
        if f["expressionType"] == "SQL" and f["sqlExpression"].startswith("channel = ")
    ]
    return clause


def _mart_channels() -> list[str]:
    models = yaml.safe_load(
        (REPO_ROOT / "dbt_project/models/marts/mart_manager_metrics.yml").read_text()
    )
    (column,) = [c for c in models["models"][0]["columns"] if c["name"] == "channel"]
    (accepted,) = [t["accepted_values"] for t in column["data_tests"] if "accepted_values" in t]
    return accepted["arguments"]["values"]


@pytest.mark.unit
def test_every_conversion_chart_follows_the_single_channel_filter():
    assert CHANNEL_FILTER["controlValues"]["multiSelect"] is False
    assert CHANNEL_FILTER["scope"]["excluded"] == []
    for uuid in ON_DASHBOARD:
        chart = CHARTS[uuid]
        filters = chart["params"]["adhoc_filters"]
        assert not [f for f in filters if f.get("subject") == "channel"], chart["slice_name"]
        context = json.loads(chart["query_context"])
        (query,) = context["queries"]
        assert query["extras"]["where"] == f"({_channel_clause(chart)})"
        assert not [f for f in query["filters"] if f["col"] == "channel"]


@pytest.mark.unit
def test_only_a_known_channel_reaches_the_sql():
    """The picked value is never pasted into the SQL: it is compared with the channels of
    mart_manager_metrics (accepted_values in its yml), anything else gives 'all'."""
    known = [c for c in _mart_channels() if c != "all"]
    for uuid in ON_DASHBOARD:
        clause = _channel_clause(CHARTS[uuid])
        (whitelist,) = re.findall(r"\bin (\[[^]]*\])", clause)
        assert json.loads(whitelist) == known
        assert clause.endswith('else "all" }}\'')


# -- through a running Superset ------------------------------------------------------------


def _chart_ids(superset, admin) -> dict[str, int]:
    answer = admin.get(
        f"{superset.url}/api/v1/chart/",
        params={"q": "(columns:!(id,uuid),page_size:100)"},
        timeout=60,
    )
    answer.raise_for_status()
    return {chart["uuid"]: chart["id"] for chart in answer.json()["result"]}


@pytest.fixture(scope="module")
def picked(superset):
    """picked(uuid, value, column="channel") -> the chart-data `result` list with the
    dashboard's filter on `column` set to `value` (None: nothing picked; a list: several)."""
    admin = superset.session()
    ids = _chart_ids(superset, admin)

    def chart_data(uuid: str, value, column: str = "channel") -> list[dict]:
        saved = admin.get(f"{superset.url}/api/v1/chart/{ids[uuid]}", timeout=60)
        saved.raise_for_status()
        context = json.loads(saved.json()["result"]["query_context"])
        if value is not None:
            values = value if isinstance(value, list) else [value]
            extra = {"filters": [{"col": column, "op": "IN", "val": values}]}
            context["form_data"]["extra_form_data"] = extra
            for query in context["queries"]:
                query["filters"] = [*query["filters"], *extra["filters"]]
        context["force"] = True
        answer = admin.post(f"{superset.url}/api/v1/chart/data", json=context, timeout=120)
        assert answer.status_code == 200, answer.text[:500]
        return answer.json()["result"]

    return chart_data


def _channels_with_rows(superset) -> list[str]:
    rows = superset.query(
        "SELECT DISTINCT channel FROM marts.mart_manager_metrics "
        "WHERE grain = 'month' AND manager_id = 'all' AND channel <> 'all' ORDER BY channel"
    )
    return [row["channel"] for row in rows]


def _team_channel_rows(channel: str, columns: list[str]) -> Query:
    return Query(
        f"SELECT m.period_start, {', '.join(f'm.{c}' for c in columns)} "
        "FROM marts.mart_manager_metrics AS m "
        f"WHERE m.grain = 'month' AND m.manager_id = 'all' AND m.channel = '{channel}'",
        ("period_start",),
    )


@pytest.mark.superset
def test_nothing_picked_shows_the_teams_rows(superset, picked):
    for uuid in ON_DASHBOARD:
        reference = REFERENCES[uuid]
        for query, result in zip(reference.queries, picked(uuid, None), strict=True):
            problems = compare_query(query, result, superset.query(query.sql))
            assert not problems, f"{reference.slice_name}: {problems[:10]}"


@pytest.mark.superset
def test_a_picked_channel_shows_its_conversion_and_cohort_status(superset, picked):
    channels = _channels_with_rows(superset)
    assert {"whatsapp", "instagram"} <= set(channels)
    for channel in channels:
        conversion = _team_channel_rows(
            channel, ["conversion_rate", "conversion_ci_low", "conversion_ci_high"]
        )
        (result,) = picked(TEAM_CONVERSION, channel)
        problems = compare_query(conversion, result, superset.query(conversion.sql))
        assert not problems, f"{channel}: {problems[:10]}"

        cohort_columns = [
            "cohort_conversion_rate",
            "cohort_conversion_ci_low",
            "cohort_conversion_ci_high",
        ]
        cohort = _team_channel_rows(channel, cohort_columns)
        (result,) = picked(COHORT_CONVERSION, channel)
        problems = compare_query(cohort, result, superset.query(cohort.sql))
        assert not problems, f"{channel}: {problems[:10]}"
        # a month whose cohort conversion is unknown is a gap in the line, never a 0
        unknown = superset.query(
            "SELECT period_start FROM marts.mart_manager_metrics WHERE grain = 'month' "
            f"AND manager_id = 'all' AND channel = '{channel}' "
            "AND cohort_conversion_status <> 'ok'"
        )
        shown = {normalize(row["period_start"]): row for row in result["data"]}
        for row in unknown:
            point = shown.get(normalize(row["period_start"]), {})
            assert all(point.get(c) is None for c in cohort_columns), (channel, point)


@pytest.mark.superset
def test_instagram_shows_why_its_cohort_conversion_is_missing(superset, picked):
    """Instagram chats carry no phone: no chat links to a CRM contact, so cohort conversion
    is unknown. The won-deals table says so in its status column instead of a 0."""
    (result,) = picked(WON_PER_MANAGER, "instagram")
    rows = result["data"]
    assert rows
    assert {row["cohort_conversion_status"] for row in rows} == {"no_contact_link"}
    assert all(row["cohort_conversion_rate"] is None for row in rows)


def _won_deals_by_channel(superset, channel: str) -> dict[tuple, float]:
    """Won deals per (month, manager name) credited to `channel`, from fct_deal_channels:
    months cut in the reporting time zone, as the marts cut them."""
    rows = superset.query(
        f"""
SELECT
  CAST(DATE_TRUNC('month', dc.won_at AT TIME ZONE '{REPORTING_TZ}') AS DATE) AS period_start,
  d.manager_name,
  COUNT(*) AS won_deals
FROM marts.fct_deal_channels AS dc
JOIN marts.dim_managers AS d ON d.manager_id = dc.manager_id
WHERE dc.is_won AND dc.won_at IS NOT NULL AND dc.channel = '{channel}'
GROUP BY 1, 2
"""
    )
    return {_cell(row): float(row["won_deals"]) for row in rows}


def _cell(row: dict) -> tuple:
    return (normalize(row["period_start"]), row["manager_name"])


@pytest.mark.superset
def test_a_picked_channels_won_deals_are_the_deals_credited_to_it(superset, picked):
    """Each manager's monthly won deals for one channel, through the filter, equal the won
    deals fct_deal_channels credits to that channel; and the channels add up to the team's
    (nothing picked)."""
    totals: dict[tuple, float] = {}
    channels = _channels_with_rows(superset)
    for channel in channels:
        (result,) = picked(WON_PER_MANAGER, channel)
        shown = {_cell(row): row["won_deals"] for row in result["data"]}
        expected = _won_deals_by_channel(superset, channel)
        assert expected, channel
        for cell, won in expected.items():
            assert shown.get(cell) == won, (channel, cell, shown.get(cell), won)
        for cell, won in shown.items():
            assert (won or 0) == expected.get(cell, 0), (channel, cell, won)
            totals[cell] = totals.get(cell, 0) + (won or 0)
    (team,) = picked(WON_PER_MANAGER, None)
    everyone = {_cell(row): row["won_deals"] or 0 for row in team["data"]}
    assert {c: v for c, v in totals.items() if v} == {c: v for c, v in everyone.items() if v}


@pytest.mark.superset
def test_an_unknown_channel_value_shows_nothing(superset, picked):
    """A value that is no channel (as an edited URL could send) is never pasted into the
    SQL: the where-clause falls back to 'all', the filter itself matches no row."""
    for value in ["x' OR '1'='1", "all' --", "telegram') OR (1=1"]:
        for uuid in ON_DASHBOARD:
            for result in picked(uuid, value):
                assert not result.get("data"), (value, CHARTS[uuid]["slice_name"])


# -- the normal range of messages per dialog, one manager at a time -------------------------

NORM_BAND = "58393c70-4200-528d-a472-44dfec0234f7"


def _band_of(manager_name: str) -> Query:
    name = manager_name.replace("'", "''")
    return Query(
        "SELECT n.period_start, n.messages_per_dialog, n.norm_low, n.norm_high "
        "FROM marts.mart_message_norms AS n "
        "JOIN marts.dim_managers AS d ON d.manager_id = n.manager_id "
        f"WHERE n.grain = 'month' AND d.manager_name = '{name}'",
        ("period_start",),
    )


@pytest.mark.superset
def test_the_norm_band_shows_the_picked_manager_or_the_first_of_several(superset, picked):
    names = [
        row["manager_name"]
        for row in superset.query(
            "SELECT DISTINCT d.manager_name FROM marts.mart_message_norms AS n "
            "JOIN marts.dim_managers AS d ON d.manager_id = n.manager_id ORDER BY 1"
        )
    ]
    assert len(names) >= 3
    for value, shown in ((names[2], names[2]), ([names[2], names[1]], names[1])):
        (result,) = picked(NORM_BAND, value, "manager_name")
        band = _band_of(shown)
        problems = compare_query(band, result, superset.query(band.sql))
        assert result["data"] and not problems, (value, problems[:10])
