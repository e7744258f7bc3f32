"""What every chart of superset_exports/ must show, computed independently from the marts.

For each chart (key: the chart's uuid in the bundle) one `Query` per element of the
`result` list of `GET /api/v1/chart/<id>/data/` (the chart's saved query_context, no
dashboard filter applied: each chart keeps only its own default filters). Each query is
plain SQL on schema `marts` that runs unchanged on DuckDB (the serving file) and on
PostgreSQL, written from the marts themselves rather than from the Superset datasets (e.g.
the monthly charts that Superset sums from day rows are checked against the month rows of
the mart; the managers table against mart_manager_metrics, mart_period_comparison and
mart_anomalies separately).

Two shapes:

- `long` (pivoted time series: Superset pivots one column per series): the SQL returns the
  `index` columns, `series` (the chart-data column name the value lands in: a channel, a
  manager's name, a metric name, or "metric, manager name") and `value`. A series/period
  the SQL has no row for must be null (or absent) in the chart.
- `wide` (tables, big numbers, un-grouped series): the SQL returns exactly the chart-data
  columns (same names, quoted where they have spaces).

Rows are matched on `index`; with `ordered=True` the chart rows must also come in the
SQL's order (tables with a row limit). Temporal values are compared as epoch
milliseconds (chart data gives floats; dates are midnight UTC), numbers as floats with
`REL_TOL`/`ABS_TOL`, everything else exactly. `compare_chart()` does all of it:

    problems = compare_chart(REFERENCES[chart_uuid], answer["result"], fetch)
    assert not problems

where `fetch(sql) -> list[dict]` runs SQL on the warehouse the Superset reads.
Big numbers also carry `compare_lag`: the headline is the last row's value and the delta
`last / row[-1 - compare_lag] - 1` (computed by the browser, not by the chart-data API).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

REL_TOL = 1e-9
ABS_TOL = 1e-6
TEAM = "Team"
# where a manager's messages per dialog stands against the normal range (mart_message_norms)
BELOW, INSIDE, ABOVE = "below", "inside", "above"
NO_NORM = "no norm"


@dataclass(frozen=True)
class Query:
    sql: str
    index: tuple[str, ...]
    shape: str = "wide"  # "wide" or "long"
    ordered: bool = False


@dataclass(frozen=True)
class Reference:
    slice_name: str
    viz_type: str
    dashboard: str
    queries: tuple[Query, ...]
    compare_lag: int | None = None


# -- building blocks ---------------------------------------------------------------------

NAMES = "JOIN marts.dim_managers AS d ON d.manager_id = m.manager_id"


def _team_series(grain: str, columns: Sequence[str], channel_rows: bool = False) -> Query:
    """Team totals (manager_id = 'all'), one series per column (or per channel)."""
    if channel_rows:
        (column,) = columns
        return Query(
            f"""
SELECT m.period_start, m.channel AS series, m.{column} AS value
FROM marts.mart_manager_metrics AS m
WHERE m.grain = '{grain}' AND m.manager_id = 'all' AND m.channel <> 'all'
""",
            ("period_start",),
            "long",
        )
    return Query(
        f"""
SELECT m.period_start, {", ".join(f"m.{c}" for c in columns)}
FROM marts.mart_manager_metrics AS m
WHERE m.grain = '{grain}' AND m.manager_id = 'all' AND m.channel = 'all'
""",
        ("period_start",),
    )


def _per_manager(grain: str, expression: str) -> Query:
    """One series per manager (name), all-channel rows of each manager."""
    return Query(
        f"""
SELECT m.period_start, d.manager_name AS series, {expression} AS value
FROM marts.mart_manager_metrics AS m
{NAMES}
WHERE m.grain = '{grain}' AND m.channel = 'all' AND m.manager_id <> 'all'
""",
        ("period_start",),
        "long",
    )


def _first_managers_weeks(*selects: str) -> Query:
    """Week rows (all channels) of the first manager by id: one select list gives wide rows;
    several, each with a `series` and a `value`, give one long series each."""
    where = """
