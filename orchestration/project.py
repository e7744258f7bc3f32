"""The dbt project, as Dagster sees it."""

from __future__ import annotations

from dagster_dbt import DbtProject

from chatsales.core.settings import DBT_PROJECT_DIR, dbt_target_path, export_dbt_env, warehouse

export_dbt_env()

dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
    target_path=dbt_target_path(),
    target=warehouse().dbt_env()["CHATSALES_DBT_TARGET"],
)
# `dagster dev` parses the project itself; `chatsales run` and the tests call
# `orchestration.runner.prepare_dbt()` first (never parse at import in production).
dbt_project.prepare_if_dev()
