"""Telegram Desktop exports: the parser on fixture exports, then dlt loads into a real DuckDB."""

from __future__ import annotations

import json
import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path

import dlt
import pytest

from ingestion.telegram import manager_directory, telegram
from ingestion.telegram.parser import (
    MESSAGES_SCHEMA,
    ParsedExport,
    flatten_text,
    parse_export,
    parse_file,
)

from .support.dlt_helpers import load, rows

FIXTURES = Path(__file__).parent / "fixtures" / "telegram"
EXPORTS = FIXTURES / "landing" / "telegram"
IGOR_IDS = {"7000000001"}
CONTRACT = [
    "message_id", "manager_id", "chat_id", "chat_name", "chat_type", "author_id",
    "author_name", "author_side", "sent_at", "message_type", "text", "is_deleted",
    "is_edited", "client_phone", "client_username", "landing_file", "landing_line",
]  # fmt: skip


def parse(relative: str, ids: set[str] = IGOR_IDS, tz: str = "Europe/Moscow") -> ParsedExport:
    path = EXPORTS / relative if (EXPORTS / relative).exists() else FIXTURES / relative
    return parse_file(path.read_bytes(), relative, relative.split("/")[0], ids, tz)


def by_id(parsed: ParsedExport) -> dict[str, dict]:
    return {row["message_id"]: row for row in parsed.messages}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ---------------------------------------------------------------- parser


@pytest.mark.unit
def test_single_chat_message_variants():
    rows = by_id(parse("igor/chat_anna_2024-03-13.json"))
    assert len(rows) == 11
    first = rows["tg:5123456789:101"]
    assert first["chat_id"] == "tg:5123456789" and first["chat_type"] == "personal_chat"
    assert (
        first["manager_id"] == "igor" and first["landing_file"] == "igor/chat_anna_2024-03-13.json"
    )
    assert (first["landing_line"], first["author_side"], first["message_type"]) == (
        0,
        "client",
        "text",
    )
    assert first["sent_at"] == utc(2024, 3, 12, 9, 15, 3)  # date_unixtime, not the local `date`
    # text as a list of strings and entities
    assert rows["tg:5123456789:102"]["text"] == (
        "Добрый день, Анна! Доставка — 490 ₽, подробности: https://example.com/delivery"
    )
    assert rows["tg:5123456789:102"]["author_side"] == "manager"
    assert [rows[f"tg:5123456789:{i}"]["is_edited"] for i in (103, 104)] == [False, True]
    types = {i: rows[f"tg:5123456789:{i}"]["message_type"] for i in range(103, 112) if i != 104}
    assert types == {
        103: "photo", 105: "voice", 106: "service:phone_call", 107: "text", 108: "sticker",
        109: "video", 110: "file", 111: "unsupported",
    }  # fmt: skip
    assert rows["tg:5123456789:103"]["text"] == "Вот такой диван нужен"
    assert rows["tg:5123456789:105"]["text"] is None  # a voice message has an empty text
    call = rows["tg:5123456789:106"]
    assert (call["author_side"], call["author_id"], call["author_name"]) == (
        "system", "user5123456789", "Анна Клиентова",
    )  # fmt: skip
    assert rows["tg:5123456789:111"]["author_side"] == "system"
    sticker = rows["tg:5123456789:108"]  # `from` is null
    assert (sticker["author_name"], sticker["author_side"]) == (None, "client")
    assert all(not r["is_deleted"] and r["client_phone"] is None for r in rows.values())


@pytest.mark.unit
def test_personal_chat_peer_is_the_client_without_any_manager_id():
    rows = by_id(parse("igor/chat_anna_2024-03-13.json", ids=set()))
    assert rows["tg:5123456789:101"]["author_side"] == "client"  # from_id == user<chat id>
    assert rows["tg:5123456789:102"]["author_side"] == "manager"  # the other author


@pytest.mark.unit
def test_a_message_sent_via_a_bot_is_automation():
    export = json.loads((EXPORTS / "igor/chat_anna_2024-03-13.json").read_text(encoding="utf-8"))
    message = next(m for m in export["messages"] if m["id"] == 102)
    message["via_bot"] = "@PriceListBot"
    parsed = parse_file(json.dumps(export).encode(), "igor/bot.json", "igor", IGOR_IDS, "UTC")
    assert by_id(parsed)["tg:5123456789:102"]["author_side"] == "automation"