FROM marts.mart_manager_metrics AS m
JOIN marts.dim_managers AS d ON d.manager_id = m.manager_id
WHERE m.grain = 'week' AND m.channel = 'all' AND m.manager_id = (
  SELECT MIN(f.manager_id) FROM marts.mart_manager_metrics AS f
  WHERE f.manager_id NOT IN ('all', 'unassigned')
)
"""
    sql = "UNION ALL".join(f"\nSELECT m.period_start, {select}{where}" for select in selects)
    return Query(sql, ("period_start",), "long" if len(selects) > 1 else "wide")


def _change(metric: str, column: str = "pct_change") -> str:
    return f"""(
    SELECT c.{column} FROM marts.mart_period_comparison AS c
    WHERE c.grain = m.grain AND c.period_start = m.period_start AND c.manager_id = m.manager_id
      AND c.channel = m.channel AND c.metric = '{metric}'
  )"""


def _anomalies(metric: str | None = None) -> str:
    only = f" AND a.metric = '{metric}'" if metric else ""
    return f"""(
    SELECT COUNT(*) FROM marts.mart_anomalies AS a
    WHERE a.grain = m.grain AND a.period_start = m.period_start
      AND a.manager_id = m.manager_id{only}
  )"""


# -- the charts ----------------------------------------------------------------------------

# one standing anomaly: the rows of the same manager, grain, metric and kind since the same period
_SAME_RUN = (
    "o.manager_id = a.manager_id AND o.grain = a.grain AND o.metric = a.metric"
    " AND o.kind = a.kind AND o.standing_since = a.standing_since"
)


def _shown(value: str) -> str:
    """A mart_interventions value as the table shows it: seconds in minutes, rates in percent."""
    return (
        f"CASE WHEN RIGHT(i.metric, 2) = '_s' THEN {value} / 60.0"
        f" WHEN i.is_rate THEN 100 * {value} ELSE {value} END"
    )


# the words the tables show for the marts' codes
GRAINS = {"day": "Day", "week": "Week", "month": "Month"}
ANOMALY_KINDS = {
    "too_few_messages": "Too few messages per dialog",
    "too_many_messages": "Too many messages per dialog",
    "slow_response": "Slower than the team",
    "conversion_drop": "Conversion dropped",
    "overload": "Slower because overloaded",
    "slowdown": "Slower, load flat",
}
RULES = {
    "fixed_range": "The fixed range",
    "team_median_mad": "Usual range of the team",
    "own_trailing_median_mad": "Own usual range",
    "previous_period_u_test": "Against the replies of the previous period",
    "twice_team_median": "Twice the team median",
    "two_proportion_test": "Against the conversion of the previous period",
}
EVENT_KINDS = {
    "script": "Script",
    "training": "Training",
    "team_change": "Team change",
    "campaign": "Campaign",
    "other": "Other",
}
DIRECTIONS = {"up": "Up", "down": "Down", "flat": "Flat"}
STATUSES = {"measured": "Measured", "not_enough_data": "Not enough data yet"}
YES_NO = {True: "Yes", False: "No"}


def _label(expression: str, words: dict) -> str:
    """The word for a code (a boolean: Yes or No), or null."""
    cases = " ".join(
        f"WHEN {str(code).upper() if isinstance(code, bool) else repr(code)} THEN '{word}'"
        for code, word in words.items()
    )
    return f"CASE {expression} {cases} END"


def _day_against(column: str, name: str, scale: str = "") -> str:
    """A day-row metric of mart_manager_metrics on the day, the day before and a week earlier."""
    return ",\n".join(
        f"  {alias}.{column}{scale} AS {name}{suffix}"
        for alias, suffix in (("t", ""), ("b", "_day_before"), ("w", "_week_ago"))
    )


# the last full day (the day before the latest day-grain row) per manager, straight from the
# day rows of mart_manager_metrics rather than from mart_period_comparison
_LAST_FULL_DAY = f"""
SELECT
  t.period_start AS day,
  COALESCE(d.manager_name, CASE WHEN t.manager_id = 'all' THEN '{TEAM}' ELSE t.manager_id END)
    AS manager_name,
{_day_against("response_time_mean_s", "response_mean_min", " / 60.0")},
{_day_against("response_time_median_s", "response_median_min", " / 60.0")},
{_day_against("messages_sent", "messages_sent")},
{_day_against("dialogs_participated", "dialogs")},
  r.reason_en
