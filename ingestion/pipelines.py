"""The dlt sources of the warehouse and the pipelines that load them, one per source."""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import dlt
from dlt.extract.source import DltSource

from chatsales.core.settings import Warehouse, state_dir

from . import amocrm as amocrm_source
from . import bitrix24 as bitrix24_source
from . import spark_tables
from .api_client import configured
from .directory import directory
from .telegram import telegram
from .wazzup import api as wazzup_api_source
from .wazzup import wazzup_landing
from .whatsapp import whatsapp

# source name: (the dlt source, built from the landing folder; the dataset it loads into).
# API settings and secrets come from dlt config: env SOURCES__<NAME>__... or .dlt/secrets.toml.
SOURCES: dict[str, tuple[Callable[[Path], DltSource], str]] = {
    "directory": (directory, "raw_directory"),
    "wazzup": (wazzup_landing, "raw_wazzup"),
    "wazzup_api": (
        lambda landing: wazzup_api_source.wazzup_api(
            request_policy=configured(wazzup_api_source.REQUEST_POLICY)
        ),
        "raw_wazzup_api",
    ),
    "telegram": (telegram, "raw_telegram"),
    "whatsapp": (whatsapp, "raw_whatsapp"),
    "amocrm": (
        lambda landing: amocrm_source.amocrm(
            landing, request_policy=configured(amocrm_source.REQUEST_POLICY)
        ),
        "raw_amocrm",
    ),
    "bitrix24": (
        lambda landing: bitrix24_source.bitrix24(
            landing, request_policy=configured(bitrix24_source.REQUEST_POLICY)
        ),
        "raw_bitrix24",
    ),
}
SOURCE_NAMES = tuple(SOURCES)
# The CRMs, each as if it had nothing to read: every table created empty (see empty_source).
NOTHING_TO_READ: dict[str, Callable[[], DltSource]] = {
    "amocrm": lambda: amocrm_source.amocrm(None, base_url=None, access_token=None),
    "bitrix24": lambda: bitrix24_source.bitrix24(None, webhook_url=None),
}
CRM_SOURCES = tuple(NOTHING_TO_READ)


def source(name: str, landing: Path) -> DltSource:
    """A source reading `landing` (the API sources read their dlt config)."""
    factory, _ = SOURCES[name]
    return factory(landing)


def empty_source(name: str) -> DltSource:
    """The CRM source `name` as if it had nothing to read: its tables, created empty."""
    return NOTHING_TO_READ[name]()


def pipeline(name: str, warehouse: Warehouse, state: Path | None = None) -> dlt.Pipeline:
    """The source's pipeline into `warehouse`, its state kept under `state` (default: the
    configured state folder)."""
    return dlt.pipeline(
        pipeline_name=f"chatsales_{name}",
        destination=warehouse.dlt_destination(),
        dataset_name=SOURCES[name][1],
        pipelines_dir=str((state or state_dir()) / "dlt_pipelines"),
    )


@contextlib.contextmanager
def describing_pipeline(name: str) -> Iterator[dlt.Pipeline]:
    """A pipeline that only names the source's dataset (what the Dagster definitions need to
    describe its tables), in a folder of its own removed as soon as it is described: dlt wipes
    a pipeline's folder that has no state yet, so one in the real folder whenever the
    definitions load would race the loads; and a folder kept for the life of the process
    outlived every killed one."""
    with tempfile.TemporaryDirectory(prefix="chatsales-dlt-") as folder:
        yield dlt.pipeline(
            pipeline_name=f"chatsales_{name}",
            dataset_name=SOURCES[name][1],
            pipelines_dir=folder,
        )


def run_options(warehouse: Warehouse) -> dict:
    """What `pipeline.run` takes besides the source: a Spark warehouse's raw tables are
    Parquet files."""
    if warehouse.kind != "spark":
        return {}
    logging.getLogger("dlt").addFilter(spark_tables.EXPECTED_APPEND)
    return {"loader_file_format": "parquet"}


def after_load(name: str, warehouse: Warehouse, state: Path | None = None) -> None:
    """Make what the source's load wrote readable: on Spark, the dataset's tables over its
    files (a SQL warehouse's tables are readable as loaded)."""
    if warehouse.kind == "spark":
        # opened again: the schema as the load left it on disk
        spark_tables.expose(pipeline(name, warehouse, state), warehouse)
