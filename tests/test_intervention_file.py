"""Hypotheses without editing the project: `<landing>/interventions.csv`, written by the head of
sales or by `chatsales intervention add`, loaded by the directory source (bad rows quarantined)
and measured in mart_interventions with the expected and observed direction and a status."""

from __future__ import annotations

import csv
import statistics
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from chatsales.app.cli import main
from chatsales.core.settings import reporting_timezone
from chatsales.core.warehouse import query
from ingestion.directory import directory
from ingestion.directory import interventions as intervention_file

from .support.demo_landing import ADDED_INTERVENTION, added_intervention_id
from .support.dlt_helpers import load, rows
from .support.paths import REPO_ROOT

MANAGERS = {"m01", "m02"}
HEADER = ",".join(intervention_file.COLUMNS)
GOOD = "m01_script,2026-03-02,m01,script,New script,Details,conversion_rate,up"
WINDOW_DAYS = 28


def write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


# -- the rows: each reason a row is quarantined ------------------------------------------------
@pytest.mark.unit
@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("x,2026-02-30,m01,script,T,,conversion_rate,up", "bad event_date '2026-02-30'"),
        ("x,02.03.2026,m01,script,T,,conversion_rate,up", "bad event_date '02.03.2026'"),
        ("x,2026-03-02,m01,webinar,T,,conversion_rate,up", "unknown kind 'webinar'"),
        ("x,2026-03-02,m01,script,T,,happiness,up", "unknown expected_metric 'happiness'"),
        ("x,2026-03-02,m01,script,T,,conversion_rate,sideways",
         "unknown expected_direction 'sideways'"),
        ("x,2026-03-02,m99,script,T,,conversion_rate,up", "unknown manager_id 'm99'"),
        (",2026-03-02,m01,script,T,,conversion_rate,up", "missing required field intervention_id"),
        ("x,2026-03-02,,script,,,conversion_rate,up", "missing required field manager_id, title"),
        ("m01_script,2026-03-09,m02,training,T,,won_deals,down",
         "duplicate intervention_id 'm01_script' (first on line 2)"),
    ],
)  # fmt: skip
def test_a_bad_row_is_quarantined_with_file_line_and_reason(tmp_path, line, reason):
    path = write(tmp_path / "interventions.csv", HEADER, GOOD, line)
    good, rejected = intervention_file.read_interventions(path, MANAGERS)
    assert [row["intervention_id"] for row in good] == ["m01_script"]
    [record] = rejected
    assert (record["location"], record["line"], record["record_kind"]) == (
        "interventions.csv", 3, "intervention",
    )  # fmt: skip
    assert record["reason"].startswith(reason)
    assert record["raw_payload"]  # the row, whole


@pytest.mark.unit
def test_good_rows_are_typed_and_the_team_is_all(tmp_path):
    path = write(
        tmp_path / "interventions.csv",
        HEADER,
        GOOD,
        " team ,2026-06-01, ALL ,Campaign,June ads,,New_Dialogs,UP",
    )
    good, rejected = intervention_file.read_interventions(path, MANAGERS)
    assert rejected == []
    assert good[1] == {
        "intervention_id": "team", "event_date": date(2026, 6, 1), "manager_id": "all",
        "kind": "campaign", "title": "June ads", "description": None,
        "expected_metric": "new_dialogs", "expected_direction": "up",
    }  # fmt: skip


@pytest.mark.unit
def test_no_file_is_no_interventions_and_a_file_without_columns_loads_nothing(tmp_path):
    assert intervention_file.read_interventions(tmp_path / "absent.csv", MANAGERS) == ([], [])
    path = write(
        tmp_path / "interventions.csv", "intervention_id,event_date,title", "a,2026-01-01,T"
    )
    good, [record] = intervention_file.read_interventions(path, MANAGERS)
    assert good == [] and record["line"] == 1
    missing = "manager_id, kind, expected_metric, expected_direction"
    assert f"missing columns {missing}" in record["reason"]


@pytest.mark.unit
def test_the_metrics_are_those_the_mart_measures():
    mart = (REPO_ROOT / "dbt_project/models/marts/mart_interventions.sql").read_text()
    for metric in intervention_file.METRICS:
        assert f"'{metric}'" in mart


# -- `chatsales intervention add` ---------------------------------------------------------------
@pytest.fixture
def landing(tmp_path) -> Path:
    folder = tmp_path / "landing"
    folder.mkdir()
    write(
        folder / "managers.csv",
        "manager_id,name,crm_user_id,wazzup_channel_ids,telegram_user_ids,whatsapp_names,"
        "timezone,active",
        "m01,Алексей,1,,,,Europe/Moscow,true",
        "m02,Мария,2,,,,Europe/Moscow,true",
    )
    return folder


