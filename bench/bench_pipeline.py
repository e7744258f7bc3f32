"""Benchmark the pipeline phases on the demo data: generation, dlt loads, dbt build.

    .venv/bin/python bench/bench_pipeline.py [--scale 1.0] [--postgres postgresql://...]

Prints seconds and rows/s per phase for DuckDB (and PostgreSQL when given), and the
PostgreSQL / DuckDB ratio. Run on demand; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from measure import timed

from chatsales.app.demo import generate_demo
from chatsales.core.settings import DBT_PROJECT_DIR, Warehouse
from chatsales.core.warehouse import query
from ingestion.pipelines import SOURCE_NAMES, pipeline, source


def bench_warehouse(url: str, landing: Path, state: Path) -> dict[str, tuple[float, int]]:
    """Seconds and rows processed per phase: rows loaded by dlt, messages modelled by dbt."""
    os.environ.update(
        CHATSALES_WAREHOUSE=url, CHATSALES_LANDING=str(landing), CHATSALES_STATE_DIR=str(state)
    )
    target = Warehouse(url)
    results = {}
    for name in SOURCE_NAMES:
        load = pipeline(name, target)
        seconds, _ = timed(lambda load=load, name=name: load.run(source(name, landing)))
        rows = sum(load.last_trace.last_normalize_info.row_counts.values())
        results[f"dlt load {name}"] = (seconds, rows)
    dbt = str(Path(sys.executable).with_name("dbt"))
    env = {**os.environ, **target.dbt_env()}
    command = [dbt, "build", "--profiles-dir", str(DBT_PROJECT_DIR), "--quiet"]
    # first build; the next day's run (incremental: only the chats active lately are
    # recomputed); a rebuild of all history (what incremental models save)
    for phase, extra in [
        ("dbt build", []),
        ("dbt daily run", []),
        ("dbt full refresh", ["--full-refresh"]),
    ]:
        seconds, _ = timed(
            lambda extra=extra: subprocess.run(
                command + extra, cwd=DBT_PROJECT_DIR, env=env, check=True
            )
        )
        [(messages,)] = query("select count(*) from marts.fct_messages", target)
        results[phase] = (seconds, messages)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--postgres", help="an empty PostgreSQL database URL to compare with")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="chatsales-bench-") as tmp:
        root = Path(tmp)
        seconds, summary = timed(lambda: generate_demo(root / "landing", scale=args.scale))
        print(f"demo generation: {seconds:.1f}s, {summary.messages / seconds:,.0f} messages/s")
        runs = {"duckdb": bench_warehouse(f"duckdb:///{root / 'wh.duckdb'}", root / "landing",
                                          root / "state-duckdb")}  # fmt: skip
        if args.postgres:
            runs["postgres"] = bench_warehouse(args.postgres, root / "landing", root / "state-pg")

    print(f"{'phase':<20}" + "".join(f"{name:>26}" for name in runs), end="")
    print("   pg/duckdb" if len(runs) > 1 else "")
    for phase in runs["duckdb"]:
        cells = "".join(
            f"{seconds:>9.1f}s {rows / seconds:>12,.0f} rows/s"
            for seconds, rows in (r[phase] for r in runs.values())
        )
        ratio = ""
        if len(runs) > 1:
            ratio = f"   {runs['postgres'][phase][0] / runs['duckdb'][phase][0]:>8.1f}x"
        print(f"{phase:<20}{cells}{ratio}")


if __name__ == "__main__":
    main()
