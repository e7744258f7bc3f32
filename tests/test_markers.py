"""The test layout's own rules: every test carries a layer marker or the collection fails, a
`unit` test uses no heavy fixture, and the background builds start only for selected tests.

pytester runs tiny test files with the real tests/conftest.py loaded as a plugin and the
markers registered as in pyproject.toml."""

from __future__ import annotations

import tomllib
from types import SimpleNamespace

import pytest

from .support.background_builds import builds_used_by
from .support.paths import REPO_ROOT

pytestmark = pytest.mark.unit

MARKED = """
import pytest

pytestmark = pytest.mark.unit


def test_marked():
    pass
"""
UNMARKED = """
def test_nothing():
    pass
"""


@pytest.fixture
def layout(pytester: pytest.Pytester) -> pytest.Pytester:
    options = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["pytest"]
    markers = "\n    ".join(options["ini_options"]["markers"])
    addopts = options["ini_options"]["addopts"]
    pytester.makeini(f"[pytest]\naddopts = {addopts}\nmarkers =\n    {markers}\n")
    pytester.makepyfile(test_marked=MARKED)
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "tests.conftest", *args)


def test_marked_tests_run(layout):
    run(layout).assert_outcomes(passed=1)


def test_an_unmarked_test_fails_the_collection(layout):
    layout.makepyfile(test_unmarked=UNMARKED)
    result = run(layout)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*tests without a layer marker*", "*test_unmarked.py::test_nothing"]
    )
    assert "test_marked" not in result.stderr.str()


def test_an_unmarked_test_fails_the_collection_even_when_deselected(layout):
    layout.makepyfile(test_unmarked=UNMARKED)
    assert run(layout, "-m", "unit").ret == pytest.ExitCode.USAGE_ERROR


def test_an_unregistered_marker_is_an_error(layout):
    layout.makepyfile(test_typo="import pytest\n\n@pytest.mark.unti\ndef test_x():\n    pass\n")
    result = run(layout)
    assert result.ret == pytest.ExitCode.INTERRUPTED  # a collection error
    result.stdout.fnmatch_lines(["*'unti' not found in `markers` configuration option*"])


@pytest.mark.parametrize("fixture", ["duckdb_warehouse", "built", "superset", "demo_landing"])
def test_a_unit_test_cannot_use_a_build(layout, fixture):
    layout.makepyfile(
        test_heavy=f"import pytest\n\n@pytest.mark.unit\ndef test_x({fixture}):\n    pass\n"
    )
    result = run(layout)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*`unit` tests that use a warehouse build*", "*test_heavy.py*"])


def item(*fixtures: str, **params: str) -> SimpleNamespace:
    return SimpleNamespace(fixturenames=list(fixtures), callspec=SimpleNamespace(params=params))


def test_builds_start_for_the_warehouses_the_selected_tests_take():
    assert builds_used_by([]) == []
    assert builds_used_by([item("tmp_path")]) == []
    assert builds_used_by([item("built", built="duckdb")]) == ["duckdb_warehouse"]
    assert builds_used_by([item("built", built="postgres")]) == ["postgres_warehouse"]
    assert builds_used_by([item("superset", superset="duckdb")]) == ["story_warehouse"]
    assert builds_used_by([item("superset", superset="postgres")]) == ["postgres_warehouse"]
    both = [item("built", built="duckdb"), item("built", built="postgres")]
    assert builds_used_by(both) == ["duckdb_warehouse", "postgres_warehouse"]
    story = item("superset_duckdb", "story_warehouse", "warehouse_builds")
    assert builds_used_by([story]) == ["story_warehouse"]
