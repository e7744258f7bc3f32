"""The dbt project, as Dagster sees it."""

from __future__ import annotations

from dagster_dbt import DbtProject

from chatsales.core.settings import DBT_PROJECT_DIR, dbt_target_path

# No target here: dbt_project/profiles.yml picks it from the warehouse that the run hands on
# to dbt (WarehouseResource.hand_on_to_dbt). The manifest is the same for every target.
dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
    target_path=dbt_target_path(),
)
# `dagster dev` parses the project itself; `chatsales run` and the tests call
# `orchestration.runner.prepare_dbt()` first (never parse at import in production).
dbt_project.prepare_if_dev()
