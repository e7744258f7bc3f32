"""Load a dlt source into a throwaway DuckDB and read it back: shared by the source tests."""

from __future__ import annotations

from pathlib import Path

import dlt
import duckdb
from dlt.extract.source import DltSource


def load(tmp_path: Path, source: DltSource) -> dict[str, int]:
    """Run `source` into `raw_<source name>` in `tmp_path/wh.duckdb`; rows per data table."""
    dataset = f"raw_{source.name}"
    pipeline = dlt.pipeline(
        pipeline_name=f"test_{source.name}",
        destination=dlt.destinations.duckdb(str(tmp_path / "wh.duckdb")),
        dataset_name=dataset,
        pipelines_dir=str(tmp_path / "pipelines"),
    )
    pipeline.run(source)
    with duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True) as conn:
        tables = conn.execute(
            "select table_name from information_schema.tables "
            "where table_schema = ? and table_name not like '\\_dlt%' escape '\\'",
            [dataset],
        ).fetchall()
        return {
            t: conn.execute(f"select count(*) from {dataset}.{t}").fetchone()[0] for (t,) in tables
        }


def rows(tmp_path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True) as conn:
        return conn.execute(sql).fetchall()
