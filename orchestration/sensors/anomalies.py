"""The rows of marts.mart_anomalies worth an alert: the configured kinds and grains, in the
lookback window before the last day with data."""

from __future__ import annotations

from datetime import date, timedelta

from chatsales.core.settings import Warehouse
from chatsales.core.warehouse import driver_errors, error_line, query
from orchestration.notifications import ANOMALY_FIELDS, AlertSettings

COLUMNS = (*ANOMALY_FIELDS, "last_data_day")
# last_data_day: the day the window is measured back from (the demo data is historical).
SQL = """
select a.kind, a.grain, a.period_start, a.manager_id, m.manager_name, a.metric, a.value,
    a.reason_en, a.reason_ru,
    (select max(period_start) from marts.mart_manager_metrics where grain = 'day')
from marts.mart_anomalies as a
left join marts.dim_managers as m on m.manager_id = a.manager_id
order by a.period_start, a.grain, a.manager_id, a.metric
"""


class WarehouseUnavailable(RuntimeError):
    """The warehouse cannot be read now: DuckDB file locked by a run, or marts not built yet."""


def anomaly_key(row: dict) -> str:
    """What identifies one anomaly (the mart is unique on manager, grain, period, metric; a new
    kind for the same cell is a new reading). Starts with the ISO date, to prune by window."""
    return "|".join(str(row[k]) for k in ("period_start", "grain", "manager_id", "metric", "kind"))


def window_start(last_data_day: date, settings: AlertSettings) -> str:
    return (last_data_day - timedelta(days=settings.lookback_days)).isoformat()


def recent_anomalies(settings: AlertSettings, target: Warehouse) -> tuple[list[dict], str | None]:
    """Anomalies of the configured kinds and grains whose period starts in the lookback window,
    oldest first, and the window's first day (None for an empty mart); raises
    WarehouseUnavailable instead of a driver error."""
    try:
        rows = [dict(zip(COLUMNS, row, strict=True)) for row in query(SQL, target)]
    except driver_errors(target) as error:
        raise WarehouseUnavailable(f"{target.display_name}: {error_line(error)}") from None
    if not rows or rows[0]["last_data_day"] is None:
        return [], None
    start = window_start(rows[0]["last_data_day"], settings)
    return [
        row
        for row in rows
        if row["kind"] in settings.kinds
        and row["grain"] in settings.grains
        and str(row["period_start"]) >= start
    ], start