FROM marts.mart_manager_metrics AS t
LEFT JOIN marts.mart_manager_metrics AS b
  ON b.grain = 'day' AND b.channel = 'all' AND b.manager_id = t.manager_id
  AND b.period_start = t.period_start - 1
LEFT JOIN marts.mart_manager_metrics AS w
  ON w.grain = 'day' AND w.channel = 'all' AND w.manager_id = t.manager_id
  AND w.period_start = t.period_start - 7
LEFT JOIN marts.dim_managers AS d ON d.manager_id = t.manager_id
LEFT JOIN (
  SELECT manager_id, period_start, STRING_AGG(reason_en, '; ' ORDER BY kind) AS reason_en
  FROM marts.mart_anomalies
  WHERE grain = 'day' AND kind IS NOT NULL
  GROUP BY manager_id, period_start
) AS r ON r.manager_id = t.manager_id AND r.period_start = t.period_start
WHERE t.grain = 'day' AND t.channel = 'all'
  AND t.period_start = (
    SELECT MAX(period_start) - 1 FROM marts.mart_manager_metrics WHERE grain = 'day'
  )
ORDER BY t.manager_id
"""

REFERENCES: dict[str, Reference] = {
    # ---------------------------------------------------------------- Overview (overview)
    "7d43dcbd-c4c5-5348-9500-0f3699d23690": Reference(
        "How many new dialogs arrive each month, by channel?",
        "echarts_timeseries_bar",
        "overview",
        # the chart sums the per-manager, per-channel DAY rows by month; the team's month rows
        (_team_series("month", ["new_dialogs"], channel_rows=True),),
    ),
    "003663c8-2c9f-5804-abaf-8c3433b6d76d": Reference(
        "How many new dialogs are incoming and how many outgoing, each month?",
        "echarts_timeseries_bar",
        "overview",
        (_team_series("month", ["new_dialogs_incoming", "new_dialogs_outgoing"]),),
    ),
    "d3a5bebb-92e5-58cc-b1f7-4c40f5cadb27": Reference(
        "How many new dialogs arrive each week, by channel?",
        "echarts_timeseries_line",
        "overview",
        (_team_series("week", ["new_dialogs"], channel_rows=True),),
    ),
    "862a141f-80ac-5c32-97c9-90fa5ffc069c": Reference(
        "How many new dialogs came in the latest month, and how does that compare with the month "
        "before?",
        "big_number",
        "overview",
        (_team_series("month", ["new_dialogs"]),),
        compare_lag=1,
    ),
    "54399f33-973f-52cf-be49-18d5381a38a6": Reference(
        "How many new dialogs came in the latest month, compared with the same month a year "
        "earlier?",
        "big_number",
        "overview",
        (_team_series("month", ["new_dialogs"]),),
        compare_lag=12,
    ),
    "782357b2-19d9-5605-a176-73a0ad36dff2": Reference(
        "How many deals were won in the latest month, and how does that compare with the month "
        "before?",
        "big_number",
        "overview",
        (_team_series("month", ["won_deals"]),),
        compare_lag=1,
    ),
    "a3b28841-13e0-5aa5-818e-9eeadb3124fd": Reference(
        "How many deals were won in the latest month, compared with the same month a year earlier?",
        "big_number",
        "overview",
        (_team_series("month", ["won_deals"]),),
        compare_lag=12,
    ),
    # ---------------------------------------------------------------- Managers (managers)
    "c1d9a6c7-2de0-5214-aa9c-133781ea94b4": Reference(
        "How does each manager do each month: new dialogs, messages per dialog, mean and median "
        "response time and conversion, against the previous month?",
        "table",
        "managers",
        (
            Query(
                f"""
