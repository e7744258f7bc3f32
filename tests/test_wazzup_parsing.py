"""The Wazzup line parser on the lines its fast JSON reader (orjson) refuses or would misread:
json decides those, so rows and quarantine reasons are json's, line by line."""

from __future__ import annotations

import json

import pytest

from ingestion.wazzup.parsing import parse_file

pytestmark = pytest.mark.unit

MESSAGE = {"messageId": "m-1", "dateTime": "2024-03-12T09:15:03.412Z", "chatType": "whatsapp",
           "channelId": "c-1", "chatId": "79001234567", "text": "Здравствуйте"}  # fmt: skip


def body(**changes) -> bytes:
    return json.dumps({"messages": [{**MESSAGE, **changes}]}, ensure_ascii=False).encode()


def parse(*lines: bytes):
    parsed = parse_file("2024-03-12T09.jsonl", [line + b"\n" for line in lines])
    return parsed.table("messages").to_pylist(), parsed.rejected


def test_integers_past_64_bits_stay_integers():
    big = 123456789012345678901234567890
    [row], rejected = parse(body(messageId=big, chatId=-(2**63) - 1))
    assert (row["message_id"], row["chat_id"]) == (str(big), str(-(2**63) - 1))
    assert rejected == []


def test_json_extensions_and_odd_bytes_read_as_json_reads_them():
    [nan, replaced], rejected = parse(
        body().replace(b'"text"', b'"isEcho": NaN, "text"'),  # NaN is true
        body().replace("Здравствуйте".encode(), b"\xff\xfe"),
    )
    assert nan["is_echo"] is True
    assert replaced["text"] == "\ufffd\ufffd"
    assert rejected == []


def test_refused_lines_are_quarantined_with_json_reasons_and_blank_lines_counted():
    trailing_comma = b'{"messages": [],}'
    messages, rejected = parse(b"", b" \x1c\t", trailing_comma, b"\xef\xbb\xbf" + body())
    assert messages == []
    assert [(r["line"], r["record_kind"], r["reason"]) for r in rejected] == [
        (3, "body", "invalid JSON: Expecting property name enclosed in double quotes: "
                    "line 1 column 17 (char 16)"),
        (4, "body", "invalid JSON: Unexpected UTF-8 BOM (decode using utf-8-sig): "
                    "line 1 column 1 (char 0)"),
    ]  # fmt: skip
    assert rejected[0]["raw_payload"] == trailing_comma.decode()


def test_one_pass_gives_every_table_with_its_landing_line():
    both = {"messages": [MESSAGE], "statuses": [{"messageId": "m-1", "status": "read",
            "timestamp": "2024-03-12T09:16:00Z"}]}  # fmt: skip
    parsed = parse_file("f.jsonl", [b'{"test": true}\n', json.dumps(both).encode()])
    assert parsed.table("messages").column("landing_position").to_pylist() == ["f.jsonl#0000000002"]
    assert parsed.table("statuses").column("landing_line").to_pylist() == [2]
    assert parsed.table("channelsUpdates").num_rows == 0
