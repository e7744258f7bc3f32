"""`chatsales ui` on the DuckDB warehouse built by `chatsales run`: the code location loads,
the asset graph runs from landing to marts with checks, the CLI's run is in the history, the
DuckDB file stays free for the pipeline, and Chromium photographs the graph and the runs."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from .support.browser import CHROMIUM
from .support.dagster_ui import (
    LOCATIONS,
    dagster_ui,
    screenshot_asset_graph,
    screenshot_page,
)
from .support.paths import REPO_ROOT

pytestmark = [pytest.mark.warehouse, pytest.mark.dagster]

ARTIFACTS = REPO_ROOT / "test-artifacts" / "dagster"
LINEAGE = [
    ["raw_wazzup", "messages"],
    ["staging", "stg_wazzup__messages"],
    ["intermediate", "int_messages"],
    ["marts", "fct_messages"],
    ["marts", "mart_manager_metrics"],
]
ASSET_NODES = """{ assetNodes { assetKey { path } dependencyKeys { path } hasAssetChecks
  assetChecksOrError { __typename ... on AssetChecks { checks { name } } } } }"""
RUN = """query($id: ID!) { runOrError(runId: $id) { __typename
  ... on Run { status jobName } ... on Error { message } } }"""
RUNS = "{ runsOrError { __typename ... on Runs { results { runId status } } } }"
PARTITION_STATS = """query($path: [String!]!) { assetNodeOrError(assetKey: {path: $path}) {
  ... on AssetNode { partitionStats { numMaterialized numPartitions numFailed } } } }"""


@pytest.fixture(scope="session")
def duckdb_ui(duckdb_warehouse):
    """One running UI on the DuckDB warehouse's instance for the whole session."""
    with dagster_ui(duckdb_warehouse.env) as ui:
        print(f"Dagster UI up in {ui.started_in:.1f}s at {ui.url}, log {ui.log_path}")
        yield ui


@pytest.fixture(scope="module")
def asset_nodes(duckdb_ui) -> dict[tuple[str, ...], dict]:
    nodes = duckdb_ui.graphql(ASSET_NODES)["assetNodes"]
    return {tuple(node["assetKey"]["path"]): node for node in nodes}


def test_code_location_loaded_and_warehouse_left_free(duckdb_ui, duckdb_warehouse):
    entries = duckdb_ui.graphql(LOCATIONS)["workspaceOrError"]["locationEntries"]
    assert [e["loadStatus"] for e in entries] == ["LOADED"]
    assert entries[0]["locationOrLoadError"]["__typename"] == "RepositoryLocation"
    # DuckDB locks its file across processes: the UI must not hold the warehouse open,
    # or `chatsales run` (and the UI's own runs) could not write it.
    with duckdb.connect(str(duckdb_warehouse.warehouse.duckdb_path)) as connection:
        connection.execute("CREATE TEMP TABLE ui_probe AS SELECT 1 AS x")
        assert connection.execute("SELECT count(*) FROM marts.fct_messages").fetchone()[0] > 0


def test_lineage_runs_from_landing_to_marts(asset_nodes):
    for key in LINEAGE:
        assert tuple(key) in asset_nodes, f"{'/'.join(key)} missing from the asset graph"
    stg = asset_nodes[("staging", "stg_wazzup__messages")]
    assert ["raw_wazzup", "messages"] in [d["path"] for d in stg["dependencyKeys"]]
    upstream, todo = set(), [("marts", "mart_manager_metrics")]
    while todo:
        for dep in asset_nodes[todo.pop()]["dependencyKeys"]:
            if (key := tuple(dep["path"])) not in upstream:
                upstream.add(key)
                todo.append(key)
    assert {tuple(key) for key in LINEAGE[:-1]} <= upstream


def test_marts_carry_asset_checks(asset_nodes):
    checked = [key for key, node in asset_nodes.items() if node["hasAssetChecks"]]
    assert ("marts", "fct_messages") in checked
    checks = asset_nodes[("marts", "fct_messages")]["assetChecksOrError"]
    assert checks["__typename"] == "AssetChecks" and checks["checks"]


def test_run_of_chatsales_run_is_in_history(duckdb_ui, duckdb_warehouse):
    run_id = re.search(r"Run ([0-9a-f-]{36})", duckdb_warehouse.first_run.stdout).group(1)
    run = duckdb_ui.graphql(RUN, {"id": run_id})["runOrError"]
    assert run == {"__typename": "Run", "status": "SUCCESS", "jobName": "warehouse_job"}
    history = duckdb_ui.graphql(RUNS)["runsOrError"]["results"]
    assert run_id in [r["runId"] for r in history]


def test_the_run_shows_every_partition_materialized(duckdb_ui):
    # the partitions start on the first day with messages (the run recorded it), and the run
    # was recorded on every day (tests/test_partition_status.py)
    for path in (["marts", "fct_messages"], ["marts", "mart_manager_metrics"]):
        node = duckdb_ui.graphql(PARTITION_STATS, {"path": path})["assetNodeOrError"]
        stats = node["partitionStats"]
        assert stats["numPartitions"] > 300 and stats["numFailed"] == 0, path
        assert stats["numMaterialized"] == stats["numPartitions"], path


@pytest.mark.browser
def test_screenshots_of_asset_graph_and_runs(duckdb_ui, duckdb_warehouse):
    if not Path(CHROMIUM).exists():
        pytest.skip("no chromium (Debian: apt-get install chromium) for the screenshots")
    graph_text = screenshot_asset_graph(duckdb_ui, ARTIFACTS / "asset_graph.png")
    # long names are cut in the middle on the whole-graph zoom ("stg_waz…__messages")
    assert "fct_messages" in graph_text and "fct_waits" in graph_text
    assert not re.search(r"\berror\b", graph_text, re.IGNORECASE), graph_text[:2000]
    assert (ARTIFACTS / "asset_graph.png").stat().st_size > 50_000
    run_id = re.search(r"Run ([0-9a-f-]{36})", duckdb_warehouse.first_run.stdout).group(1)
    runs_text = screenshot_page(duckdb_ui, ARTIFACTS / "runs.png", "/runs", wait_for=run_id[:8])
    assert run_id[:8] in runs_text and "warehouse_job" in runs_text
    assert (ARTIFACTS / "runs.png").stat().st_size > 20_000
    route = "/assets/marts/fct_messages?view=partitions"
    partitions_text = screenshot_page(duckdb_ui, ARTIFACTS / "partitions.png", route,
                                      wait_for="Materialized (")  # fmt: skip
    assert "Missing (0)" in partitions_text, partitions_text[:2000]