SELECT
  m.period_start,
  d.manager_name,
  m.new_dialogs,
  {_change("new_dialogs")} AS new_dialogs_change,
  m.messages_per_dialog,
  {_change("messages_per_dialog")} AS messages_per_dialog_change,
  {_anomalies("messages_per_dialog")} AS messages_per_dialog_anomalies,
  m.response_time_mean_s / 60.0 AS response_time_mean_min,
  m.response_time_median_s / 60.0 AS response_time_median_min,
  {_change("response_time_median_s")} AS response_time_median_change,
  m.conversion_rate,
  m.conversion_ci_low,
  m.conversion_ci_high,
  100 * {_change("conversion_rate", "abs_change")} AS conversion_change_pp,
  {_anomalies()} AS anomalies
FROM marts.mart_manager_metrics AS m
{NAMES}
WHERE m.grain = 'month' AND m.channel = 'all' AND m.manager_id <> 'all'
""",
                ("period_start", "manager_name"),
            ),
        ),
    ),
    "58393c70-4200-528d-a472-44dfec0234f7": Reference(
        "How many messages per dialog does one manager write against the normal range, month by "
        "month?",
        "echarts_timeseries_line",
        "managers",
        # nothing picked in the filter, and the admin is no manager: the first manager
        (
            Query(
                """
SELECT n.period_start, n.messages_per_dialog, n.norm_low, n.norm_high
FROM marts.mart_message_norms AS n
WHERE n.grain = 'month' AND n.manager_id = (
  SELECT MIN(f.manager_id) FROM marts.mart_message_norms AS f
  WHERE f.manager_id NOT IN ('all', 'unassigned')
)
""",
                ("period_start",),
            ),
        ),
    ),
    "970e1cee-e25a-556e-9840-fb9a030e4e27": Reference(
        "How many new dialogs does each manager get each month?",
        "echarts_timeseries_bar",
        "managers",
        # the chart sums the manager's per-channel DAY rows by month; the manager's month row
        (_per_manager("month", "m.new_dialogs"),),
    ),
    "c2fd4385-52e9-59ac-a8ac-6f71c47bfcc9": Reference(
        "Which managers write more or fewer messages per dialog than their normal range, month "
        "by month?",
        "table",
        "managers",
        # the value from mart_manager_metrics, the range from mart_message_norms
        (
            Query(
                f"""
SELECT
  n.period_start,
  d.manager_name,
  CASE
    WHEN n.norm_low IS NULL OR n.norm_high IS NULL THEN '{NO_NORM}'
    WHEN m.messages_per_dialog < n.norm_low THEN '{BELOW}'
    WHEN m.messages_per_dialog > n.norm_high THEN '{ABOVE}'
    ELSE '{INSIDE}'
  END AS standing,
  n.norm_rule,
  m.messages_per_dialog,
  n.norm_low,
  n.norm_high,
  n.team_median
FROM marts.mart_message_norms AS n
JOIN marts.mart_manager_metrics AS m
  ON m.grain = n.grain AND m.period_start = n.period_start AND m.manager_id = n.manager_id
  AND m.channel = 'all'
JOIN marts.dim_managers AS d ON d.manager_id = n.manager_id
WHERE n.grain = 'month'
""",
                ("period_start", "manager_name"),
            ),
        ),
    ),
    # ---------------------------------------- Response time and load (response-time-and-load)
    "f42ce0c8-ef58-528c-90be-1decfa2147d3": Reference(
        "Is the team slower because it is busier? Weekly median and p90 response time against "
        "dialogs and messages",
        "mixed_timeseries",
        "response-time-and-load",
        (
            Query(
                """
