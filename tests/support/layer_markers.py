"""The layer markers every test carries (registered in pyproject.toml): what a test needs, so
`pytest -m unit` is a fast loop that builds nothing and `-m "not superset"` skips Superset
(and `-m "not spark"` the Spark cluster)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from .background_builds import BACKGROUND, fixtures_used

LAYERS = (
    "unit", "integration", "warehouse", "postgres", "dagster", "superset", "spark", "browser"
)  # fmt: skip
# Fixtures that build, start or generate something big: never in a `unit` test. (The session's
# registered builds, and the fixtures that take them by name, count too.)
HEAVY_FIXTURES = {"warehouse_builds", "postgres_url", "demo_landing", "dagster_defs"}


def check_layer_markers(items: Sequence[pytest.Item]) -> None:
    """Fails the collection naming each test without a layer marker, and each `unit` test that
    uses a heavy fixture."""
    unmarked = [i.nodeid for i in items if not any(i.get_closest_marker(m) for m in LAYERS)]
    if unmarked:
        raise pytest.UsageError(
            f"tests without a layer marker ({', '.join(LAYERS)}; see pyproject.toml):\n  "
            + "\n  ".join(unmarked)
        )
    heavy = HEAVY_FIXTURES.union(*(background.users for background in BACKGROUND.values()))
    heavy_units = [
        item.nodeid
        for item in items
        if item.get_closest_marker("unit") and fixtures_used(item) & heavy
    ]
    if heavy_units:
        raise pytest.UsageError(
            "`unit` tests that use a warehouse build, PostgreSQL, the demo landing or Dagster "
            "definitions:\n  " + "\n  ".join(heavy_units)
        )
