"""Every parser against generated hostile input (hypothesis): deep nesting, huge strings, wrong
types, NaN and Infinity, lone surrogates, BOMs, CRLF, zero-width characters, dates before
1970 and far ahead, duplicate keys, numbers as strings.

The properties, for every parser: it never raises; each record is either a row or a
quarantine row with a reason (their counts add up to the input's); a valid record mixed into
hostile ones is still loaded; the rows and the quarantine rows convert to their Arrow tables
(what dlt loads). Examples hypothesis found once stay below as `@example`s.

Derandomized with a fixed budget (the `ci` profile in tests/conftest.py), so a run is
repeatable; `HYPOTHESIS_PROFILE=dev` searches more."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ingestion import quarantine
from ingestion.amocrm import LEADS as AMOCRM_LEADS
from ingestion.amocrm import USERS as AMOCRM_USERS
from ingestion.bitrix24 import DEALS as BITRIX24_DEALS
from ingestion.crm_loading import RecordTable, page_tables
from ingestion.telegram.parser import parse_file as parse_telegram
from ingestion.telegram.parser import to_arrow
from ingestion.wazzup.parsing import parse_file as parse_wazzup
from ingestion.whatsapp import MESSAGES_SCHEMA
from ingestion.whatsapp.parser import UndecidableDateOrder
from ingestion.whatsapp.parser import parse_export as parse_whatsapp

pytestmark = pytest.mark.unit

TRICKY_TEXT = [
    "\ufeff",  # BOM
    "\u200b\u200d\u2060",  # zero-width
    "\r\n",
    "\ud800",  # a lone surrogate (JSON "\ud800" decodes to it)
    "x" * 200_000,
    "NaN",
    "Infinity",
    "1e309",
    "-1",
    "0",
    "00042",
    " 17 ",
    "1969-12-31T23:59:59Z",
    "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59-05:00",
    "2999-01-01T00:00:00Z",
    "12.03.2024, 12:15",
]
TEXT = st.one_of(
    st.text(st.characters(codec=None, categories=None), max_size=40),
    st.sampled_from(TRICKY_TEXT),
)
SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**18, max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
)
JSONISH = st.recursive(
    SCALAR,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)


def deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def hostile_record(valid: dict) -> st.SearchStrategy:
    """A valid record with some keys given hostile values, or anything at all."""
    keys = sorted(valid)
    mutated = st.dictionaries(st.sampled_from(keys), JSONISH, min_size=1, max_size=3).map(
        lambda changes: {**valid, **changes}
    )
    return st.one_of(mutated, JSONISH)


def as_json(value) -> str:
    """JSON as a sender may write it: NaN and Infinity allowed, lone surrogates escaped."""
    return json.dumps(value, allow_nan=True)


def with_valid_one(records: list, valid: dict, position: int) -> list:
    position = min(position, len(records))
    return [*records[:position], valid, *records[position:]]


def assert_storable(rows_table, rejected: list[dict]) -> None:
    """Both convert to Arrow, and every quarantine row says why."""
    assert rows_table is not None
    quarantine.table(rejected)
    assert all(row["reason"] for row in rejected)


# -- Wazzup webhook bodies ----------------------------------------------------------------

WAZZUP_MESSAGE = {
    "messageId": "valid-0001",
    "channelId": "ch-1",
    "chatType": "whatsapp",
    "chatId": "79990000001",
    "dateTime": "2024-03-12T09:15:00.000Z",
    "type": "text",
    "isEcho": False,
    "text": "Здравствуйте",
    "contact": {"name": "Анна", "phone": "79990000001"},
}


@given(
    records=st.lists(hostile_record(WAZZUP_MESSAGE), max_size=6),
    position=st.integers(min_value=0, max_value=6),
    garbage=st.lists(
        st.one_of(
            st.binary(max_size=64),
            st.sampled_from([deep(5000).encode(), b"\xef\xbb\xbf{}", b"{}\r", b"[]", b"null"]),
            JSONISH.map(lambda value: as_json(value).encode()),
        ),
        max_size=3,
    ),
)
@example(records=[{**WAZZUP_MESSAGE, "text": "\ud800"}], position=0, garbage=[])
@example(records=[], position=0, garbage=[deep(5000).encode()])
@example(records=[], position=0, garbage=[b'{"messages": [{"messageId": 1' + b"0" * 5000 + b"}]}"])
@example(records=[{**WAZZUP_MESSAGE, "dateTime": "0001-01-01T00:00:00+05:00"}], position=0,
         garbage=[])  # fmt: skip
def test_wazzup_bodies(records, position, garbage):
    records = with_valid_one(records, WAZZUP_MESSAGE, position)
    lines = [*garbage, as_json({"messages": records}).encode()]
    parsed = parse_wazzup("2024-03-12T09.jsonl", lines)
    body_line = len(lines)
    kept = [line for line in parsed.lines["messages"] if line == body_line]
    refused = [
        r for r in parsed.rejected if r["line"] == body_line and r["record_kind"] == "messages"
    ]
    assert len(kept) + len(refused) == len(records)
    table = parsed.table("messages")
    assert "valid-0001" in table.column("message_id").to_pylist()
    assert_storable(table, parsed.rejected)


CHANNEL_UPDATE = {"channelId": "ch-1", "state": "active", "timestamp": 1710234905000}


@given(records=st.lists(hostile_record(CHANNEL_UPDATE), max_size=6))
@example(records=[{**CHANNEL_UPDATE, "timestamp": float("nan")}])
@example(records=[{**CHANNEL_UPDATE, "timestamp": 10**30}])
def test_wazzup_channel_updates(records):
    records = [CHANNEL_UPDATE, *records]
    parsed = parse_wazzup("2024-03-12T09.jsonl", [as_json({"channelsUpdates": records}).encode()])
    kept, refused = parsed.rows["channelsUpdates"], parsed.rejected
    assert len(kept) + len(refused) == len(records)
    assert_storable(parsed.table("channelsUpdates"), refused)


# -- Telegram exports -----------------------------------------------------------------------

TELEGRAM_MESSAGE = {
    "id": 1,
    "type": "message",
    "date": "2024-03-12T12:15:00",
    "date_unixtime": "1710234900",
    "from": "Анна",
    "from_id": "user5001",
    "text": "Здравствуйте",
}


def telegram_export(messages: list) -> bytes:
    chat = {"name": "Анна", "type": "personal_chat", "id": 5001, "messages": messages}
    return as_json(chat).encode()


@given(
    messages=st.lists(hostile_record(TELEGRAM_MESSAGE), max_size=6),
    position=st.integers(min_value=0, max_value=6),
)
@example(messages=[{**TELEGRAM_MESSAGE, "id": 2, "from": "\ud800"}], position=0)
@example(messages=[{**TELEGRAM_MESSAGE, "id": 2, "date_unixtime": "1e309"}], position=0)
@example(messages=[{**TELEGRAM_MESSAGE, "date": None, "type": []}], position=0)
@example(messages=[{**TELEGRAM_MESSAGE, "date_unixtime": None, "date": "0001-01-01T00:00:00"}],
         position=1)  # fmt: skip
def test_telegram_messages(messages, position):
    messages = with_valid_one(messages, TELEGRAM_MESSAGE, position)
    parsed = parse_telegram(telegram_export(messages), "result.json", "m01", {"7001"}, "UTC")
    refused = [r for r in parsed.rejected if r["record_kind"] == "message"]
    assert len(parsed.messages) + len(refused) == len(messages)
    assert "tg:5001:1" in [row["message_id"] for row in parsed.messages]
    assert_storable(to_arrow(parsed.messages), parsed.rejected)


@given(raw=st.one_of(st.binary(max_size=200), st.sampled_from([deep(100_000).encode()])))
@example(raw=deep(100_000).encode())
@example(raw=b"\xef\xbb\xbf{}")
def test_a_telegram_file_that_is_no_export_is_one_quarantine_row(raw):
    parsed = parse_telegram(raw, "result.json", "m01", set(), "UTC")
    assert parsed.messages == [] and len(parsed.rejected) <= 1
    assert_storable(True, parsed.rejected)


# -- WhatsApp text exports ------------------------------------------------------------------

WHATSAPP_LINE = "12.03.2024, 12:15 - Анна: Здравствуйте"
WHATSAPP_OTHER_LINES = [
    "12.03.2024, 12:16 - Иван: ок",
    "[12.03.2024, 12:17:05] Иван: ок",  # iOS
    "\u200e[12.03.2024, 12:18:00] Иван: \u200eimage omitted",
    "12.03.2024, 12:19 - Messages and calls are end-to-end encrypted.",
    "13.03.2024, 09:00 - Анна: <Media omitted>",
    "\r",
    "\ufeff",
    "",
]


@given(
    lines=st.lists(
        st.one_of(TEXT, st.sampled_from(WHATSAPP_OTHER_LINES)),
        max_size=8,
    ),
    position=st.integers(min_value=0, max_value=8),
    crlf=st.booleans(),
)
@example(lines=["31.02.2024, 12:15 - Иван: ok"], position=1, crlf=False)
def test_whatsapp_exports_are_read_exactly_or_refused_whole(lines, position, crlf):
    # the caller decodes bytes with errors="replace": no lone surrogate reaches the parser
    lines = [line.encode("utf-8", "replace").decode("utf-8", "replace") for line in lines]
    lines = with_valid_one(lines, WHATSAPP_LINE, position)
    text = ("\r\n" if crlf else "\n").join(lines)
    try:
        parsed = parse_whatsapp(text, "WhatsApp Chat with Анна.txt", "wa-chat", "Europe/Moscow")
    except UndecidableDateOrder as refused:
        assert str(refused)
        return
    texts = [row["text"] or "" for row in parsed.messages]
    assert any(t.startswith("Здравствуйте") for t in texts)
    rows = [{**row, "landing_file": "x.txt"} for row in parsed.messages]
    assert_storable(pa.Table.from_pylist(rows, schema=MESSAGES_SCHEMA), parsed.rejected)


# -- amoCRM and Bitrix24 pages ---------------------------------------------------------------

AMOCRM_LEAD = {
    "id": 3001001,
    "name": "Диван",
    "price": 89900,
    "responsible_user_id": 8100017,
    "status_id": 142,
    "pipeline_id": 7000001,
    "created_at": 1710234905,
    "updated_at": 1710331200,
    "closed_at": 1710331200,
    "is_deleted": False,
    "custom_fields_values": [{"field_id": 900101, "values": [{"value": "WhatsApp"}]}],
    "_embedded": {"contacts": [{"id": 41001, "is_main": True}]},
}
AMOCRM_USER = {"id": 8100017, "name": "Игорь", "email": "igor.sales@example.com"}
BITRIX24_DEAL = {
    "ID": "1201",
    "TITLE": "Диван",
    "STAGE_ID": "WON",
    "STAGE_SEMANTIC_ID": "S",
    "CATEGORY_ID": "0",
    "OPPORTUNITY": "89900.00",
    "CURRENCY_ID": "RUB",
    "ASSIGNED_BY_ID": "17",
    "CONTACT_ID": "501",
    "DATE_CREATE": "2024-03-12T12:16:10+03:00",
    "DATE_MODIFY": "2024-03-13T15:00:00+03:00",
    "CLOSEDATE": "2024-03-13T03:00:00+03:00",
    "SOURCE_ID": "CALL",
}
CRM_CASES = {
    "amocrm leads": (AMOCRM_LEADS, AMOCRM_LEAD, lambda rs: {"_embedded": {"leads": rs}}),
    "amocrm users": (AMOCRM_USERS, AMOCRM_USER, lambda rs: {"_embedded": {"users": rs}}),
    "bitrix24 deals": (BITRIX24_DEALS, BITRIX24_DEAL, lambda rs: {"result": rs, "total": len(rs)}),
}


def crm_page(table: RecordTable, body) -> tuple[list, list]:
    """The rows and quarantine rows of one page, as the source yields them."""
    items = list(page_tables([("page_0001.json", body)], table))
    rows = [row for item in items[:-1] for row in item.to_pylist()]
    return rows, items[-1].data.to_pylist()


@pytest.mark.parametrize("case", sorted(CRM_CASES))
@given(data=st.data())
def test_crm_pages(case, data):
    table, valid, page = CRM_CASES[case]
    hostile = data.draw(st.lists(hostile_record(valid), max_size=6))
    position = data.draw(st.integers(min_value=0, max_value=6))
    records = with_valid_one(hostile, valid, position)
    rows, refused = crm_page(table, json.loads(as_json(page(records))))
    assert len(rows) + len(refused) == len(records)
    assert int(valid.get("id", valid.get("ID"))) in [row["id"] for row in rows]
    assert all(row["reason"] for row in refused)


@pytest.mark.parametrize("case", sorted(CRM_CASES))
@given(body=JSONISH)
def test_a_crm_body_of_the_wrong_shape_is_quarantined_whole(case, body):
    table, _, _ = CRM_CASES[case]
    rows, refused = crm_page(table, json.loads(as_json(body)))
    if not isinstance(body, dict):
        assert rows == [] and [r["record_kind"] for r in refused] == ["body"]
    assert all(row["reason"] for row in refused)


# what the search found in the CRM pages once, kept as fixed cases
CRM_FOUND = [
    ("amocrm leads", {**AMOCRM_LEAD, "_embedded": None, "closed_at": 67768036191676800}),
    ("amocrm leads", {**AMOCRM_LEAD, "name": []}),
    ("bitrix24 deals", {**BITRIX24_DEAL, "DATE_MODIFY": "0001-01-01T00:00:00+05:00"}),
]


@pytest.mark.parametrize(("case", "record"), CRM_FOUND)
def test_crm_records_found_by_the_search_are_quarantined(case, record):
    table, valid, page = CRM_CASES[case]
    rows, refused = crm_page(table, json.loads(as_json(page([record, valid]))))
    assert len(rows) == 1 and [r["record_index"] for r in refused] == [0]
