"""Resources shared by the assets."""

from __future__ import annotations

import sys
from pathlib import Path

from dagster_dbt import DbtCliResource
from dagster_dlt import DagsterDltResource

from .project import dbt_project

resources = {
    # The dbt beside this interpreter: the venv's bin is not always on PATH.
    "dbt": DbtCliResource(
        project_dir=dbt_project, dbt_executable=str(Path(sys.executable).with_name("dbt"))
    ),
    "dlt": DagsterDltResource(),
}
