"""CHATSALES_DUCKDB_MEMORY_LIMIT reaches every way the pipeline opens a DuckDB warehouse."""

import dlt
import pytest

from chatsales.core.settings import Settings, Warehouse
from chatsales.core.warehouse import connect

pytestmark = pytest.mark.unit

LIMIT = "256MB"
AS_DUCKDB_SHOWS_IT = "244.1 MiB"


@pytest.fixture
def target(tmp_path, monkeypatch) -> Warehouse:
    monkeypatch.setenv("CHATSALES_DUCKDB_MEMORY_LIMIT", LIMIT)
    return Warehouse(f"duckdb:///{tmp_path / 'wh.duckdb'}")


def test_reads_and_checks_connect_with_the_limit(target):
    with connect(target, read_only=False) as conn:
        [(limit,)] = conn.execute("select current_setting('memory_limit')").fetchall()
    assert limit == AS_DUCKDB_SHOWS_IT


def test_dbt_gets_the_limit(target):
    assert target.dbt_env()["CHATSALES_DUCKDB_MEMORY_LIMIT"] == LIMIT


def test_dlt_loads_with_the_limit(target, tmp_path):
    pipeline = dlt.pipeline(
        pipeline_name="memory_limit",
        destination=target.dlt_destination(),
        dataset_name="raw_test",
        pipelines_dir=str(tmp_path / "pipelines"),
    )
    pipeline.run([{"x": 1}], table_name="t")
    with pipeline.sql_client() as client:
        assert client.execute_sql("select current_setting('memory_limit')") == [
            (AS_DUCKDB_SHOWS_IT,)
        ]


@pytest.mark.parametrize("limit", ["2GB", "512 MiB", "80%", "1.5gb"])
def test_a_size_is_taken(limit):
    assert Settings.from_environ({"CHATSALES_DUCKDB_MEMORY_LIMIT": limit}).duckdb_memory_limit


@pytest.mark.parametrize("limit", ["lots", "2GB'; drop schema marts; --", "80"])
def test_anything_but_a_size_is_refused_before_it_reaches_a_set(limit):
    with pytest.raises(ValueError, match="not a size"):
        Settings.from_environ({"CHATSALES_DUCKDB_MEMORY_LIMIT": limit})