@pytest.mark.unit
def test_broken_messages_are_quarantined_and_the_rest_parse():
    parsed = parse("igor/chat_anna_2024-03-13.json")
    assert len(parsed.messages) == 11
    rejected = [(r["location"], r["line"], r["record_kind"], r["record_index"], r["reason"])
                for r in parsed.rejected]  # fmt: skip
    location = "igor/chat_anna_2024-03-13.json#chat5123456789"
    assert rejected == [
        (location, 0, "message", 11, "id missing or not an integer"),
        (location, 0, "message", 12, "date_unixtime is not epoch seconds: 'вчера'"),
        (location, 0, "message", 13, "text has unexpected type int"),
    ]
    assert json.loads(parsed.rejected[2]["raw_payload"])["id"] == 114


@pytest.mark.unit
def test_full_account_export_keeps_dialogs_and_skips_the_rest(caplog):
    with caplog.at_level(logging.INFO):
        parsed = parse("maria/full_account.json")
    assert parsed.rejected == []
    rows = by_id(parsed)
    chats = {(r["chat_id"], r["chat_name"], r["chat_type"]) for r in rows.values()}
    assert chats == {
        ("tg:5200000001", "Пётр Покупатель", "personal_chat"),
        ("tg:1700000001", "Опт: Ромашка", "private_supergroup"),
        ("tg:1900000001", "Закупки 2023", "private_supergroup"),  # from left_chats
    }
    for skipped in ("saved_messages chat 7000000002 None", "public_channel", "bot_chat"):
        assert f"skipped {skipped}" in caplog.text
    sides = {key: row["author_side"] for key, row in rows.items()}
    assert sides == {
        "tg:5200000001:10": "client",
        "tg:5200000001:11": "manager",  # personal_information.user_id
        "tg:5200000001:12": "client",
        "tg:1700000001:1": "system",  # service create_group
        "tg:1700000001:2": "client",
        "tg:1700000001:3": "manager",  # another manager's telegram_user_ids
        "tg:1700000001:4": "manager",
        "tg:1900000001:7": "client",
        "tg:1900000001:8": "manager",
    }
    assert all(row["manager_id"] == "maria" for row in rows.values())


@pytest.mark.unit
def test_full_account_owner_is_the_manager_in_groups_without_managers_csv():
    rows = by_id(parse("maria/full_account.json", ids=set()))
    assert rows["tg:1700000001:4"]["author_side"] == "manager"
    assert rows["tg:1700000001:3"]["author_side"] == "client"  # unknown without managers.csv


@pytest.mark.unit
def test_pre_2021_export_uses_local_date_and_time_zone():
    parsed = parse("oleg/chat_2019.json", ids={"7000000003"}, tz="Asia/Yekaterinburg")
    rows = by_id(parsed)
    assert rows["tg:5400000001:1"]["sent_at"] == utc(2019, 2, 17, 7, 28)  # 12:28 at UTC+5
    assert rows["tg:5400000001:1"]["author_id"] == "user5400000001"  # numeric from_id
    assert rows["tg:5400000001:2"]["author_side"] == "manager"
    assert rows["tg:5400000001:2"]["text"] == "Да, 15 000 ₽"
    assert rows["tg:5400000001:3"]["message_type"] == "service:phone_call"
    assert [r["reason"] for r in parsed.rejected] == ["no date_unixtime and no date"]
    moscow = by_id(parse("oleg/chat_2019.json", tz="Europe/Moscow"))
    assert moscow["tg:5400000001:1"]["sent_at"] == utc(2019, 2, 17, 9, 28)


@pytest.mark.unit
def test_unknown_time_zone_quarantines_only_messages_that_need_it():
    old = parse("oleg/chat_2019.json", tz="Mars/Olympus")
    assert old.messages == [] and len(old.rejected) == 4
    assert "unknown time zone 'Mars/Olympus'" in old.rejected[0]["reason"]
    assert len(parse("igor/chat_anna_2024-03-13.json", tz="Mars/Olympus").messages) == 11


