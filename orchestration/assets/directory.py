"""Whether `managers.csv` changed whose messages are whose since the message models were built.

The incremental models recompute recent chats only, so a channel moved to another manager,
an identity added or a manager removed would reach new messages and leave history attributed
the old way. Each build of the message models records the directory it used on its
`int_messages` materialization; a build that finds another directory in `raw_directory`
rebuilds from all history instead (dbt's --full-refresh). Display names, time zones and the
active flag are not part of it: only the reference models read them, and those are rebuilt
on every run.
"""

from __future__ import annotations

import hashlib
import json

from dagster import AssetKey, DagsterInstance

from chatsales.core.settings import Warehouse
from chatsales.core.warehouse import query, table_names

BUILT_FROM = "directory_fingerprint"
RECORDED_ON = AssetKey(["intermediate", "int_messages"])
ATTRIBUTION = """
select manager_id, identity_kind, identity_value from raw_directory.manager_identities
union all
select manager_id, 'manager', manager_id from raw_directory.managers
"""


def directory_fingerprint(target: Warehouse) -> str | None:
    """A digest of the loaded directory's managers and identities (None before any load)."""
    if not {"managers", "manager_identities"} <= set(table_names("raw_directory", target)):
        return None
    rows = sorted(tuple(str(value) for value in row) for row in query(ATTRIBUTION, target))
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16]


def fingerprint_built_from(instance: DagsterInstance) -> str | None:
    """The directory the message models were last built from, as their last build recorded."""
    event = instance.get_latest_materialization_event(RECORDED_ON)
    materialization = event.asset_materialization if event else None
    recorded = materialization.metadata.get(BUILT_FROM) if materialization else None
    return recorded.value if recorded else None
