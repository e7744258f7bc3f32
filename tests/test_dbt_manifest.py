"""The manifest is parsed again exactly when what dbt parses changed."""

from __future__ import annotations

import pytest

from orchestration.dbt_manifest import project_fingerprint

pytestmark = pytest.mark.unit


@pytest.fixture
def project(tmp_path):
    (tmp_path / "models" / "marts").mkdir(parents=True)
    (tmp_path / "dbt_project.yml").write_text("name: p\n")
    (tmp_path / "models" / "marts" / "a.sql").write_text("select 1 as a\n")
    return tmp_path


def test_output_logs_and_timestamps_do_not_count(project):
    before = project_fingerprint(project, "duckdb")
    (project / "target").mkdir()
    (project / "target" / "manifest.json").write_text("{}")
    (project / "logs").mkdir()
    (project / "logs" / "dbt.log").write_text("parsed")
    model = project / "models" / "marts" / "a.sql"
    model.write_text(model.read_text())  # rewritten, same content
    assert project_fingerprint(project, "duckdb") == before


@pytest.mark.parametrize(
    "change",
    [
        lambda p: (p / "models" / "marts" / "a.sql").write_text("select 2 as a\n"),
        lambda p: (p / "models" / "marts" / "a.sql").rename(p / "models" / "marts" / "b.sql"),
        lambda p: (p / "models" / "marts" / "a.yml").write_text("version: 2\n"),
        lambda p: (p / "dbt_project.yml").write_text("name: p\nvars: {x: 1}\n"),
        lambda p: (p / "macros").mkdir() or (p / "macros" / "m.sql").write_text("{% macro m() %}"),
        lambda p: (p / "seeds").mkdir() or (p / "seeds" / "s.csv").write_text("a\n1\n"),
    ],
    ids=["model edited", "model renamed", "yml added", "vars", "macro added", "seed added"],
)
def test_what_dbt_parses_counts(project, change):
    before = project_fingerprint(project, "duckdb")
    change(project)
    assert project_fingerprint(project, "duckdb") != before


def test_the_target_type_counts(project):
    assert project_fingerprint(project, "duckdb") != project_fingerprint(project, "postgres")