def add(landing: Path, *args: str) -> int:
    return main(["intervention", "add", "--landing", str(landing), *args])


ARGS = (
    "--date", "2026-03-02", "--manager", "m01", "--kind", "script",
    "--title", "New 'too expensive' script", "--expected-metric", "conversion_rate",
    "--expected-direction", "up",
)  # fmt: skip


@pytest.mark.unit
def test_add_writes_a_good_row_with_a_stable_id(landing, capsys):
    assert add(landing, *ARGS, "--description", "Price objections, new answers") == 0
    assert "✓ added: 2026-03-02_m01_new_too_expensive_script" in capsys.readouterr().out
    assert read(landing / "interventions.csv") == [
        {
            "intervention_id": "2026-03-02_m01_new_too_expensive_script",
            "event_date": "2026-03-02", "manager_id": "m01", "kind": "script",
            "title": "New 'too expensive' script", "description": "Price objections, new answers",
            "expected_metric": "conversion_rate", "expected_direction": "up",
        }
    ]  # fmt: skip
    # what the command wrote, the loader reads back whole
    good, rejected = intervention_file.read_interventions(landing / "interventions.csv", MANAGERS)
    assert len(good) == 1 and rejected == []


@pytest.mark.unit
def test_add_does_not_duplicate_an_id(landing, capsys):
    assert add(landing, *ARGS) == 0
    assert add(landing, *ARGS) == 0  # the same row again: already there, not added twice
    assert "already there" in capsys.readouterr().out
    assert len(read(landing / "interventions.csv")) == 1
    other = ("--date", "2026-04-01", "--manager", "all", "--kind", "training", "--title", "T",
             "--expected-metric", "sla_share", "--expected-direction", "up")  # fmt: skip
    assert add(landing, *other, "--id", "2026-03-02_m01_new_too_expensive_script") == 2
    assert "is already in" in capsys.readouterr().err
    assert add(landing, *other, "--id", "team_training") == 0
    assert [r["intervention_id"] for r in read(landing / "interventions.csv")] == [
        "2026-03-02_m01_new_too_expensive_script", "team_training",
    ]  # fmt: skip


@pytest.mark.unit
def test_add_appends_to_a_file_the_head_of_sales_wrote(landing):
    (landing / "interventions.csv").write_text(f"{HEADER}\n{GOOD}", encoding="utf-8")  # no "\n"
    assert add(landing, *ARGS) == 0
    assert [r["intervention_id"] for r in read(landing / "interventions.csv")] == [
        "m01_script", "2026-03-02_m01_new_too_expensive_script",
    ]  # fmt: skip


@pytest.mark.unit
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("--date", "2026-13-01"), "bad event_date '2026-13-01'"),
        (("--manager", "m99"), "unknown manager_id 'm99' (not in managers.csv)"),
        (("--kind", "webinar"), "unknown kind 'webinar'"),
        (("--expected-metric", "revenue"), "unknown expected_metric 'revenue'"),
        (("--expected-direction", "flat"), "unknown expected_direction 'flat'"),
        (("--title", " "), "missing required field title"),
    ],
)  # fmt: skip
def test_add_refuses_a_bad_row_with_the_reason(landing, capsys, change, message):
    args = list(ARGS)
    args[args.index(change[0]) + 1] = change[1]
    assert add(landing, *args) == 2
    assert f"✗ not added: {message}" in capsys.readouterr().err
    assert not (landing / "interventions.csv").exists()


# -- the directory source ---------------------------------------------------------------------
@pytest.mark.integration
def test_the_directory_source_loads_good_rows_and_quarantines_bad_ones(tmp_path, landing):
    write(
        landing / "interventions.csv",
        HEADER,
        GOOD,
        "bad,2026-03-02,m77,script,T,,conversion_rate,up",
        "team,2026-06-01,all,campaign,June ads,,new_dialogs,up",
    )
    expected = {"managers": 2, "manager_identities": 2, "interventions": 2, "quarantine": 1}
    assert load(tmp_path, directory(landing)) == expected
    assert load(tmp_path, directory(landing)) == expected  # replaced whole: nothing twice
    assert rows(tmp_path, "select location, line, reason from raw_directory.quarantine") == [
        ("interventions.csv", 3, "unknown manager_id 'm77' (not in managers.csv)")
    ]
    assert rows(
        tmp_path,
        "select intervention_id, event_date, expected_metric from raw_directory.interventions "
        "order by 1",
    ) == [
        ("m01_script", date(2026, 3, 2), "conversion_rate"),
        ("team", date(2026, 6, 1), "new_dialogs"),
    ]  # fmt: skip
    (landing / "interventions.csv").unlink()  # gone: no interventions, not an error
    assert load(tmp_path, directory(landing))["interventions"] == 0


