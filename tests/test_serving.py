"""The serving copy Superset reads: complete after a run, swapped in whole, never half-written."""

from __future__ import annotations

import duckdb
import pytest

from chatsales.core.settings import Warehouse, serving_duckdb_path
from orchestration import serving


def _counts(path, catalog_tables) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {
            t: con.execute(f"select count(*) from marts.{t}").fetchone()[0] for t in catalog_tables
        }


@pytest.mark.warehouse
def test_a_run_publishes_every_served_mart(duckdb_warehouse):
    wh = duckdb_warehouse.warehouse
    served = serving_duckdb_path(wh)
    assert "superset_duckdb" in duckdb_warehouse.first_run.stdout
    assert _counts(served, serving.SERVED_TABLES) == _counts(wh.duckdb_path, serving.SERVED_TABLES)
    with duckdb.connect(str(served), read_only=True) as con:
        types = {
            r[0] for r in con.execute("select distinct data_type from duckdb_columns()").fetchall()
        }
    assert "HUGEINT" not in types
    assert not list(served.parent.glob(f"{served.name}.tmp-*"))


def _small_warehouse(path, rows: int, tables=serving.SERVED_TABLES) -> Warehouse:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        for table in tables:
            con.execute(f"create table marts.{table} as select range as n from range({rows})")
    return Warehouse(f"duckdb:///{path}")


@pytest.mark.unit
def test_a_reader_keeps_its_copy_while_a_new_one_is_swapped_in(tmp_path):
    wh = _small_warehouse(tmp_path / "wh.duckdb", rows=3)
    serving.publish(wh)
    reader = duckdb.connect(str(serving_duckdb_path(wh)), read_only=True)
    try:
        with duckdb.connect(str(wh.duckdb_path)) as con:
            con.execute("insert into marts.fct_dialogs select 99")
        assert serving.publish(wh)["fct_dialogs"] == 4  # not blocked by the open reader
        assert reader.execute("select count(*) from marts.fct_dialogs").fetchone()[0] == 3
    finally:
        reader.close()
    assert _counts(serving_duckdb_path(wh), ["fct_dialogs"]) == {"fct_dialogs": 4}


@pytest.mark.unit
def test_a_failed_publish_leaves_the_previous_copy_and_no_debris(tmp_path):
    wh = _small_warehouse(tmp_path / "wh.duckdb", rows=2)
    serving.publish(wh)
    served = serving_duckdb_path(wh)
    crashed = served.with_name(f"{served.name}.tmp-424242")  # a publish killed mid-write
    crashed.write_bytes(b"half a file")
    with duckdb.connect(str(wh.duckdb_path)) as con:
        con.execute("drop table marts.mart_interventions")
    with pytest.raises(LookupError, match="mart_interventions is missing"):
        serving.publish(wh)
    assert _counts(served, serving.SERVED_TABLES) == dict.fromkeys(serving.SERVED_TABLES, 2)
    assert not list(served.parent.glob(f"{served.name}.tmp-*"))
