"""The dlt sources of the warehouse and the pipelines that load them, one per source."""

from __future__ import annotations

import dlt
from dlt.extract.source import DltSource

from chatsales.settings import landing_dir, state_dir, warehouse

from .amocrm import amocrm
from .directory import directory
from .wazzup import wazzup_landing


def sources() -> dict[str, DltSource]:
    """Every source, configured from the environment; `raw_<name>` is its dataset."""
    landing = landing_dir()
    return {
        "wazzup": wazzup_landing(landing),
        "amocrm": amocrm(landing),
        "directory": directory(landing),
    }


def pipeline(source_name: str) -> dlt.Pipeline:
    return dlt.pipeline(
        pipeline_name=f"chatsales_{source_name}",
        destination=warehouse().dlt_destination(),
        dataset_name=f"raw_{source_name}",
        pipelines_dir=str(state_dir() / "dlt_pipelines"),
    )
