"""`chatsales backup DIR` and `chatsales restore DIR`: everything a company's warehouse cannot be
rebuilt without, copied once, and put back where this machine's settings say.

A backup holds:
- `landing/`: the webhooks (Wazzup keeps no history), managers.csv, interventions.csv, imports;
- `state/`: the state dir without the landing folder and warehouse in it: Great Expectations,
  Superset's generated credentials (so a backup is a secret), init's ledger, the logs. Not dlt's
  pipeline folders: dlt keeps its state in the warehouse too, committed with each load, and
  takes it from there when they are missing, so what is loaded and the cursors always agree;
- `dagster_home/`: run history, schedule ticks and sensor cursors (SQLite storage);
- the warehouse: the DuckDB file (`warehouse.duckdb`), or `pg_dump -Fc` of the PostgreSQL
  database (`warehouse.pgdump`, with Dagster's schema in it; `dagster.pgdump` when Dagster's
  storage is another database). CRM data lives here too: a CRM may have deleted it since.

The DuckDB copy waits until no run holds the warehouse and holds it read-only while it copies;
pg_dump reads one consistent snapshot while runs go on. Restore refuses to write over anything.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from chatsales.core.settings import Warehouse, dagster_home, landing_dir, settings, state_dir

MANIFEST = "backup.json"
PG_BIN_GUESSES = [Path("/usr/lib/postgresql") / v / "bin" for v in ("17", "16", "15")]


class BackupError(RuntimeError):
    """What went wrong, for the operator."""


def configured_folders() -> dict[str, Path]:
    return {"landing": landing_dir(), "state": state_dir(), "dagster_home": dagster_home()}


def backup(target: Path, say: Callable[[str], None]) -> None:
    config = settings()
    if config.warehouse.kind == "spark":
        raise BackupError(
            "a Spark warehouse is backed up where it lives: its metastore and its files "
            "(spark.sql.warehouse.dir, CHATSALES_SPARK_RAW) are the cluster's"
        )
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty: back up into a new folder")
    target.mkdir(parents=True, exist_ok=True)
    warehouse = config.warehouse
    left_out = _inside_the_state_dir(warehouse)
    for name, source in configured_folders().items():
        if source.is_dir():
            ignore = _ignoring(left_out) if name == "state" else None
            shutil.copytree(source, target / name, ignore=ignore, symlinks=True)
            say(f"✓ {name}: {source}")
    if warehouse.kind == "duckdb":
        _copy_duckdb(warehouse, target / "warehouse.duckdb")
        say(f"✓ warehouse: {warehouse.display_name}")
    dumped = []
    for name, database in postgres_databases(warehouse).items():
        if _exists(database):
            _pg("pg_dump", database, "-Fc", "-f", str(target / f"{name}.pgdump"),
                database.postgres["dbname"])  # fmt: skip
            dumped.append(name)
            say(f"✓ {name}: {database.display_name} (pg_dump)")
    manifest = {"created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "warehouse": warehouse.kind, "databases": dumped}  # fmt: skip
    (target / MANIFEST).write_text(json.dumps(manifest, indent=1))


def restore(source: Path, say: Callable[[str], None]) -> None:
    manifest = json.loads((source / MANIFEST).read_text()) if (source / MANIFEST).exists() else {}
    if not manifest:
        raise BackupError(f"{source} holds no {MANIFEST}: not a chatsales backup")
    warehouse = settings().warehouse
    if manifest["warehouse"] != warehouse.kind:
        raise BackupError(f"a {manifest['warehouse']} backup, but CHATSALES_WAREHOUSE is "
                          f"{warehouse.kind}: restore into the same kind")  # fmt: skip
    for name, place in configured_folders().items():
        if place.is_dir() and any(place.iterdir()) and not _only_holds(place, warehouse):
            raise BackupError(f"{place} ({name}) is not empty: restore into empty places")
    databases = postgres_databases(warehouse)
    if missing := [name for name in manifest["databases"] if name not in databases]:
        raise BackupError(f"the backup holds the {', '.join(missing)} database, which this "
                          "machine's settings do not name (see backup.py's docstring)")  # fmt: skip
    for name in manifest["databases"]:
        if _exists(databases[name]) and _holds_tables(databases[name]):
            raise BackupError(f"{databases[name].display_name} ({name}) is not empty: restore "
                              "into empty places")  # fmt: skip
    if warehouse.kind == "duckdb":
        if warehouse.duckdb_path.exists():
            raise BackupError(f"{warehouse.duckdb_path} exists: restore into empty places")
        warehouse.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / "warehouse.duckdb", warehouse.duckdb_path)
        say(f"✓ warehouse: {warehouse.display_name}")
    for name in manifest["databases"]:
        _pg("pg_restore", databases[name], "--no-owner", "--no-acl", "--exit-on-error",
            "-d", databases[name].postgres["dbname"], str(source / f"{name}.pgdump"))  # fmt: skip
        say(f"✓ {name}: {databases[name].display_name} (pg_restore)")
    for name, place in configured_folders().items():
        if (source / name).is_dir():
            shutil.copytree(source / name, place, symlinks=True, dirs_exist_ok=True)
            say(f"✓ {name}: {place}")


def _inside_the_state_dir(warehouse: Warehouse) -> set[Path]:
    """What the state dir may hold that is backed up on its own or made again by a run."""
    paths = {landing_dir().resolve(), (state_dir() / "dlt_pipelines").resolve()}
    if warehouse.kind == "duckdb":
        main = warehouse.duckdb_path.resolve()
        paths |= {main, main.with_name(f"{main.name}.wal"), main.with_name(f"{main.stem}.tmp"),
                  main.with_name(f"{main.stem}.serving.duckdb")}  # fmt: skip
    return paths


def _ignoring(paths: set[Path]):
    def ignore(folder: str, names: list[str]) -> list[str]:
        return [name for name in names if (Path(folder) / name).resolve() in paths]

    return ignore


def _only_holds(place: Path, warehouse: Warehouse) -> bool:
    """A folder that holds nothing but the (restored) warehouse or the other places."""
    others = {p.resolve() for p in configured_folders().values()}
    if warehouse.kind == "duckdb":
        others.add(warehouse.duckdb_path.resolve())
    return all(child.resolve() in others for child in place.iterdir())


def _copy_duckdb(warehouse: Warehouse, copy: Path) -> None:
    import duckdb

    _wait_for_runs()
    with duckdb.connect(str(warehouse.duckdb_path)) as conn:
        conn.execute("checkpoint")  # the write-ahead log folded into the file
    with duckdb.connect(str(warehouse.duckdb_path), read_only=True):  # no writer meanwhile
        shutil.copy2(warehouse.duckdb_path, copy)


def _wait_for_runs() -> None:
    from dagster import DagsterInstance

    from orchestration.instance import ensure_dagster_home
    from orchestration.pools import wait_for_the_warehouse

    with DagsterInstance.from_config(str(ensure_dagster_home())) as instance:
        wait_for_the_warehouse(instance, print)


def postgres_databases(warehouse: Warehouse) -> dict[str, Warehouse]:
    """The PostgreSQL databases of this installation, by name in the backup: the warehouse
    (with Dagster's schema), Dagster's storage if it is another, Superset's metadata."""
    from orchestration.instance import dagster_storage

    from .superset.paths import superset_home
    from .superset.server import metadata_uri

    found = {"warehouse": warehouse} if warehouse.kind == "postgres" else {}
    if (dagster := dagster_storage()) is not None:
        found["dagster"] = dagster
    superset = metadata_uri(warehouse, superset_home())
    if superset.startswith("postgresql"):
        found["superset"] = Warehouse(superset)
    unique: dict[str, Warehouse] = {}
    for name, database in found.items():
        if database.url not in {known.url for known in unique.values()}:
            unique[name] = database
    return unique


def _exists(database: Warehouse) -> bool:
    from chatsales.core.warehouse import driver_errors, query

    try:
        query("select 1", database)
    except driver_errors(database) as exc:
        if "does not exist" in str(exc):
            return False
        raise BackupError(f"{database.display_name}: {str(exc).strip()}") from None
    return True


def _holds_tables(database: Warehouse) -> bool:
    from chatsales.core.warehouse import query

    sql = ("select count(*) from information_schema.tables where table_schema not in "
           "('pg_catalog', 'information_schema')")  # fmt: skip
    return query(sql, database)[0][0] > 0


def pg_tool(name: str) -> str:
    """`pg_dump` or `pg_restore`: from CHATSALES_PG_BIN, else PATH, else Debian's folders."""
    folders = [settings().pg_bin] if settings().pg_bin else []
    for folder in [*folders, *PG_BIN_GUESSES]:
        if (folder / name).exists():
            return str(folder / name)
    if found := shutil.which(name):
        return found
    raise BackupError(f"{name} not found: install postgresql-client or set CHATSALES_PG_BIN")


def _pg(tool: str, database: Warehouse, *args: str) -> None:
    pg = database.postgres
    command = [pg_tool(tool), "-h", pg["host"], "-p", pg["port"], "-U", pg["user"], *args]
    env = {**os.environ, "PGPASSWORD": pg["password"]}  # not in argv, which `ps` shows
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        said = done.stderr.replace(pg["password"], "***") if pg["password"] else done.stderr
        raise BackupError(f"{tool} {database.display_name}: {said.strip()[-2000:]}")