SELECT m.period_start,
  m.response_time_median_s / 60.0 AS response_time_median_min,
  m.response_time_p90_s / 60.0 AS response_time_p90_min
FROM marts.mart_manager_metrics AS m
WHERE m.grain = 'week' AND m.manager_id = 'all' AND m.channel = 'all'
""",
                ("period_start",),
            ),
            _team_series("week", ["dialogs_participated", "messages_sent"]),
        ),
    ),
    "913cf691-79de-5757-aa13-c3b55cbbf037": Reference(
        "Is a manager slower because of load? One manager's weekly mean and median response time "
        "against the dialogs they handle",
        "mixed_timeseries",
        "response-time-and-load",
        # nothing picked in the filter, and the admin is no manager: the first manager
        (
            _first_managers_weeks(
                "'response_time_mean_min, ' || d.manager_name AS series,"
                " m.response_time_mean_s / 60.0 AS value",
                "'response_time_median_min, ' || d.manager_name AS series,"
                " m.response_time_median_s / 60.0 AS value",
            ),
            _first_managers_weeks("m.dialogs_participated"),
        ),
    ),
    "385ac2ff-5492-51e5-8e31-59a198ab39f4": Reference(
        "How long do each manager's slowest replies take? Weekly p90 response time, min",
        "echarts_timeseries_line",
        "response-time-and-load",
        (_per_manager("week", "m.response_time_p90_s / 60.0"),),
    ),
    "21d38161-b6bb-5cfd-91f0-bbe351861e5e": Reference(
        "How many messages does each manager send each week?",
        "echarts_timeseries_bar",
        "response-time-and-load",
        # the chart sums the manager's per-channel DAY rows by ISO week; the manager's week row
        (_per_manager("week", "m.messages_sent"),),
    ),
    "925aefb8-803d-523d-a010-ea88e296813a": Reference(
        "What share of waits does each manager answer within the SLA, week by week?",
        "echarts_timeseries_line",
        "response-time-and-load",
        (_per_manager("week", "m.sla_share"),),
    ),
    "43da26a0-ccee-5aca-8317-71222b6c5ceb": Reference(
        "How many dialogs does each manager juggle at once? Weekly peak concurrent dialogs",
        "echarts_timeseries_line",
        "response-time-and-load",
        (_per_manager("week", "m.peak_concurrent_dialogs"),),
    ),
    # ---------------------------------------------------------------- Conversion (conversion)
    "d9ea2b5f-25ea-58bb-aec6-7363a63339d7": Reference(
        "How does the team's conversion change month by month, and how sure are we (95% interval)?",
        "echarts_timeseries_line",
        "conversion",
        (_team_series("month", ["conversion_rate", "conversion_ci_low", "conversion_ci_high"]),),
    ),
    "1c53db3c-c857-5f12-9116-f97647e1c520": Reference(
        "What share of each month's new dialogs ended in a won deal within the window (cohort "
        "conversion, 95% interval)?",
        "echarts_timeseries_line",
        "conversion",
        (
            _team_series(
                "month",
                ["cohort_conversion_rate", "cohort_conversion_ci_low", "cohort_conversion_ci_high"],
            ),
        ),
    ),
    "5319d1f2-967a-5f67-b463-b48871c9c835": Reference(
        "How does each manager's conversion change month by month?",
        "echarts_timeseries_line",
        "conversion",
        (
            Query(
                "\nUNION ALL\n".join(
                    f"""