@pytest.mark.unit
def test_overlapping_later_export_only_adds_new_ids():
    earlier = by_id(parse("igor/chat_anna_2024-03-13.json"))
    later = by_id(parse("later/chat_anna_2024-04-20.json"))
    assert set(later) - set(earlier) == {"tg:5123456789:115", "tg:5123456789:116"}
    assert set(earlier) <= set(later)
    assert later["tg:5123456789:116"]["text"] == "Рады помочь, Анна!"


@pytest.mark.unit
@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"name": "x", "messages": [', "invalid JSON"),
        (b"\xff\xfe not utf-8", "invalid JSON"),
        (b'{"about": "no chats"}', "neither messages (one chat) nor chats"),
        (b"[1, 2]", "neither messages (one chat) nor chats"),
    ],
)
def test_unreadable_file_is_one_quarantine_row(raw: bytes, reason: str):
    parsed = parse_file(raw, "igor/x.json", "igor", set(), "Europe/Moscow")
    assert parsed.messages == []
    [row] = parsed.rejected
    assert (row["location"], row["record_kind"], row["record_index"]) == ("igor/x.json", "file", 0)
    assert row["reason"].startswith(reason)


@pytest.mark.unit
def test_bad_chat_in_a_full_export_is_quarantined_the_other_chats_load():
    data = {
        "personal_information": {"user_id": 1},
        "chats": {"list": [
            {"name": "no id", "type": "personal_chat", "messages": []},
            {"name": "ok", "type": "private_group", "id": 5, "messages": [
                {"id": 1, "type": "message", "date_unixtime": "1710000000", "from_id": "user1",
                 "text": "hi"}]},
        ]},
        "left_chats": {"list": "broken"},
    }  # fmt: skip
    parsed = parse_export(data, "m/full.json", "m", set(), "Europe/Moscow")
    assert [r["author_side"] for r in parsed.messages] == ["manager"]
    assert [(r["location"], r["record_kind"], r["record_index"]) for r in parsed.rejected] == [
        ("m/full.json#chats", "chat", 0),
        ("m/full.json#left_chats", "chats", 0),
    ]


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "flat"),
    [
        ("plain", "plain"),
        ("", None),
        (None, None),
        (["a ", {"type": "bold", "text": "b"}, {"type": "custom_emoji", "text": "😀"}], "a b😀"),
        ([{"type": "mention_name", "text": "Анна", "user_id": 5}], "Анна"),
    ],
)
def test_flatten_text(text, flat):
    assert flatten_text(text) == flat


@pytest.mark.unit
def test_manager_directory_ids_and_time_zones(tmp_path):
    ids, zones = manager_directory(FIXTURES / "landing" / "managers.csv")
    assert ids == {"7000000001", "7000000003"}  # 'user' prefix tolerated
    assert zones == {"igor": "Europe/Moscow", "oleg": "Asia/Yekaterinburg"}
    assert manager_directory(tmp_path / "missing.csv") == (set(), {})


# ---------------------------------------------------------------- dlt into DuckDB


def normalized_rows(tmp_path: Path) -> dict[str, int]:
    """Rows the last run of the pipeline extracted, per table (dlt tables aside)."""
    pipeline = dlt.attach(pipeline_name="test_telegram", pipelines_dir=str(tmp_path / "pipelines"))
    counts = pipeline.last_trace.last_normalize_info.row_counts
    return {table: n for table, n in counts.items() if not table.startswith("_dlt")}


@pytest.fixture
def landing(tmp_path) -> Path:
    target = tmp_path / "landing"
    shutil.copytree(FIXTURES / "landing", target)
    return target


