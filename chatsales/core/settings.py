"""The one place that reads configuration from the environment.

`Settings.from_environ()` reads every variable the project knows, typed, with its default;
every other module asks this one (through `settings()` or the accessors below). The
variables are listed with their meaning in the README ("Configuration"). Exceptions: Superset's
own config file, which runs in Superset's virtualenv, and handing the environment on to a child.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import unquote, urlparse

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
DEFAULT_WAREHOUSE = f"duckdb:///{REPO_ROOT / 'data' / 'warehouse.duckdb'}"
DEFAULT_LANDING = REPO_ROOT / "data" / "landing"
DEFAULT_DAGSTER_HOME = REPO_ROOT / ".dagster_home"
DEFAULT_HISTORY_START = "2024-01-01"
# The CRM field that names a lead's source, and which of its values is which messenger channel:
# the demo's amoCRM field «Источник» (WhatsApp, Telegram, ...) and Bitrix24's SOURCE_ID.
DEFAULT_LEAD_SOURCE_FIELDS = "Источник;SOURCE_ID"
DEFAULT_LEAD_SOURCE_CHANNELS = (
    "whatsapp=whatsapp;telegram=telegram;viber=viber;instagram=instagram;vk=vk;"
    "вконтакте=vk;avito=avito;авито=avito;max=max"
)
# the channels a lead source value may name (the messengers of the message grain)
LEAD_SOURCE_CHANNELS = ("whatsapp", "telegram", "viber", "instagram", "vk", "avito", "max", "other")
# the languages the dashboards come in (superset_exports/translations), the default first
LANGUAGES = ("ru", "en")
# DuckDB's memory_limit: a number with a unit, or a share of RAM
MEMORY_LIMIT = re.compile(r"\d+(\.\d+)?\s*([KMGT]i?B|%)", re.IGNORECASE)
# in the state dir: the first day of data, written by `chatsales demo` and the first run
HISTORY_START_FILE = "history_start"
# a Spark warehouse's raw Parquet files: `<dataset>/<table>/<load id>.<file id>.parquet`
SPARK_RAW_LAYOUT = "{table_name}/{load_id}.{file_id}.{ext}"

# The machines this runs on may have no internet: keep dlt and dbt from phoning home.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
# dlt finds .dlt/config.toml and secrets.toml here whatever the working directory.
os.environ.setdefault("DLT_PROJECT_DIR", str(REPO_ROOT))
# Dagster hands a partition range's asset events to the storage in batches of this size, which
# the instance's storage writes in one transaction (orchestration/event_storage.py).
os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", "1000")


class Settings(BaseModel):
    """Every setting, by the environment variable it comes from (an empty value counts as
    unset). Secrets are `SecretStr`: printed or logged, they show as `**********`."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    # where things are
    warehouse_url: str = Field(DEFAULT_WAREHOUSE, alias="CHATSALES_WAREHOUSE")
    landing: Path = Field(DEFAULT_LANDING, alias="CHATSALES_LANDING")
    state_dir: Path = Field(REPO_ROOT / "data", alias="CHATSALES_STATE_DIR")
    dagster_home: Path = Field(DEFAULT_DAGSTER_HOME, alias="DAGSTER_HOME")
    # Dagster's run history, ticks and cursors: `sqlite` (in DAGSTER_HOME) or a postgresql://
    # URL; unset, the PostgreSQL warehouse if that is the warehouse (orchestration/instance.py)
    dagster_storage: str | None = Field(None, alias="CHATSALES_DAGSTER_STORAGE")
    dbt_target_path: str = Field("target", alias="DBT_TARGET_PATH")
    # what DuckDB may hold in each process that opens the warehouse (dlt, dbt, checks, the
    # serving copy) before it spills to `<warehouse>.tmp`: a size (2GB) or a share of RAM
    duckdb_memory_limit: str = Field("80%", alias="CHATSALES_DUCKDB_MEMORY_LIMIT")
    # deals: the lead source field(s) (CRM field id or name, `;`-separated) and its values'
    # channels (`value=channel;...`, values matched ignoring case): dbt vars (dbt_settings_env)
    lead_source_fields: tuple[str, ...] = Field(
        DEFAULT_LEAD_SOURCE_FIELDS, alias="CHATSALES_LEAD_SOURCE_FIELDS", validate_default=True
    )
    lead_source_channels: dict[str, str] = Field(
        DEFAULT_LEAD_SOURCE_CHANNELS,
        alias="CHATSALES_LEAD_SOURCE_CHANNELS",
        validate_default=True,
    )
    # orchestration
    history_start: str | None = Field(None, alias="CHATSALES_HISTORY_START")
    ingestion_cron: str = Field("*/15 * * * *", alias="CHATSALES_INGESTION_CRON")
    api_retry_base_seconds: float = Field(30.0, alias="CHATSALES_API_RETRY_BASE_SECONDS")
    # one request's own retries (ingestion/api_client.py): unset, each source's policy
    api_backoff_seconds: float | None = Field(None, alias="CHATSALES_API_BACKOFF_SECONDS")
    api_max_delay_seconds: float | None = Field(None, alias="CHATSALES_API_MAX_DELAY_SECONDS")
    freshness_hours: str | None = Field(None, alias="CHATSALES_FRESHNESS_HOURS")
    # metrics (dbt vars: dbt_settings_env)
    messages_per_dialog_range: tuple[float, float] | None = Field(
        None, alias="CHATSALES_MESSAGES_PER_DIALOG_RANGE"
    )
    # personal data: message text stays out of the models (dbt var mask_message_text)
    mask_message_text: bool = Field(False, alias="CHATSALES_MASK_MESSAGE_TEXT")
    # Wazzup
    wazzup_webhook_token: SecretStr | None = Field(None, alias="CHATSALES_WAZZUP_WEBHOOK_TOKEN")
    wazzup_api_key: SecretStr | None = Field(None, alias="SOURCES__WAZZUP_API__API_KEY")
    # alerts: kept as given, checked by orchestration.notifications.alert_settings
    alert_webhook_url: SecretStr | None = Field(None, alias="CHATSALES_ALERT_WEBHOOK_URL")
    alert_format: str | None = Field(None, alias="CHATSALES_ALERT_FORMAT")
    telegram_bot_token: SecretStr | None = Field(None, alias="CHATSALES_TELEGRAM_BOT_TOKEN")
    telegram_chat_id: str | None = Field(None, alias="CHATSALES_TELEGRAM_CHAT_ID")
    telegram_api_url: str | None = Field(None, alias="CHATSALES_TELEGRAM_API_URL")
    alert_kinds: str | None = Field(None, alias="CHATSALES_ALERT_KINDS")
    alert_grains: str | None = Field(None, alias="CHATSALES_ALERT_GRAINS")
    alert_lookback_days: str | None = Field(None, alias="CHATSALES_ALERT_LOOKBACK_DAYS")
    alert_language: str | None = Field(None, alias="CHATSALES_ALERT_LANGUAGE")
    alert_check_severity: str | None = Field(None, alias="CHATSALES_ALERT_CHECK_SEVERITY")
    alert_check_lookback_hours: str | None = Field(
        None, alias="CHATSALES_ALERT_CHECK_LOOKBACK_HOURS"
    )
    # backups of a PostgreSQL warehouse (chatsales/app/backup.py): where pg_dump is
    pg_bin: Path | None = Field(None, alias="CHATSALES_PG_BIN")
    # Superset
    superset_venv: Path = Field(REPO_ROOT / ".venv-superset", alias="CHATSALES_SUPERSET_VENV")
    superset_port: int = Field(8088, alias="CHATSALES_SUPERSET_PORT")
    superset_secret_key: SecretStr | None = Field(None, alias="CHATSALES_SUPERSET_SECRET_KEY")
    superset_admin_user: str = Field("admin", alias="CHATSALES_SUPERSET_ADMIN_USER")
    superset_admin_password: SecretStr | None = Field(
        None, alias="CHATSALES_SUPERSET_ADMIN_PASSWORD"
    )
    superset_metadata_uri: SecretStr | None = Field(None, alias="CHATSALES_SUPERSET_METADATA_URI")
    # the dashboards' language and Superset's own (`chatsales superset import --language`)
    language: str = Field("ru", alias="CHATSALES_LANGUAGE")
    # `chatsales serve`: where the receiver and the Dagster UI listen, which components it
    # leaves out (`receiver,daemon,webserver,superset`, comma-separated), and how long each
    # may take to stop after SIGTERM before it is killed
    receiver_host: str = Field("127.0.0.1", alias="CHATSALES_RECEIVER_HOST")
    receiver_port: int = Field(8000, alias="CHATSALES_RECEIVER_PORT")
    dagster_ui_host: str = Field("127.0.0.1", alias="CHATSALES_DAGSTER_UI_HOST")
    dagster_ui_port: int = Field(3000, alias="CHATSALES_DAGSTER_UI_PORT")
    serve_without: tuple[str, ...] = Field((), alias="CHATSALES_SERVE_WITHOUT")
    serve_stop_timeout: float = Field(30.0, alias="CHATSALES_SERVE_STOP_TIMEOUT_SECONDS")
    # the local Spark cluster (`chatsales spark start`): its virtualenv, loopback ports, and
    # the memory of the Thrift server's driver and of each worker (one core each)
    spark_venv: Path = Field(REPO_ROOT / ".venv-spark", alias="CHATSALES_SPARK_VENV")
    spark_thrift_port: int = Field(10000, alias="CHATSALES_SPARK_THRIFT_PORT")
    spark_master_port: int = Field(7077, alias="CHATSALES_SPARK_MASTER_PORT")
    spark_master_ui_port: int = Field(8090, alias="CHATSALES_SPARK_MASTER_UI_PORT")
    spark_driver_memory: str = Field("2g", alias="CHATSALES_SPARK_DRIVER_MEMORY")
    spark_worker_memory: str = Field("1g", alias="CHATSALES_SPARK_WORKER_MEMORY")
    # a Spark warehouse's raw tables: the folder (or fsspec URL: s3://, gs://, abfss://) dlt
    # writes their Parquet files to, which the cluster's executors must read too; unset,
    # `<CHATSALES_STATE_DIR>/spark/raw` (a local cluster's)
    spark_raw: str | None = Field(None, alias="CHATSALES_SPARK_RAW")

    @field_validator("duckdb_memory_limit")
    @classmethod
    def _memory_size(cls, value: str):
        """A size DuckDB's memory_limit takes (`2GB`, `512 MiB`, `80%`): it goes into a SET."""
        if not MEMORY_LIMIT.fullmatch(value.strip()):
            raise ValueError(f"{value!r} is not a size like 2GB, 512MiB or 80%")
        return value.strip()

    @field_validator("language")
    @classmethod
    def _language(cls, value: str):
        if value.strip().lower() not in LANGUAGES:
            raise ValueError(f"{value!r} is not a dashboards' language ({', '.join(LANGUAGES)})")
        return value.strip().lower()

    @field_validator("serve_without", mode="before")
    @classmethod
    def _component_list(cls, value):
        if not isinstance(value, str):
            return value
        return tuple(name.strip().lower() for name in value.split(",") if name.strip())

    @field_validator("lead_source_fields", mode="before")
    @classmethod
    def _field_list(cls, value):
        if not isinstance(value, str):
            return value
        return tuple(field.strip() for field in value.split(";") if field.strip())

    @field_validator("lead_source_channels", mode="before")
    @classmethod
    def _channel_map(cls, value):
        return lead_source_channel_map(value) if isinstance(value, str) else value

    @field_validator("messages_per_dialog_range", mode="before")
    @classmethod
    def _low_high(cls, value):
        """'40-90' (or '40..90', '40,90') as (40.0, 90.0), low first."""
        if not isinstance(value, str):
            return value
        parts = [part for part in re.split(r"\s*(?:\.\.|-|,|–)\s*", value.strip()) if part]
        if len(parts) != 2:
            raise ValueError(f"{value!r} is not a range like 40-90")
        low, high = (float(part.replace(" ", "")) for part in parts)
        if not 0 <= low < high:
            raise ValueError(f"{value!r}: the low end must be below the high end, both ≥ 0")
        return low, high

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings of `environ` (default: this process's environment, read now)."""
        env = os.environ if environ is None else environ
        names = {field.alias for field in cls.model_fields.values()}
        return cls.model_validate({k: v for k, v in env.items() if k in names and v.strip()})

    @property
    def warehouse(self) -> Warehouse:
        return Warehouse(self.warehouse_url)

    @property
    def spark_raw_url(self) -> str:
        """Where dlt writes a Spark warehouse's raw Parquet files, as a URL."""
        if self.spark_raw and "://" in self.spark_raw:
            return self.spark_raw
        folder = Path(self.spark_raw) if self.spark_raw else self.state_dir / "spark" / "raw"
        return (folder if folder.is_absolute() else REPO_ROOT / folder).as_uri()

    def locations(self) -> dict[str, str]:
        """Where things are, resolved, as the variables a child process (`dagster dev`, its
        runs) reads: the Dagster definitions name them, they have no defaults there."""
        return {
            "CHATSALES_WAREHOUSE": self.warehouse_url,
            "CHATSALES_LANDING": str(self.landing_dir),
            "CHATSALES_STATE_DIR": str(self.state_dir),
            "DAGSTER_HOME": str(self.dagster_home),
        }

    @property
    def landing_dir(self) -> Path:
        return self.landing if self.landing.is_absolute() else REPO_ROOT / self.landing


def secret_value(value: SecretStr | None) -> str | None:
    """The secret itself, for the one place that sends it (None when unset)."""
    return value.get_secret_value() if value else None


def settings() -> Settings:
    """The settings as the environment says now (read on every call: cheap, and a sensor or a
    test sees a changed value)."""
    return Settings.from_environ()


def lead_source_channel_map(text: str) -> dict[str, str]:
    """`value=channel;...` as {value (lower case): channel}; a pair without `=` is an error."""
    pairs = {}
    for pair in (p.strip() for p in text.split(";")):
        if not pair:
            continue
        value, sep, channel = pair.rpartition("=")
        if not sep or not value.strip() or not channel.strip():
            raise ValueError(f"CHATSALES_LEAD_SOURCE_CHANNELS: {pair!r} is not value=channel")
        if channel.strip().lower() not in LEAD_SOURCE_CHANNELS:
            raise ValueError(
                f"CHATSALES_LEAD_SOURCE_CHANNELS: {channel.strip()!r} is no channel "
                f"({', '.join(LEAD_SOURCE_CHANNELS)})"
            )
        pairs[value.strip().lower()] = channel.strip().lower()
    return pairs


def lead_source_env() -> dict[str, str]:
    """The lead source settings as dbt reads them (vars lead_source_fields and
    lead_source_channels in dbt_project.yml), checked and normalized by Settings."""
    config = settings()
    return {
        "CHATSALES_LEAD_SOURCE_FIELDS": ";".join(config.lead_source_fields),
        "CHATSALES_LEAD_SOURCE_CHANNELS": ";".join(
            f"{value}={channel}" for value, channel in config.lead_source_channels.items()
        ),
    }


def duckdb_settings() -> dict[str, str]:
    """What every process sets on the DuckDB warehouse it opens."""
    return {"memory_limit": settings().duckdb_memory_limit}


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
        if scheme == "spark":
            return "spark"
        # the scheme only: the rest of the URL may hold a password
        raise ValueError(
            f"CHATSALES_WAREHOUSE: unknown scheme {scheme!r}, expected duckdb:///path, "
            "postgresql://... or spark://host:port"
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
        if self.kind == "spark":
            return f"Spark {self.spark['host']}:{self.spark['port']}"
        pg = self.postgres
        return f"{pg['host']}:{pg['port']}/{pg['dbname']}"

    @property
    def spark(self) -> dict[str, str]:
        """A Spark warehouse's Thrift server (spark://host:port; the user Spark runs the
        statements as, when the URL names one)."""
        parsed = urlparse(self.url)
        return {
            "host": parsed.hostname or "127.0.0.1",
            "port": str(parsed.port or 10000),
            "user": unquote(parsed.username or "chatsales"),
        }

    @property
    def dbt_executable(self) -> Path:
        """The dbt that builds this warehouse: this virtualenv's, or for Spark the Spark
        virtualenv's (dbt-spark lives there, beside pyspark)."""
        if self.kind == "spark":
            return settings().spark_venv / "bin" / "dbt"
        return Path(sys.executable).with_name("dbt")

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
            from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

            self.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
            return dlt.destinations.duckdb(
                DuckDbCredentials(str(self.duckdb_path), global_config=duckdb_settings())
            )
        if self.kind == "spark":
            # Parquet files named for their load, which the Spark tables read
            # (ingestion/spark_tables.py); the layout is dlt's default, spelled out
            return dlt.destinations.filesystem(settings().spark_raw_url, layout=SPARK_RAW_LAYOUT)
        pg = self.postgres
        # Credentials as fields, not a URL: nothing to quote. An explicit (even empty)
        # password: dlt refuses credentials without one.
        return dlt.destinations.postgres(
            credentials={
                "drivername": "postgresql",
                "host": pg["host"],
                "port": int(pg["port"]),
                "username": pg["user"],
                "password": pg["password"],
                "database": pg["dbname"],
            }
        )

    @property
    def sqlalchemy_url(self) -> str:
        """The URL for SQLAlchemy (GX, Superset), every part quoted as SQLAlchemy reads it."""
        if self.kind == "duckdb":
            return f"duckdb:///{self.duckdb_path}"
        if self.kind == "spark":
            from sqlalchemy import URL

            spark = self.spark
            return URL.create(
                "hive", username=spark["user"], host=spark["host"], port=int(spark["port"])
            ).render_as_string()
        return self.postgres_url()

    def postgres_url(
        self, database: str | None = None, password: str | None = None, user: str | None = None
    ) -> str:
        """A SQLAlchemy URL of this PostgreSQL server, built by SQLAlchemy so that a password
        with `@/:%#` survives; `database`, `password` and `user` stand in for the warehouse's
        own."""
        from sqlalchemy import URL

        pg = self.postgres
        return URL.create(
            "postgresql",
            username=user or pg["user"],
            password=(password if password is not None else pg["password"]) or None,
            host=pg["host"],
            port=int(pg["port"]),
            database=database or pg["dbname"],
        ).render_as_string(hide_password=False)

    def dbt_env(self) -> dict[str, str]:
        """Environment variables read by dbt_project/profiles.yml (the warehouse) and
        dbt_project.yml (the settings that are dbt vars: dbt_settings_env)."""
        if self.kind == "duckdb":
            return {
                "CHATSALES_DBT_TARGET": "duckdb",
                "CHATSALES_DUCKDB_PATH": str(self.duckdb_path),
                "CHATSALES_DUCKDB_MEMORY_LIMIT": duckdb_settings()["memory_limit"],
                **dbt_settings_env(),
            }
        if self.kind == "spark":
            return {
                "CHATSALES_DBT_TARGET": "spark",
                "CHATSALES_SPARK_HOST": self.spark["host"],
                "CHATSALES_SPARK_PORT": self.spark["port"],
                "CHATSALES_SPARK_USER": self.spark["user"],
                **dbt_settings_env(),
            }
        pg = self.postgres
        return {
            "CHATSALES_DBT_TARGET": "postgres",
            "CHATSALES_PG_HOST": pg["host"],
            "CHATSALES_PG_PORT": pg["port"],
            "CHATSALES_PG_USER": pg["user"],
            "CHATSALES_PG_PASSWORD": pg["password"],
            "CHATSALES_PG_DBNAME": pg["dbname"],
            **dbt_settings_env(),
        }


def warehouse() -> Warehouse:
    return settings().warehouse


def landing_dir() -> Path:
    return settings().landing_dir


def state_dir() -> Path:
    """Where runs keep local state: dlt pipeline folders, run logs, the first day of data."""
    return settings().state_dir


def as_warehouse(value: Warehouse | str | None = None) -> Warehouse:
    """A Warehouse from an object, a URL, or (None) `CHATSALES_WAREHOUSE`."""
    if isinstance(value, Warehouse):
        return value
    return Warehouse(value) if value else warehouse()


def dashboards_warehouse(wh: Warehouse | None = None) -> Warehouse:
    """What the dashboards read: the serving copy of a DuckDB or Spark warehouse's marts, a
    PostgreSQL warehouse itself (it serves readers while it writes)."""
    wh = wh or warehouse()
    return wh if wh.kind == "postgres" else Warehouse(f"duckdb:///{serving_duckdb_path(wh)}")


def serving_duckdb_path(wh: Warehouse | None = None) -> Path:
    """The copy of the marts that Superset reads: beside a DuckDB warehouse (DuckDB locks a
    file across processes, so dashboards never open the file the pipeline writes), or in
    the state dir for a Spark one (a dashboard's click answers in milliseconds from a file,
    where each Thrift query pays seconds of Spark planning and scheduling)."""
    wh = wh or warehouse()
    if wh.kind == "spark":
        return settings().state_dir / "spark" / "serving.duckdb"
    path = wh.duckdb_path
    return path.with_name(f"{path.stem}.serving.duckdb")


def dagster_home() -> Path:
    return settings().dagster_home


def dbt_target_path() -> Path:
    """Where dbt writes manifest.json and run artifacts: `DBT_TARGET_PATH` (dbt's own
    variable), so builds of several warehouses on one checkout don't share a manifest."""
    return DBT_PROJECT_DIR / settings().dbt_target_path


@functools.cache
def dbt_vars() -> dict:
    """The defaults of the dbt project's vars (dbt_project.yml)."""
    import yaml

    return yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]


def dbt_settings_env() -> dict[str, str]:
    """The settings that are dbt vars, as the environment variables dbt_project.yml reads them
    from (empty: the project's default)."""
    config = settings()
    low_high = config.messages_per_dialog_range
    text = f"{low_high[0]:g}-{low_high[1]:g}" if low_high else ""
    return {
        "CHATSALES_MESSAGES_PER_DIALOG_RANGE": text,
        "CHATSALES_MASK_MESSAGE_TEXT": "true" if config.mask_message_text else "false",
        **lead_source_env(),
    }


def reporting_timezone() -> str:
    """The time zone that cuts days, for dbt's periods and Dagster's daily partitions alike."""
    return dbt_vars()["reporting_timezone"]


def history_start() -> str:
    """The first daily partition (YYYY-MM-DD): `CHATSALES_HISTORY_START`, else the first day of
    data recorded in the state dir (`recorded_history_start`), else 2024-01-01. Messages before
    it are still loaded and modelled; they just have no partition to backfill."""
    config = settings()
    return config.history_start or recorded_history_start(config) or DEFAULT_HISTORY_START


def recorded_history_start(config: Settings | None = None) -> str | None:
    """The first day of data as `chatsales demo` or the first `chatsales run` recorded it."""
    path = (config or settings()).state_dir / HISTORY_START_FILE
    if not path.exists():
        return None
    text = path.read_text(encoding="utf-8").strip()
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise ValueError(f"{path}: {text!r} is not a day (YYYY-MM-DD)") from None


def record_history_start(day: str) -> None:
    """Record `day` as where the data starts, unless an earlier day is recorded already."""
    recorded = recorded_history_start()
    if recorded is None or day < recorded:
        path = state_dir() / HISTORY_START_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{day}\n", encoding="utf-8")


def export_dbt_env(target: Warehouse | None = None) -> None:
    """Hand the warehouse (default: the configured one) on to dbt, which reads it from its
    environment (dbt_project/profiles.yml) in the dbt processes this one starts."""
    os.environ.update((target or warehouse()).dbt_env())
