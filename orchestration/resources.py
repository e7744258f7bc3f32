"""Resources shared by the assets."""

from __future__ import annotations

from dagster_dbt import DbtCliResource
from dagster_dlt import DagsterDltResource

from .project import dbt_project

resources = {
    "dbt": DbtCliResource(project_dir=dbt_project),
    "dlt": DagsterDltResource(),
}