@pytest.mark.integration
def test_load_messages_sides_and_quarantine(tmp_path, landing):
    counts = load(tmp_path, telegram(landing))
    # igor 11 + maria 9 + oleg 3; 3 bad messages + 2 bad files (igor), 1 bad message (oleg)
    assert counts == {"messages": 23, "quarantine": 6}
    columns = rows(
        tmp_path,
        "select column_name, data_type from information_schema.columns where table_schema = "
        "'raw_telegram' and table_name = 'messages' and column_name not like '\\_dlt%' escape '\\' "
        "order by ordinal_position",
    )
    assert [name for name, _ in columns] == CONTRACT == MESSAGES_SCHEMA.names
    assert dict(columns)["sent_at"] == "TIMESTAMP WITH TIME ZONE"
    sides = rows(
        tmp_path,
        "select manager_id, author_side, count(*) from raw_telegram.messages group by 1, 2 "
        "order by 1, 2",
    )
    assert sides == [
        ("igor", "client", 5), ("igor", "manager", 4), ("igor", "system", 2),
        ("maria", "client", 4), ("maria", "manager", 4), ("maria", "system", 1),
        ("oleg", "client", 1), ("oleg", "manager", 1), ("oleg", "system", 1),
    ]  # fmt: skip
    [(sent_at,)] = rows(
        tmp_path, "select sent_at from raw_telegram.messages where message_id = 'tg:5400000001:1'"
    )
    assert sent_at == utc(2019, 2, 17, 7, 28)  # oleg's Asia/Yekaterinburg from managers.csv
    quarantined = rows(
        tmp_path,
        "select location, record_kind, record_index from raw_telegram.quarantine order by 1, 3",
    )
    assert quarantined == [
        ("igor/broken.json", "file", 0),
        ("igor/chat_anna_2024-03-13.json#chat5123456789", "message", 11),
        ("igor/chat_anna_2024-03-13.json#chat5123456789", "message", 12),
        ("igor/chat_anna_2024-03-13.json#chat5123456789", "message", 13),
        ("igor/notes.json", "file", 0),
        ("oleg/chat_2019.json#chat5400000001", "message", 3),
    ]


@pytest.mark.integration
def test_rerun_adds_nothing_and_a_later_export_adds_only_new_messages(tmp_path, landing):
    load(tmp_path, telegram(landing))
    assert normalized_rows(tmp_path) == {"messages": 23, "quarantine": 6}
    again = load(tmp_path, telegram(landing))
    assert again == {"messages": 23, "quarantine": 6}
    assert normalized_rows(tmp_path) == {}  # the unchanged files were not read again
    shutil.copy(FIXTURES / "later" / "chat_anna_2024-04-20.json", landing / "telegram" / "igor")
    after = load(tmp_path, telegram(landing))
    assert after == {"messages": 25, "quarantine": 6}
    assert normalized_rows(tmp_path).get("messages") == 13  # only the new file was read
    [(landing_file,)] = rows(
        tmp_path,
        "select landing_file from raw_telegram.messages where message_id = 'tg:5123456789:101'",
    )
    assert landing_file == "igor/chat_anna_2024-04-20.json"  # the later export's copy


@pytest.mark.integration
def test_overlapping_exports_in_one_load_keep_one_row_per_message(tmp_path, landing):
    shutil.copy(FIXTURES / "later" / "chat_anna_2024-04-20.json", landing / "telegram" / "igor")
    assert load(tmp_path, telegram(landing)) == {"messages": 25, "quarantine": 6}
    [(landing_file,)] = rows(
        tmp_path,
        "select landing_file from raw_telegram.messages where message_id = 'tg:5123456789:101'",
    )
    assert landing_file == "igor/chat_anna_2024-04-20.json"


@pytest.mark.integration
def test_load_without_managers_csv_uses_exports_and_default_time_zone(tmp_path, landing):
    (landing / "managers.csv").unlink()
    assert load(tmp_path, telegram(landing)) == {"messages": 23, "quarantine": 6}
    [(sent_at, side)] = rows(
        tmp_path,
        "select sent_at, author_side from raw_telegram.messages "
        "where message_id = 'tg:5400000001:1'",
    )
    assert (sent_at, side) == (utc(2019, 2, 17, 9, 28), "client")  # Europe/Moscow


@pytest.mark.integration
@pytest.mark.parametrize("make_folder", [False, True])
def test_no_exports_gives_empty_tables(tmp_path, caplog, make_folder):
    empty = tmp_path / "empty_landing"
    (empty / "telegram" / "igor" if make_folder else empty).mkdir(parents=True)
    with caplog.at_level(logging.INFO):
        assert load(tmp_path, telegram(empty)) == {"messages": 0, "quarantine": 0}
    assert ("no exports in" if make_folder else "telegram: no landing folder") in caplog.text