SELECT m.period_start, '{column}, ' || d.manager_name AS series, m.{column} AS value
FROM marts.mart_manager_metrics AS m
{NAMES}
WHERE m.grain = 'month' AND m.channel = 'all' AND m.manager_id <> 'all'
"""
                    for column in ("conversion_rate", "conversion_ci_low", "conversion_ci_high")
                ),
                ("period_start",),
                "long",
            ),
        ),
    ),
    "43d940ea-e507-5f9f-a265-92ba407a6bf4": Reference(
        "How many deals did each manager win in the latest month, against the month before?",
        "echarts_timeseries_bar",
        "conversion",
        (
            Query(
                """
SELECT
  d.manager_name,
  p.won_deals AS "Previous month",
  m.won_deals AS "This month"
FROM marts.mart_manager_metrics AS m
JOIN marts.dim_managers AS d ON d.manager_id = m.manager_id
LEFT JOIN marts.mart_manager_metrics AS p
  ON p.grain = 'month' AND p.manager_id = m.manager_id AND p.channel = 'all'
  AND p.period_start = (
    SELECT MAX(x.period_start) FROM marts.mart_manager_metrics AS x
    WHERE x.grain = 'month' AND x.period_start < m.period_start
  )
WHERE m.grain = 'month' AND m.channel = 'all' AND m.manager_id <> 'all'
  AND m.period_start = (
    SELECT MAX(y.period_start) FROM marts.mart_manager_metrics AS y WHERE y.grain = 'month'
  )
""",
                ("manager_name",),
            ),
        ),
    ),
    "6fe45e38-2714-50b1-b5ea-c632ad677f65": Reference(
        "How many deals did each manager win each month, against the previous month, and is the "
        "change real?",
        "table",
        "conversion",
        (
            Query(
                f"""
SELECT
  m.period_start,
  d.manager_name,
  {_change("won_deals", "previous_value")} AS won_deals_previous,
  m.won_deals,
  {_change("won_deals", "abs_change")} AS won_deals_change,
  {_change("won_deals")} AS won_deals_change_pct,
  m.conversion_rate,
  m.conversion_ci_low,
  m.conversion_ci_high,
  100 * {_change("conversion_rate", "abs_change")} AS conversion_change_pp,
  m.cohort_conversion_rate,
  m.cohort_conversion_status
FROM marts.mart_manager_metrics AS m
{NAMES}
WHERE m.grain = 'month' AND m.channel = 'all' AND m.manager_id <> 'all'
""",
                ("period_start", "manager_name"),
            ),
        ),
    ),
    # ------------------------------------------------ Anomalies and interventions (anomalies)
    "da438a47-e9b5-5a03-8e56-ff765150af68": Reference(
        "Which managers were off their normal, when, and why?",
        "table",
        "anomalies",
        (
            Query(
                f"""
SELECT
  a.period_start,
  {_label("a.grain", GRAINS)} AS grain_label,
  COALESCE(d.manager_name, '{TEAM}') AS manager_name,
  {_label("a.kind", ANOMALY_KINDS)} AS kind_label,
  {_label("a.judged_by", RULES)} AS judged_by_label,
  CAST(a.standing_since AS VARCHAR) AS "Standing since",
  (SELECT COUNT(*) FROM marts.mart_anomalies AS o WHERE {_SAME_RUN}) AS periods_standing,
  a.reason_en,
  a.severity AS max_severity,
  a.value AS "Value",
  a.expected_low AS "Expected from",
  a.expected_high AS "Expected to"
FROM marts.mart_anomalies AS a
LEFT JOIN marts.dim_managers AS d ON d.manager_id = a.manager_id
WHERE a.period_start = (SELECT MAX(o.period_start) FROM marts.mart_anomalies AS o WHERE {_SAME_RUN})
""",
                ("period_start", "grain_label", "manager_name", "kind_label", "reason_en"),
            ),
        ),
    ),
    "3e5a2b74-5cbd-5dfb-8b07-aa5c477ae2fe": Reference(
        "Did each new script, training or team change move the metrics? 28 days before vs after",
        "table",
        "anomalies",
        (
            Query(
                f"""
