"""The GX data context of the checks: suites, validation results and Data Docs on disk under
`<state_dir>/gx/`, datasources in memory (their URLs may hold a password).

Several check processes may validate at once (PostgreSQL runs steps in parallel), so writes
shared between runs (suites, the Data Docs index) happen under a file lock.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import great_expectations as gx
from great_expectations.data_context.types.base import DataContextConfig, ProgressBarsConfig
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
)

from .docs_paths import data_docs_index, gx_root
from .plain_index import add_latest_results

# Results kept per suite and table; older ones (and their pages) are removed.
KEEP_RESULTS = 20


def _filesystem(folder: str) -> dict:
    return {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(gx_root() / folder)}


def _memory() -> dict:
    return {"class_name": "InMemoryStoreBackend"}


def gx_context():
    root = gx_root()
    root.mkdir(parents=True, exist_ok=True)
    config = DataContextConfig(
        stores={
            "expectations_store": {
                "class_name": "ExpectationsStore",
                "store_backend": _filesystem("expectations"),
            },
            "validation_results_store": {
                "class_name": "ValidationResultsStore",
                "store_backend": _filesystem("validations"),
            },
            "checkpoint_store": {"class_name": "CheckpointStore", "store_backend": _memory()},
            "validation_definition_store": {
                "class_name": "ValidationDefinitionStore",
                "store_backend": _memory(),
            },
        },
        expectations_store_name="expectations_store",
        validation_results_store_name="validation_results_store",
        checkpoint_store_name="checkpoint_store",
        data_docs_sites={
            "local_site": {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": _filesystem("data_docs"),
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        },
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),  # tqdm bars flood Dagster's logs
    )
    return gx.get_context(mode="ephemeral", project_config=config)


@contextmanager
def locked() -> Iterator[None]:
    gx_root().mkdir(parents=True, exist_ok=True)
    with open(gx_root() / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def prune_results() -> None:
    """Keep the newest KEEP_RESULTS results of each suite on each table. Results lie at
    validations/<suite>/<run name>/<run time>/<datasource>-<table>.json; the next Data Docs
    build drops the pages of removed results."""
    results = gx_root() / "validations"
    for suite in results.iterdir() if results.exists() else ():
        if not suite.is_dir():  # .ge_store_backend_id
            continue
        by_table: dict[str, list[Path]] = {}
        for path in suite.glob("*/*/*.json"):
            by_table.setdefault(path.name, []).append(path)
        for paths in by_table.values():
            for old in sorted(paths, key=lambda p: p.stat().st_mtime)[:-KEEP_RESULTS]:
                old.unlink()


def sync_suites(context, suites) -> dict:
    """Make the suite store equal the repo's suite files (added, changed, removed); returns
    the stored GX suites by name."""
    stored = {}
    for suite in suites:
        stored[suite.name] = context.suites.add_or_update(suite.build())
    for old in context.suites.all():
        if old.name not in stored:
            context.suites.delete(old.name)
    return stored


def update_data_docs(context, run_id, suite_name: str) -> None:
    """Render this run's result pages and its suite's page, then the index. (A full rebuild
    re-renders every kept result and suite: seconds per check once history piles up.)"""
    fresh = [
        key
        for key in context.validation_results_store.list_keys()
        if key.run_id.to_tuple() == run_id.to_tuple()
    ]
    context.build_data_docs(resource_identifiers=[*fresh, ExpectationSuiteIdentifier(suite_name)])
    add_latest_results(data_docs_index(), gx_root() / "validations")