# -- the session warehouses: an intervention added through the landing file, measured ---------
def _window_days(event_date: date) -> dict[str, tuple[date, date]]:
    span = timedelta(days=WINDOW_DAYS)
    return {"before": (event_date - span, event_date), "after": (event_date, event_date + span)}


def _independent(built, manager_id: str, event_date: date) -> dict[str, dict[str, float | None]]:
    """The metrics of each window from mart_manager_metrics day rows (sums) and fct_waits
    (the median, computed here), not from mart_interventions."""
    zone = ZoneInfo(reporting_timezone())
    waits = query(
        "select started_at, response_time_s from marts.fct_waits "
        f"where credited_manager_id = '{manager_id}' and status = 'answered'",
        built.warehouse,
    )
    values = {}
    for name, (start, end) in _window_days(event_date).items():
        [(dialogs, won, answered, within_sla)] = query(
            "select sum(new_dialogs), sum(won_deals), sum(waits_answered), "
            "sum(waits_answered_within_sla) from marts.mart_manager_metrics "
            f"where grain = 'day' and channel = 'all' and manager_id = '{manager_id}' "
            f"and period_start >= date '{start}' and period_start < date '{end}'",
            built.warehouse,
        )
        times = [
            float(seconds)
            for started_at, seconds in waits
            if start <= _local_day(started_at, zone) < end
        ]
        values[name] = {
            "new_dialogs": float(dialogs),
            "won_deals": float(won),
            "conversion_rate": float(won) / float(dialogs),
            "sla_share": float(within_sla) / float(answered),
            "response_time_median_s": statistics.median(times),
        }
    return values


def _local_day(started_at: datetime, zone: ZoneInfo) -> date:
    if started_at.tzinfo is None:  # a naive UTC timestamp
        started_at = started_at.replace(tzinfo=ZoneInfo("UTC"))
    return started_at.astimezone(zone).date()


def _direction(before: float, after: float) -> str:
    if abs(after - before) <= 0.05 * abs(before):
        return "flat"
    return "up" if after > before else "down"


@pytest.mark.warehouse
def test_an_intervention_added_through_the_landing_file_is_measured(built):
    intervention_id = added_intervention_id()
    event_date = date.fromisoformat(ADDED_INTERVENTION["--date"])
    columns = (
        "metric, before_value, after_value, status, observed_direction, is_as_expected, "
        "expected_metric, expected_direction, description, before_window_start, after_window_end"
    )
    names = [c.strip() for c in columns.split(",")]
    found = {
        row[0]: dict(zip(names, row, strict=True))
        for row in query(
            f"select {columns} from marts.mart_interventions "
            f"where intervention_id = '{intervention_id}'",
            built.warehouse,
        )
    }
    assert len(found) == 7
    expected = _independent(built, ADDED_INTERVENTION["--manager"], event_date)
    for metric, before in expected["before"].items():
        row, after = found[metric], expected["after"][metric]
        assert row["before_value"] == pytest.approx(before, abs=0.0011), metric
        assert row["after_value"] == pytest.approx(after, abs=0.0011), metric
        assert row["status"] == "measured", metric
        assert row["observed_direction"] == _direction(before, after), metric
    the_expected = found[ADDED_INTERVENTION["--expected-metric"]]
    assert the_expected["is_as_expected"] is (
        the_expected["observed_direction"] == ADDED_INTERVENTION["--expected-direction"]
    )
    assert [r["is_as_expected"] for m, r in found.items() if m != the_expected["metric"]] == [
        None
    ] * 6
    row = found["new_dialogs"]
    assert (row["expected_metric"], row["expected_direction"], row["description"]) == (
        ADDED_INTERVENTION["--expected-metric"],
        ADDED_INTERVENTION["--expected-direction"],
        ADDED_INTERVENTION["--description"],
    )
    assert (row["before_window_start"], row["after_window_end"]) == (
        event_date - timedelta(days=WINDOW_DAYS),
        event_date + timedelta(days=WINDOW_DAYS - 1),
    )


@pytest.mark.warehouse
def test_the_demo_interventions_wait_for_their_data(built):
    """The demo's own events are in 2026, after the small demo's months: not judged yet."""
    rows_ = query(
        "select status, count(*), count(is_as_expected) from marts.mart_interventions "
        f"where intervention_id <> '{added_intervention_id()}' group by status",
        built.warehouse,
    )
    assert [(status, judged) for status, _, judged in rows_] == [("not_enough_data", 0)]
