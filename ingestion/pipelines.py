"""The dlt sources of the warehouse and the pipelines that load them, one per source."""

from __future__ import annotations

import dlt
from dlt.extract.source import DltSource

from chatsales.settings import landing_dir, state_dir, warehouse

from .amocrm import amocrm
from .directory import directory
from .wazzup import wazzup_landing

SOURCE_NAMES = ("wazzup", "amocrm", "directory")


def source(name: str) -> DltSource:
    """A source configured from the environment as it is now; `raw_<name>` is its dataset."""
    factories = {"wazzup": wazzup_landing, "amocrm": amocrm, "directory": directory}
    return factories[name](landing_dir())


def pipeline(name: str) -> dlt.Pipeline:
    return dlt.pipeline(
        pipeline_name=f"chatsales_{name}",
        destination=warehouse().dlt_destination(),
        dataset_name=f"raw_{name}",
        pipelines_dir=str(state_dir() / "dlt_pipelines"),
    )
