"""mart_interventions: the demo company's dated events (its landing folder's interventions.csv,
written by `chatsales demo`) measured 28 days before vs after, and its hypotheses read."""

from __future__ import annotations

import pytest

from chatsales.app.demo.generator import INTERVENTIONS
from chatsales.core.warehouse import query

from .support.comparable_rows import comparable_rows
from .support.demo_landing import added_intervention_id

pytestmark = pytest.mark.warehouse

METRICS = {
    "new_dialogs",
    "won_deals",
    "conversion_rate",
    "messages_per_dialog",
    "response_time_median_s",
    "business_response_time_median_s",
    "sla_share",
}
COLUMNS = (
    "metric, before_value, after_value, pct_change, before_successes, before_trials, "
    "after_successes, after_trials, is_significant, is_before_window_complete, "
    "is_after_window_complete, expected_metric, expected_direction, observed_direction, "
    "is_as_expected, status"
)


def seed_ids() -> set[str]:
    """The demo company's events, as `chatsales demo` writes them into interventions.csv."""
    return {row[0] for row in INTERVENTIONS}


def measured(built, intervention_id: str) -> dict[str, dict]:
    rows = query(
        f"select {COLUMNS} from marts.mart_interventions "
        f"where intervention_id = '{intervention_id}'",
        built.warehouse,
    )
    names = [c.strip() for c in COLUMNS.split(",")]
    return {row[0]: dict(zip(names, row, strict=True)) for row in rows}


@pytest.fixture(scope="module")
def story(story_warehouse):
    return {i: measured(story_warehouse, i) for i in seed_ids()}


def test_each_intervention_has_a_row_per_metric(story):
    assert story.keys() == seed_ids()
    for intervention_id, metrics in story.items():
        assert metrics.keys() == METRICS, intervention_id


def test_every_demo_window_lies_inside_the_demo_data(story):
    for metrics in story.values():
        for row in metrics.values():
            assert row["is_before_window_complete"] and row["is_after_window_complete"]


def test_the_june_campaign_drops_conversion_significantly(story):
    conversion = story["campaign_june_2026"]["conversion_rate"]
    assert 0.09 < conversion["before_value"] < 0.15  # the usual 12%
    assert 0.05 < conversion["after_value"] < 0.09  # 7% in the campaign month
    assert conversion["is_significant"] is True
    assert conversion["before_trials"] >= 400 and conversion["after_trials"] >= 600
    assert story["campaign_june_2026"]["new_dialogs"]["pct_change"] > 0.3  # the cold flood


def test_conversion_recovers_when_the_campaign_ends(story):
    conversion = story["campaign_june_2026_end"]["conversion_rate"]
    assert conversion["after_value"] > conversion["before_value"]
    assert conversion["is_significant"] is True


def test_m03_extra_traffic_reads_as_overload(story):
    m03 = story["m03_extra_traffic"]
    assert m03["new_dialogs"]["pct_change"] > 0.6  # twice the dialogs
    assert m03["response_time_median_s"]["pct_change"] > 0.5  # answering twice as slowly
    assert m03["business_response_time_median_s"]["pct_change"] > 0.5


def test_m04_new_crm_reads_as_slowdown(story):
    m04 = story["m04_new_crm"]
    assert abs(m04["new_dialogs"]["pct_change"]) < 0.2  # same load
    assert m04["response_time_median_s"]["pct_change"] > 0.5


def test_m01_script_is_measured_not_assumed(story):
    """m01's wins grow slowly all period long, with no step at the script: measured over 28
    days, the script shows no significant change of his conversion."""
    m01 = story["m01_objection_script"]
    assert abs(m01["won_deals"]["pct_change"]) < 0.5
    assert m01["conversion_rate"]["is_significant"] is False


def test_every_demo_hypothesis_is_measured_and_read(story):
    for intervention_id, metrics in story.items():
        [expected_metric] = {row["expected_metric"] for row in metrics.values()}
        judged = [row["metric"] for row in metrics.values() if row["is_as_expected"] is not None]
        assert judged == [expected_metric], intervention_id
        for row in metrics.values():
            defined = row["before_value"] is not None and row["after_value"] is not None
            assert row["status"] == ("measured" if defined else "not_enough_data")
            assert (row["observed_direction"] is None) == (not defined)


def test_the_hypotheses_read_as_the_stories_planted(story):
    def held(intervention_id: str) -> bool:
        [row] = [r for r in story[intervention_id].values() if r["is_as_expected"] is not None]
        return row["is_as_expected"]

    assert held("campaign_june_2026")  # the flood of cold dialogs: new dialogs up
    assert held("campaign_june_2026_end")  # conversion recovers
    assert held("m03_extra_traffic")  # twice the dialogs
    assert not held("m04_new_crm")  # expected faster answers; she answers twice as slowly
    assert story["m04_new_crm"]["response_time_median_s"]["observed_direction"] == "up"


def test_mart_interventions_builds(built):
    rows = query(
        "select intervention_id, metric, is_after_window_complete from marts.mart_interventions "
        f"where intervention_id <> '{added_intervention_id()}'",
        built.warehouse,
    )
    assert {(i, m) for i, m, _ in rows} == {(i, m) for i in seed_ids() for m in METRICS}
    # the small demo ends in 2025-10, before every demo event: nothing can be judged yet
    assert not any(complete for _, _, complete in rows)


@pytest.mark.postgres
def test_duckdb_and_postgres_agree(duckdb_warehouse, postgres_warehouse):
    select = "select * from marts.mart_interventions"
    duck = comparable_rows(query(select, duckdb_warehouse.warehouse))
    pg = comparable_rows(query(select, postgres_warehouse.warehouse))
    assert len(duck) == len(pg) > 0
    assert duck == pg
