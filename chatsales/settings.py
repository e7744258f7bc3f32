"""One place that turns the environment into settings for dlt, dbt and Dagster.

`CHATSALES_WAREHOUSE` picks the warehouse (`duckdb:///path` or `postgresql://...`),
`CHATSALES_LANDING` the landing folder. Everything else derives from these two.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
DEFAULT_WAREHOUSE = f"duckdb:///{REPO_ROOT / 'data' / 'warehouse.duckdb'}"
DEFAULT_LANDING = REPO_ROOT / "data" / "landing"
DEFAULT_DAGSTER_HOME = REPO_ROOT / ".dagster_home"

# The machines this runs on may have no internet: keep dlt and dbt from phoning home.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
# dlt finds .dlt/config.toml and secrets.toml here whatever the working directory.
os.environ.setdefault("DLT_PROJECT_DIR", str(REPO_ROOT))


@dataclass(frozen=True)
class Warehouse:
    """A parsed `CHATSALES_WAREHOUSE` URL."""

    url: str

    @property
    def kind(self) -> str:
        scheme = urlparse(self.url).scheme
        if scheme == "duckdb":
            return "duckdb"
        if scheme in ("postgresql", "postgres"):
            return "postgres"
        raise ValueError(
            f"CHATSALES_WAREHOUSE={self.url!r}: expected duckdb:///path or postgresql://..."
        )

    @property
    def duckdb_path(self) -> Path:
        if self.kind != "duckdb":
            raise ValueError("not a DuckDB warehouse")
        raw = self.url[len("duckdb:///") :]
        path = Path(raw)
        return path if path.is_absolute() else REPO_ROOT / path

    @property
    def display_name(self) -> str:
        """Where the warehouse is, for messages: the DuckDB file or host:port/db (no secret)."""
        if self.kind == "duckdb":
            return str(self.duckdb_path)
        return self.sqlalchemy_url.split("@")[-1]

    @property
    def postgres(self) -> dict[str, str]:
        parsed = urlparse(self.url)
        return {
            "host": parsed.hostname or "localhost",
            "port": str(parsed.port or 5432),
            "user": unquote(parsed.username or "postgres"),
            "password": unquote(parsed.password or ""),
            "dbname": parsed.path.lstrip("/") or "postgres",
        }

    def dlt_destination(self):
        """The dlt destination object for this warehouse."""
        import dlt

        if self.kind == "duckdb":
            self.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
            return dlt.destinations.duckdb(str(self.duckdb_path))
        pg = self.postgres
        # An explicit (even empty) password: dlt refuses credentials without one.
        return dlt.destinations.postgres(
            f"postgresql://{quote(pg['user'])}:{quote(pg['password'])}"
            f"@{pg['host']}:{pg['port']}/{pg['dbname']}"
        )

    @property
    def sqlalchemy_url(self) -> str:
        if self.kind == "duckdb":
            return f"duckdb:///{self.duckdb_path}"
        pg = self.postgres
        auth = pg["user"] + (f":{pg['password']}" if pg["password"] else "")
        return f"postgresql://{auth}@{pg['host']}:{pg['port']}/{pg['dbname']}"

    def dbt_env(self) -> dict[str, str]:
        """Environment variables read by dbt_project/profiles.yml."""
        if self.kind == "duckdb":
            return {
                "CHATSALES_DBT_TARGET": "duckdb",
                "CHATSALES_DUCKDB_PATH": str(self.duckdb_path),
            }
        pg = self.postgres
        return {
            "CHATSALES_DBT_TARGET": "postgres",
            "CHATSALES_PG_HOST": pg["host"],
            "CHATSALES_PG_PORT": pg["port"],
            "CHATSALES_PG_USER": pg["user"],
            "CHATSALES_PG_PASSWORD": pg["password"],
            "CHATSALES_PG_DBNAME": pg["dbname"],
        }


def warehouse() -> Warehouse:
    return Warehouse(os.environ.get("CHATSALES_WAREHOUSE") or DEFAULT_WAREHOUSE)


def landing_dir() -> Path:
    raw = os.environ.get("CHATSALES_LANDING")
    path = Path(raw) if raw else DEFAULT_LANDING
    return path if path.is_absolute() else REPO_ROOT / path


def state_dir() -> Path:
    """Where runs keep local state: dlt pipeline folders and run logs."""
    raw = os.environ.get("CHATSALES_STATE_DIR")
    return Path(raw) if raw else REPO_ROOT / "data"


def as_warehouse(value: Warehouse | str | None = None) -> Warehouse:
    """A Warehouse from an object, a URL, or (None) `CHATSALES_WAREHOUSE`."""
    if isinstance(value, Warehouse):
        return value
    return Warehouse(value) if value else warehouse()


def dashboards_warehouse(wh: Warehouse | None = None) -> Warehouse:
    """What the dashboards read: the serving copy beside a DuckDB warehouse, a PostgreSQL
    warehouse itself (it serves readers while it writes)."""
    wh = wh or warehouse()
    return Warehouse(f"duckdb:///{serving_duckdb_path(wh)}") if wh.kind == "duckdb" else wh


def serving_duckdb_path(wh: Warehouse | None = None) -> Path:
    """The copy of the marts that Superset reads, beside a DuckDB warehouse. DuckDB locks
    a file across processes, so dashboards never open the file the pipeline writes."""
    path = (wh or warehouse()).duckdb_path
    return path.with_name(f"{path.stem}.serving.duckdb")


def dagster_home() -> Path:
    raw = os.environ.get("DAGSTER_HOME")
    return Path(raw) if raw else DEFAULT_DAGSTER_HOME


def dbt_target_path() -> Path:
    """Where dbt writes manifest.json and run artifacts: `DBT_TARGET_PATH` (dbt's own
    variable), so builds of several warehouses on one checkout don't share a manifest."""
    return DBT_PROJECT_DIR / os.environ.get("DBT_TARGET_PATH", "target")


def dbt_vars() -> dict:
    """The defaults of the dbt project's vars (dbt_project.yml)."""
    import yaml

    return yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]


def reporting_timezone() -> str:
    """The time zone that cuts days, for dbt's periods and Dagster's daily partitions alike."""
    return dbt_vars()["reporting_timezone"]


def history_start() -> str:
    """The first daily partition: `CHATSALES_HISTORY_START` (YYYY-MM-DD), default 2024-01-01.
    Messages before it are still loaded and modelled; they just have no partition to backfill."""
    return os.environ.get("CHATSALES_HISTORY_START") or "2024-01-01"


def export_dbt_env() -> None:
    """Point dbt's profile at the configured warehouse (dbt reads env vars)."""
    os.environ.update(warehouse().dbt_env())
