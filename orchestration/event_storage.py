"""The Dagster instance's storage: Dagster's SQLite storage under DAGSTER_HOME, or its
PostgreSQL storage, written faster, and one step per pool slot.

- A batch of asset events and planned asset checks is written in one transaction per
  database. A run over a range of daily partitions (a catch-up, a backfill) records an event
  per asset and day, twice (planned, then materialized), and plans each of its ~250 checks at
  its start. Dagster hands them over in batches (`DAGSTER_EVENT_BATCH_SIZE`, set in
  chatsales/core/settings.py), but its SQLite storage still writes them one by one, three
  connections and commits each: ~90 ms per asset-day here, minutes for a year of history.
  Written together they cost ~2 ms. Dagster's PostgreSQL storage batches materializations
  but writes the planned events one by one too: a first run on PostgreSQL spent 6 minutes
  recording a year and a half of days before its first step.
- Every other event (~1,700 a run) is still written alone, but without a new SQLAlchemy engine
  per write, and a run's own database (one file per run) without waiting for the disk
  (`synchronous=OFF`): ~15 → ~3 ms an event here. SQLite hands each commit to the operating
  system, so a killed process loses nothing; only an OS crash or a power cut can damage that
  run's log. The index database, which every run's asset records go through, keeps SQLite's
  default durability.
- A pool slot is claimed only while it is free. Dagster reads a free slot, then writes the
  step into it; two runs starting together can read the same slot and both write it, so two
  steps ran at once on the `warehouse` pool of one (of 8 processes claiming together, 2 to 5
  got it, on SQLite and on PostgreSQL). The write here takes the slot only if it is still free.

Same tables, same rows: an instance can switch between these and Dagster's own classes either
way. `chatsales` names them in dagster.yaml (orchestration/instance.py)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from dagster import DagsterEventType
from dagster._core.events import ASSET_EVENTS
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log.schema import (
    AssetCheckExecutionsTable,
    ConcurrencySlotsTable,
    SqlEventLogStorageTable,
)
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, _event_logs_directory
from dagster._utils.concurrency import ConcurrencySlotStatus
from dagster_postgres.event_log import PostgresEventLogStorage
from dagster_postgres.storage import DagsterPostgresStorage
from dagster_postgres.utils import get_token_provider_from_config, pg_url_from_config
from dagster_shared.serdes import serialize_value
from sqlalchemy import Connection, Engine, and_, false, select
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.pool import NullPool

# engines kept per process: the index's and the latest runs' (a webserver reads many runs)
ENGINES_KEPT = 16


def _is_asset_event(event: EventLogEntry) -> bool:
    dagster_event = event.dagster_event
    return bool(
        dagster_event and dagster_event.event_type in ASSET_EVENTS and dagster_event.asset_key
    )


def _is_planned_check(event: EventLogEntry) -> bool:
    return event.dagster_event_type == DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED


def _without_waiting_for_the_disk(dbapi_connection, _record) -> None:
    dbapi_connection.execute("PRAGMA synchronous=OFF")


class _AssetEventBatches:
    """A batch of asset events and planned checks written at once (see the module's
    docstring)."""

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        batched = [event for event in events if _is_asset_event(event) or _is_planned_check(event)]
        if not batched or len({event.run_id for event in events}) != 1:
            super().store_event_batch(events)  # one by one
            return
        rows = [self._event_to_row(event) for event in batched]
        self._store_in_the_runs_own_database(batched[0].run_id, rows)
        with self.index_transaction() as conn:
            inserted = conn.execute(
                SqlEventLogStorageTable.insert().returning(
                    SqlEventLogStorageTable.c.id, sort_by_parameter_order=True
                ),
                rows,
            )
            stored = list(zip(batched, [row[0] for row in inserted], strict=True))
            assets = [(event, event_id) for event, event_id in stored if _is_asset_event(event)]
            if assets:
                self._store_asset_event_tags(conn, *map(list, zip(*assets, strict=True)))
            # an asset's row keeps its latest event of each kind: the batch's last one will do
            latest = {
                (event.dagster_event.asset_key, event.dagster_event.event_type): (event, event_id)
                for event, event_id in assets
            }
            for event, event_id in sorted(latest.values(), key=lambda pair: pair[1]):
                self._store_asset_event(conn, event, event_id)
            planned = [
                row
                for event, event_id in stored
                if _is_planned_check(event)
                for row in self._planned_check_rows(event, event_id)
            ]
            if planned:
                conn.execute(AssetCheckExecutionsTable.insert(), planned)
        for event in events:  # anything else (none seen so far): as Dagster stores it
            if not (_is_asset_event(event) or _is_planned_check(event)):
                self.store_event(event)

    def _store_in_the_runs_own_database(self, run_id: str, rows: list[dict]) -> None:
        """Nothing where one database holds every run's events and the index (PostgreSQL)."""

    def _planned_check_rows(self, event: EventLogEntry, event_id: int) -> list[dict]:
        """The rows Dagster's `_store_asset_check_evaluation_planned` inserts for the event."""
        planned = event.get_dagster_event().event_specific_data
        subset = planned.partitions_subset
        return [
            {
                "asset_key": planned.asset_key.to_string(),
                "check_name": planned.check_name,
                "partition": partition,
                "run_id": event.run_id,
                "execution_status": AssetCheckExecutionRecordStatus.PLANNED.value,
                "evaluation_event": serialize_value(event),
                "evaluation_event_timestamp": self._event_insert_timestamp(event),
                "evaluation_event_storage_id": event_id,
            }
            for partition in (subset.get_partition_keys() if subset else [None])
        ]


