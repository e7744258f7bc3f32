"""The Dagster instance's storage: Dagster's SQLite storage under DAGSTER_HOME, except that a
batch of asset events is written in one transaction per database.

A run over a range of daily partitions (a catch-up, a backfill) records an event per asset and
day, twice (planned, then materialized). Dagster hands them over in batches
(`DAGSTER_EVENT_BATCH_SIZE`, set in chatsales/core/settings.py), but its SQLite storage still
writes them one by one, three connections and commits each: ~90 ms per asset-day here, minutes
for a year of history. Written together they cost ~2 ms. Same tables, same rows: an instance
can switch between this and Dagster's own class either way. `chatsales` names it in
dagster.yaml (orchestration/runner.py)."""

from __future__ import annotations

from collections.abc import Sequence

from dagster._core.events import ASSET_EVENTS
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.schema import SqlEventLogStorageTable
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, _event_logs_directory


def _is_asset_event(event: EventLogEntry) -> bool:
    dagster_event = event.dagster_event
    return bool(
        dagster_event and dagster_event.event_type in ASSET_EVENTS and dagster_event.asset_key
    )


class BatchingSqliteEventLogStorage(SqliteEventLogStorage):
    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        assets = [event for event in events if _is_asset_event(event)]
        if not assets or len({event.run_id for event in events}) != 1:
            super().store_event_batch(events)  # one by one
            return
        self._store_asset_events(assets)
        for event in events:  # asset check events, if any: as Dagster stores them
            if not _is_asset_event(event):
                self.store_event(event)

    def _store_asset_events(self, events: list[EventLogEntry]) -> None:
        """What `store_event` does for each event, in one transaction on the run's database
        and one on the cross-run index."""
        rows = [self._event_to_row(event) for event in events]
        with self.run_connection(events[0].run_id) as conn:
            conn.execute(SqlEventLogStorageTable.insert(), rows)
        with self.index_transaction() as conn:
            inserted = conn.execute(
                SqlEventLogStorageTable.insert().returning(
                    SqlEventLogStorageTable.c.id, sort_by_parameter_order=True
                ),
                rows,
            )
            ids = [row[0] for row in inserted]
            self._store_asset_event_tags(conn, events, ids)
            # an asset's row keeps its latest event of each kind: the batch's last one will do
            latest = {
                (event.dagster_event.asset_key, event.dagster_event.event_type): (event, event_id)
                for event, event_id in zip(events, ids, strict=True)
            }
            for event, event_id in sorted(latest.values(), key=lambda pair: pair[1]):
                self._store_asset_event(conn, event, event_id)


class BatchingSqliteStorage(DagsterSqliteStorage):
    """`storage: custom:` in dagster.yaml, with the `base_dir` of Dagster's `sqlite:`."""

    def __init__(self, base_dir: str, inst_data=None):
        super().__init__(base_dir, inst_data)
        self._event_log_storage.dispose()
        self._event_log_storage = BatchingSqliteEventLogStorage(_event_logs_directory(base_dir))

    @classmethod
    def from_config_value(cls, inst_data, config_value):  # Dagster's names its own class
        return cls.from_local(inst_data=inst_data, **config_value)
