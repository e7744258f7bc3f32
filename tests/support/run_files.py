"""The files a `chatsales run` leaves: where no secret it was given may be written."""

from __future__ import annotations

from pathlib import Path


def files_of_a_run(env: dict[str, str]) -> list[Path]:
    """Every file under the run's state dir, Dagster home and dbt target, and a DuckDB
    warehouse file."""
    roots = [Path(env[k]) for k in ("CHATSALES_STATE_DIR", "DAGSTER_HOME", "DBT_TARGET_PATH")]
    if env["CHATSALES_WAREHOUSE"].startswith("duckdb:///"):
        roots.append(Path(env["CHATSALES_WAREHOUSE"].removeprefix("duckdb:///")))
    return [
        path
        for root in roots
        for path in ([root] if root.is_file() else root.rglob("*"))
        if path.is_file()
    ]