SELECT
  i.event_date,
  i.title,
  i.description,
  {_label("i.kind", EVENT_KINDS)} AS kind_label,
  COALESCE(d.manager_name, '{TEAM}') AS manager_name,
  m.metric_name_en
    || CASE WHEN RIGHT(i.metric, 2) = '_s' THEN ', min' WHEN i.is_rate THEN ', %' ELSE '' END
    AS metric_name_en,
  {_shown("i.before_value")} AS before_shown,
  {_shown("i.after_value")} AS after_shown,
  CASE WHEN NOT i.is_rate THEN i.pct_change END AS change_pct,
  CASE WHEN i.is_rate THEN 100 * i.abs_change END AS change_pp,
  {_label("i.is_significant", YES_NO)} AS is_significant_label,
  e.metric_name_en AS expected_metric_name_en,
  {_label("i.expected_direction", DIRECTIONS)} AS expected_direction_label,
  {_label("i.observed_direction", DIRECTIONS)} AS observed_direction_label,
  {_label("i.is_as_expected", YES_NO)} AS is_as_expected_label,
  {_label("i.status", STATUSES)} AS status_label
FROM marts.mart_interventions AS i
LEFT JOIN marts.dim_managers AS d ON d.manager_id = i.manager_id
LEFT JOIN marts.dim_metrics AS m ON m.metric = i.metric
LEFT JOIN marts.dim_metrics AS e ON e.metric = i.expected_metric
ORDER BY i.event_date DESC, i.intervention_id, i.metric
""",
                ("title", "metric_name_en"),
                ordered=True,
            ),
        ),
    ),
    "aa5be3c5-815b-5db2-9322-d5f0f55ecfc3": Reference(
        "Yesterday against the day before and a week earlier: how fast did each manager answer,"
        " and how busy were they?",
        "table",
        "day",
        (Query(_LAST_FULL_DAY, ("manager_name",), ordered=True),),
    ),
    "0a78a7f4-9a46-5686-a504-db7f2dbb1492": Reference(
        "Which dialogs did this manager have? (drill-down: pick a manager or click one above)",
        "table",
        "anomalies",
        (
            Query(
                """
SELECT
  dl.started_at,
  COALESCE(d.manager_name, dl.owner_manager_id) AS manager_name,
  dl.channel,
  CASE dl.direction WHEN 'incoming' THEN 'Incoming' WHEN 'outgoing' THEN 'Outgoing' END
    AS direction,
  dl.message_count,
  fw.first_response_s / 60.0 AS first_response_min,
  CASE WHEN dl.won_deal_id IS NULL THEN 'not won' ELSE 'won' END AS outcome,
  dl.dialog_id
FROM marts.fct_dialogs AS dl
LEFT JOIN marts.dim_managers AS d ON d.manager_id = dl.owner_manager_id
LEFT JOIN (
  SELECT w.dialog_id, MIN(w.response_time_s) AS first_response_s
  FROM marts.fct_waits AS w
  WHERE w.is_first_wait = TRUE
  GROUP BY w.dialog_id
) AS fw ON fw.dialog_id = dl.dialog_id
ORDER BY dl.started_at DESC
LIMIT 5000
""",
                ("dialog_id",),
                ordered=True,
            ),
        ),
    ),
    "3945799e-bef7-58ca-ae5f-7a426a0fb3b7": Reference(
        "Which messages were written in this dialog, in time order? (click a dialog above)",
        "table",
        "anomalies",
        (
            Query(
                """
SELECT
  m.sent_at,
  CASE m.sender_kind WHEN 'client' THEN 'Client' WHEN 'manager' THEN 'Manager'
    WHEN 'automation' THEN 'Automation' WHEN 'system' THEN 'System' END AS side,
  m.author_name AS author,
  m.message_text,
  w.response_time_s / 60.0 AS response_min,
  m.dialog_id,
  m.message_id