class _OneStepPerSlot:
    """A slot is written only while it is still free (see the module's docstring)."""

    def _claim_concurrency_slot(
        self, concurrency_key: str, run_id: str, step_key: str
    ) -> ConcurrencySlotStatus:
        slots = ConcurrencySlotsTable.c
        free = and_(
            slots.concurrency_key == concurrency_key,
            slots.step_key.is_(None),
            slots.deleted == false(),
        )
        first_free = select(slots.id).where(free).limit(1).scalar_subquery()
        # `free` again outside: PostgreSQL re-checks it on a row another claim just wrote
        claim = (
            ConcurrencySlotsTable.update()
            .values(run_id=run_id, step_key=step_key)
            .where(and_(slots.id == first_free, free))
        )
        with self.index_connection() as conn:
            claimed = conn.execute(claim).rowcount
        return ConcurrencySlotStatus.CLAIMED if claimed else ConcurrencySlotStatus.BLOCKED


class BatchingSqliteEventLogStorage(_OneStepPerSlot, _AssetEventBatches, SqliteEventLogStorage):
    def __init__(self, base_dir: str, inst_data=None):
        super().__init__(base_dir, inst_data)
        self._engines: OrderedDict[str, Engine] = OrderedDict()

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.pop(shard, None)
        if engine is None:
            engine = create_engine(
                self.conn_string_for_shard(shard),
                poolclass=NullPool,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            )
            if shard != INDEX_SHARD_NAME:
                sqlalchemy_event.listen(engine, "connect", _without_waiting_for_the_disk)
        self._engines[shard] = engine  # the most recent last
        while len(self._engines) > ENGINES_KEPT:
            self._engines.popitem(last=False)[1].dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        """Dagster's, with the shard's engine kept (see the module's docstring)."""
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def _store_in_the_runs_own_database(self, run_id: str, rows: list[dict]) -> None:
        with self.run_connection(run_id) as conn:  # SQLite keeps one per run beside the index
            conn.execute(SqlEventLogStorageTable.insert(), rows)


class BatchingPostgresEventLogStorage(_OneStepPerSlot, _AssetEventBatches, PostgresEventLogStorage):
    pass


class BatchingSqliteStorage(DagsterSqliteStorage):
    """`storage: custom:` in dagster.yaml, with the `base_dir` of Dagster's `sqlite:`."""

    def __init__(self, base_dir: str, inst_data=None):
        super().__init__(base_dir, inst_data)
        self._event_log_storage.dispose()
        self._event_log_storage = BatchingSqliteEventLogStorage(_event_logs_directory(base_dir))

    @classmethod
    def from_config_value(cls, inst_data, config_value):  # Dagster's names its own class
        return cls.from_local(inst_data=inst_data, **config_value)


class BatchingPostgresStorage(DagsterPostgresStorage):
    """`storage: custom:` in dagster.yaml, with the config of Dagster's `postgres:`."""

    def __init__(self, postgres_url: str, should_autocreate_tables=True, inst_data=None,
                 token_provider=None):  # fmt: skip
        super().__init__(postgres_url, should_autocreate_tables, inst_data, token_provider)
        self._event_log_storage = BatchingPostgresEventLogStorage(
            postgres_url, should_autocreate_tables, token_provider=token_provider
        )

    @classmethod
    def from_config_value(cls, inst_data, config_value):  # Dagster's names its own class
        return cls(
            pg_url_from_config(config_value),
            config_value.get("should_autocreate_tables", True),
            inst_data,
            get_token_provider_from_config(config_value),
        )
