"""The expectation suites kept in `expectations/suites/*.json` and their run-time parameters.

A suite file is GX's own suite JSON. Its `meta.chatsales.tables` lists the tables
(`schema.table`, which is also the Dagster asset key) it guards. Values that only exist at
run time are written as `{"$PARAMETER": "<name>"}` (GX's expectation parameters) and filled
here: the time of the run, the managers of dim_managers, the freshness cutoff.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from chatsales.core.settings import REPO_ROOT, Warehouse, settings
from chatsales.core.warehouse import query

if TYPE_CHECKING:
    import great_expectations as gx

SUITES_DIR = REPO_ROOT / "expectations" / "suites"
# Clocks of phones, Wazzup and this machine differ by seconds; a time-zone slip is hours.
FUTURE_TOLERANCE = timedelta(minutes=15)
FRESHNESS_ENV = "CHATSALES_FRESHNESS_HOURS"


class ParameterNotConfigured(Exception):
    """A suite needs a value this installation does not provide: the suite is skipped."""


@dataclass(frozen=True)
class SuiteFile:
    path: Path

    @cached_property
    def spec(self) -> dict:
        return json.loads(self.path.read_text(encoding="utf-8"))

    @property
    def name(self) -> str:
        return self.spec["name"]

    @property
    def notes(self) -> str:
        return self.spec.get("notes") or ""

    @property
    def tables(self) -> list[tuple[str, str]]:
        """(schema, table) pairs this suite guards."""
        return [tuple(t.split(".", 1)) for t in self.spec["meta"]["chatsales"]["tables"]]

    def build(self) -> gx.ExpectationSuite:
        """The GX suite; raises on an expectation GX would otherwise drop with a log line."""
        import great_expectations as gx

        suite = gx.ExpectationSuite(**copy.deepcopy(self.spec))
        if len(suite.expectations) != len(self.spec["expectations"]):
            raise ValueError(f"{self.path}: an expectation is not valid GX (see the log above)")
        return suite

    @property
    def parameters(self) -> set[str]:
        return set(self.build().suite_parameter_options)


def load_suites() -> list[SuiteFile]:
    return [SuiteFile(path) for path in sorted(SUITES_DIR.glob("*.json"))]


def load_suite(name: str) -> SuiteFile:
    path = SUITES_DIR / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"no suite {name!r} in {SUITES_DIR}")
    return SuiteFile(path)


def known_manager_ids(target: Warehouse) -> list[str]:
    return [row[0] for row in query("select manager_id from marts.dim_managers", target)]


def freshness_cutoff(now: datetime) -> datetime:
    raw = (settings().freshness_hours or "").strip()
    if not raw:
        raise ParameterNotConfigured(
            f"freshness not configured: set {FRESHNESS_ENV} (hours) on a live system"
        )
    try:
        hours = float(raw)
    except ValueError:
        raise ValueError(f"{FRESHNESS_ENV} must be a number of hours, not {raw!r}") from None
    return now - timedelta(hours=hours)


def expectation_parameters(names: set[str], target: Warehouse, now: datetime) -> dict:
    """Values for the `$PARAMETER`s a suite uses (only those: each may query the warehouse)."""
    now = now.astimezone(UTC)
    providers = {
        "now_with_tolerance": lambda: now + FUTURE_TOLERANCE,
        "known_manager_ids": lambda: known_manager_ids(target),
        "known_manager_ids_or_all": lambda: [*known_manager_ids(target), "all"],
        "freshness_cutoff": lambda: freshness_cutoff(now),
    }
    unknown = names - providers.keys()
    if unknown:
        raise ValueError(f"unknown $PARAMETER {sorted(unknown)}: add it to {__name__}")
    return {name: providers[name]() for name in sorted(names)}
