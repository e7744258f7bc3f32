"""Message text reaches marts.fct_messages exactly as loaded, and CHATSALES_MASK_MESSAGE_TEXT
keeps it out of every model: on an incremental run, for all history, and back again."""

from __future__ import annotations

import shutil

import pytest

from chatsales.core.settings import Warehouse
from chatsales.core.warehouse import query

from .support.masking import rebuild_messages

pytestmark = pytest.mark.warehouse

# the text as each loader wrote it (a Wazzup message's latest version, as staging picks it),
# keyed as fct_messages keys a message
RAW_TEXT = """
select 'wazzup' as source, message_id, message_text from staging.stg_wazzup__messages
union all
select 'telegram_export', message_id, text from raw_telegram.messages
union all
select 'whatsapp_export', message_id, text from raw_whatsapp.messages
"""
MODEL_TEXT = "select source, message_id, message_text from marts.fct_messages"
TEXT_HOLDERS = ("intermediate.int_messages", "marts.fct_messages")


def text_mismatches(target: Warehouse) -> list[tuple]:
    return query(
        f"(({RAW_TEXT}) except ({MODEL_TEXT})) union all (({MODEL_TEXT}) except ({RAW_TEXT}))",
        target,
    )


def text_counts(target: Warehouse) -> dict[str, tuple]:
    return {
        table: query(
            f"select count(message_text), min(cast(is_text_masked as int)), "
            f"max(cast(is_text_masked as int)) from {table}",
            target,
        )[0]
        for table in TEXT_HOLDERS
    }


@pytest.mark.postgres
def test_every_message_keeps_its_text(built):
    assert query("select count(message_text) from marts.fct_messages", built.warehouse)[0][0] > 0
    assert text_mismatches(built.warehouse) == []


def test_masking_reaches_all_history_and_unmasking_brings_it_back(
    duckdb_warehouse, tmp_path_factory
):
    tmp = tmp_path_factory.mktemp("masked")
    copy = Warehouse(f"duckdb:///{tmp / 'warehouse.duckdb'}")
    shutil.copy(duckdb_warehouse.warehouse.duckdb_path, copy.duckdb_path)
    rows = query("select count(*) from marts.fct_messages", copy)

    rebuild_messages(copy, tmp, duckdb_warehouse.env, masked=True)
    assert text_counts(copy) == {table: (0, 1, 1) for table in TEXT_HOLDERS}
    assert query("select count(*) from marts.fct_messages", copy) == rows

    rebuild_messages(copy, tmp, duckdb_warehouse.env, masked=False)
    assert {counts[1:] for counts in text_counts(copy).values()} == {(0, 0)}
    assert text_mismatches(copy) == []