FROM marts.fct_messages AS m
JOIN marts.fct_dialogs AS dl ON dl.dialog_id = m.dialog_id
LEFT JOIN marts.fct_waits AS w ON w.reply_message_id = m.message_id
ORDER BY dl.started_at DESC, m.dialog_id DESC, m.sent_at, m.message_id
LIMIT 1000
""",
                ("message_id",),
                ordered=True,
            ),
        ),
    ),
}


# -- comparing -------------------------------------------------------------------------------


def normalize(value):
    """Chart-data and database values on one footing: temporal -> epoch ms (float), numbers ->
    float, NaN -> None; strings and booleans unchanged."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.timestamp() * 1000.0
    if isinstance(value, dt.date):
        midnight = dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
        return midnight.timestamp() * 1000.0
    if isinstance(value, (int, Decimal)):
        return float(value)
    if isinstance(value, float):
        return None if math.isnan(value) else value
    return value


def _key(row: dict, index: Sequence[str]) -> tuple:
    return tuple(
        round(v, 3) if isinstance(v, float) else v for v in (normalize(row[c]) for c in index)
    )


def _same(a, b) -> bool:
    a, b = normalize(a), normalize(b)
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    return a == b


def _cells(rows: Sequence[dict], index: Sequence[str]) -> dict[tuple, object]:
    return {(_key(r, index), c): v for r in rows for c, v in r.items() if c not in index}


def compare_query(query: Query, chart: dict, expected_rows: Sequence[dict]) -> list[str]:
    """Problems between one chart-data result element and the rows of query.sql."""
    rows = chart.get("data") or []
    if chart.get("error"):
        return [f"chart-data error: {chart['error']}"]
    problems: list[str] = []
    if query.shape == "long":
        want = {(_key(r, query.index), r["series"]): r["value"] for r in expected_rows}
        have = _cells(rows, query.index)
        for cell, value in want.items():
            if cell not in have and value is not None:
                problems.append(f"missing {cell}: expected {value}")
            elif cell in have and have[cell] is None and value == 0:
                continue  # a sum over no day rows is a gap in the chart, a 0 row in the mart
            elif cell in have and not _same(have[cell], value):
                problems.append(f"{cell}: chart {have[cell]} != sql {value}")
        for cell, value in have.items():
            if cell not in want and value is not None:
                problems.append(f"unexpected {cell} = {value}")
    else:
        if len(rows) != len(expected_rows):
            problems.append(f"{len(rows)} chart rows, {len(expected_rows)} sql rows")
        want = {_key(r, query.index): r for r in expected_rows}
        have = {_key(r, query.index): r for r in rows}
        if len(want) != len(expected_rows) or len(have) != len(rows):
            problems.append(f"index {query.index} is not unique")
        for key, row in want.items():
            got = have.get(key)
            if got is None:
                problems.append(f"missing row {key}")
                continue
            if set(got) != set(row):
                problems.append(f"columns: chart {sorted(got)} != sql {sorted(row)}")
            for column, value in row.items():
                if column in got and not _same(got[column], value):
                    problems.append(f"{key} {column}: chart {got[column]} != sql {value}")
        problems += [f"unexpected row {key}" for key in have if key not in want]
        order = [_key(r, query.index) for r in rows]
        if (
            query.ordered
            and not problems
            and order != [_key(r, query.index) for r in expected_rows]
        ):
            problems.append("rows are not in the expected order")
    return problems


def compare_chart(
    reference: Reference, results: Sequence[dict], fetch: Callable[[str], list[dict]]
) -> list[str]:
    """All problems of one chart: `results` is the chart-data answer's `result` list."""
    if len(results) != len(reference.queries):
        return [f"{len(results)} results, {len(reference.queries)} reference queries"]
    problems = []
    for n, (query, chart) in enumerate(zip(reference.queries, results, strict=True)):
        problems += [f"[{n}] {p}" for p in compare_query(query, chart, fetch(query.sql))]
    return problems
