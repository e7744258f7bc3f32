"""The Dagster definitions load, and dlt and dbt assets form one lineage graph."""

from __future__ import annotations

import pytest
from dagster import AssetKey, Definitions

pytestmark = pytest.mark.dagster


@pytest.fixture(scope="module")
def defs(dagster_defs) -> Definitions:
    return dagster_defs


def test_definitions_validate(defs):
    Definitions.validate_loadable(defs)
    assert defs.resolve_job_def("warehouse_job") is not None


def test_dlt_tables_are_the_dbt_sources(defs):
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    for raw in ("raw_wazzup/messages", "raw_amocrm/leads", "raw_directory/managers"):
        assert raw in keys
    staging = graph.get(AssetKey(["staging", "stg_wazzup__messages"]))
    assert AssetKey(["raw_wazzup", "messages"]) in staging.parent_keys
    assert graph.get(AssetKey(["raw_wazzup", "messages"])).is_materializable
    # the hypotheses of interventions.csv: a table of the directory source, read by staging
    interventions = graph.get(AssetKey(["staging", "stg_directory__interventions"]))
    assert AssetKey(["raw_directory", "interventions"]) in interventions.parent_keys


def test_marts_and_checks_are_assets(defs):
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    for mart in ("fct_messages", "fct_dialogs", "fct_waits", "fct_deals", "dim_managers",
                 "mart_manager_metrics"):  # fmt: skip
        assert f"marts/{mart}" in keys
    checks = list(graph.asset_check_keys)
    assert any(check.asset_key == AssetKey(["marts", "fct_messages"]) for check in checks)


def test_the_wazzup_tables_materialize_together(defs):
    # one pass over each new landing file feeds all three, under one file cursor
    wazzup = defs.resolve_assets_def(AssetKey(["raw_wazzup", "messages"]))
    assert {key.to_user_string() for key in wazzup.keys} == {
        "raw_wazzup/messages", "raw_wazzup/statuses", "raw_wazzup/channels",
    }  # fmt: skip
    assert not wazzup.can_subset
    assert defs.resolve_assets_def(AssetKey(["raw_amocrm", "leads"])).can_subset


def test_loading_the_definitions_leaves_great_expectations_to_the_checks():
    """Every Dagster process loads the definitions (the UI, each tick, each run); only a run
    that checks something pays for importing GX."""
    import subprocess
    import sys

    probe = "import sys, orchestration.definitions; print('great_expectations' in sys.modules)"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "False"


def test_loading_the_definitions_leaves_the_pipelines_folders_alone(tmp_path):
    """dlt wipes a pipeline's folder that has no state yet when a pipeline of that name is
    created there: a first load in flight (its extracted package, no state yet) must survive
    every process that loads the definitions, and two such processes must not race."""
    import os
    import subprocess
    import sys

    in_flight = tmp_path / "dlt_pipelines" / "chatsales_wazzup" / "normalize" / "package"
    in_flight.mkdir(parents=True)
    (in_flight / "messages.jsonl").write_text("{}\n")
    env = {**os.environ, "CHATSALES_STATE_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "-c", "import orchestration.definitions"], env=env, check=True)
    assert (in_flight / "messages.jsonl").exists()
    assert {path.name for path in (tmp_path / "dlt_pipelines").iterdir()} == {"chatsales_wazzup"}


def test_a_process_killed_after_loading_the_definitions_leaves_no_folder(defs, tmp_path):
    """The describing pipelines' folder lives only while the specs are built: one kept for the
    life of each process stayed behind every killed run, a folder a run."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "TMPDIR": str(tmp_path)}
    probe = "import os, orchestration.definitions; os.kill(os.getpid(), 9)"
    killed = subprocess.run([sys.executable, "-c", probe], env=env, check=False)
    assert killed.returncode == -9
    assert list(tmp_path.iterdir()) == []
