"""WhatsApp "Export chat" files: the parser on every format variant, and the dlt source
loaded into a real DuckDB. Fixtures are written in the project (tests/fixtures/whatsapp)."""

from __future__ import annotations

import logging
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingestion.whatsapp import MESSAGES_SCHEMA, load_directory, read_export, whatsapp
from ingestion.whatsapp.parser import (
    UndecidableDateOrder,
    chat_name_from_file,
    parse_export,
)

from .support.dlt_helpers import load, rows

LANDING = Path(__file__).parent / "fixtures" / "whatsapp" / "landing"
EXPORTS = LANDING / "whatsapp"
RU = "m01/Чат WhatsApp с Анна Клиентова.txt"
RU_OLD = "m01/WhatsApp Chat with +7 900 123-45-67.txt"
IOS_RU = "m01/_chat.txt"
US = "m02/WhatsApp Chat with Anna Client.txt"
IOS_US_GROUP = "m02/WhatsApp Chat - Sales team.txt"
UNDECIDABLE = "m02/WhatsApp Chat with Boris.txt"
GB_BROKEN = "m02/WhatsApp Chat with Carl.txt"
NNBSP = "\u202f"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def parse(name: str, timezone: str = "Europe/Moscow", chat_key: str = "m:chat"):
    text = (EXPORTS / name).read_bytes().decode("utf-8")
    return parse_export(text, name, chat_key, timezone)


def by_line(parsed) -> dict[int, dict]:
    return {m["landing_line"]: m for m in parsed.messages}


# ---------------------------------------------------------------- parser


@pytest.mark.unit
def test_android_ru_multiline_placeholders_and_system_lines():
    parsed = parse(RU)
    msgs = by_line(parsed)
    assert parsed.authors == ["Анна Клиентова", "Игорь Менеджер"]
    assert parsed.chat_name == "Анна Клиентова"  # from "Чат WhatsApp с Анна Клиентова.txt"
    assert sorted(msgs) == [1, 2, 3, 6, 7, 8, 9, 10, 11, 13, 14, 15]
    assert msgs[1]["is_system"] and msgs[1]["author_name"] is None
    assert msgs[1]["message_type"] == "system" and "шифрованием" in msgs[1]["text"]
    assert msgs[15]["message_type"] == "system"  # "Ваш код безопасности ... изменился"
    assert msgs[3]["text"] == (
        "Добрый день, Анна! Доставка — 490 ₽.\nПодробности на сайте:\nhttps://example.com/delivery"
    )
    # 12:15 in Moscow (UTC+3) is 09:15 UTC; the local time stays as written
    assert msgs[2]["sent_at"] == utc(2024, 3, 12, 9, 15)
    assert msgs[2]["local_time"] == datetime(2024, 3, 12, 12, 15)
    assert [msgs[n]["message_type"] for n in (6, 7, 8, 9, 10)] == [
        "media", "media", "deleted", "deleted", "file",
    ]  # fmt: skip
    assert msgs[8]["is_deleted"] and msgs[9]["is_deleted"] and msgs[8]["text"] is None
    assert msgs[10]["text"] == "Прайс.pdf"  # "(файл добавлен)" and U+200E dropped
    assert parsed.rejected == []


@pytest.mark.unit
def test_date_like_body_line_continues_and_full_prefix_line_starts_a_message():
    msgs = by_line(parse(RU))
    # "14.03.2024 подойдёт тоже" starts with a date but is no message prefix
    assert msgs[11]["text"] == "Можно забрать 14.03.2024 в 18:00?\n14.03.2024 подойдёт тоже"
    # a body line that fully matches the prefix is read as a new message (documented)
    assert msgs[13]["text"] == "Да, записал. Ваш заказ:"
    assert (msgs[14]["author_name"], msgs[14]["text"]) == ("Анна Клиентова", "Спасибо")


@pytest.mark.unit
def test_older_ru_two_digit_year_and_russian_missed_call():
    msgs = by_line(parse(RU_OLD))
    assert msgs[2]["local_time"] == datetime(2019, 2, 17, 12, 28)
    assert msgs[2]["sent_at"] == utc(2019, 2, 17, 9, 28)
    assert msgs[4]["message_type"] == "call" and msgs[4]["is_system"]
    assert msgs[4]["author_name"] == "+7 900 123-45-67"  # a call keeps who called


@pytest.mark.unit
def test_ios_ru_region_crlf_lrm_placeholders_and_notice_authored_by_chat_name():
    parsed = parse(IOS_RU)
    msgs = by_line(parsed)
    assert parsed.chat_name == "Ольга"  # the "author" of the encryption notice
    assert parsed.authors == ["Ольга", "Игорь Менеджер"]
    assert msgs[1]["is_system"] and msgs[1]["author_name"] is None
    assert msgs[1]["text"].startswith("Сообщения и звонки")  # U+200E stripped
    assert msgs[2]["sent_at"] == utc(2024, 3, 12, 9, 15, 3)  # seconds kept
    assert msgs[4]["message_type"] == "media"  # U+200E before `[` and before the placeholder
    assert msgs[5]["is_deleted"] and msgs[6]["is_deleted"]  # with the iOS trailing dot
    assert msgs[7]["is_edited"] and msgs[7]["text"] == "Итого со скидкой:\n4 900 ₽"
    assert not any("\r" in (m["text"] or "") for m in parsed.messages)


@pytest.mark.unit
def test_android_en_us_12h_with_narrow_no_break_space():
    parsed = parse(US, timezone="Asia/Yekaterinburg")  # UTC+5
    msgs = by_line(parsed)
    assert msgs[2]["local_time"] == datetime(2024, 3, 12, 12, 15)  # 12:15 PM is noon
    assert msgs[2]["sent_at"] == utc(2024, 3, 12, 7, 15)
    assert msgs[10]["local_time"] == datetime(2024, 3, 13, 0, 5)  # 12:05 AM is after midnight
    assert msgs[10]["sent_at"] == utc(2024, 3, 12, 19, 5)
    assert msgs[11]["sent_at"] == utc(2024, 3, 13, 4, 2)  # 9:02 AM
    assert (msgs[6]["message_type"], msgs[6]["text"]) == ("media", None)  # <Media omitted>
    assert msgs[7]["is_deleted"] and msgs[9]["is_deleted"]
    assert msgs[8]["is_edited"] and msgs[8]["text"] == "In stock, I can reserve it until Friday"
    assert msgs[10]["message_type"] == "media"  # "null"
    assert msgs[11]["message_type"] == "call" and msgs[11]["is_system"]
    assert (msgs[12]["message_type"], msgs[12]["text"]) == ("file", "price_list.pdf")
    # two messages of one author in one minute: distinct ids by ordinal
    assert msgs[13]["message_id"] != msgs[14]["message_id"]
    assert all(m["message_id"].startswith("wa:") for m in parsed.messages)


@pytest.mark.unit
def test_12h_with_plain_space_reads_like_narrow_no_break_space():
    plain = "3/13/24, 9:02 PM - Anna: hi\n3/14/24, 12:00 AM - Anna: late\n"
    narrow = plain.replace(" PM", f"{NNBSP}PM").replace(" AM", f"{NNBSP}AM")
    for text in (plain, narrow):
        msgs = parse_export(text, "x.txt", "m:x", "UTC").messages
        assert [m["local_time"] for m in msgs] == [
            datetime(2024, 3, 13, 21, 2),
            datetime(2024, 3, 14, 0, 0),
        ]
    assert [m["message_id"] for m in parse_export(plain, "x.txt", "m:x", "UTC").messages] == [
        m["message_id"] for m in parse_export(narrow, "x.txt", "m:x", "UTC").messages
    ]


@pytest.mark.unit
def test_ios_en_us_group_system_lines_plain_space_12h():
    parsed = parse(IOS_US_GROUP, timezone="UTC")
    msgs = by_line(parsed)
    assert parsed.chat_name == "Sales team"
    assert parsed.authors == ["Igor Sales", "Boris Buyer", "Anna Client"]
    assert [n for n, m in msgs.items() if m["message_type"] == "system"] == [1, 2, 3]
    assert (
        msgs[4]["text"] == "Welcome! Prices for the group order:\n- chairs 4 900\n- tables 12 000"
    )
    assert msgs[7]["message_type"] == "media" and msgs[8]["message_type"] == "media"
    assert msgs[9]["sent_at"] == utc(2024, 3, 14, 12, 30)
    assert msgs[10]["sent_at"] == utc(2024, 3, 14, 13, 15) and msgs[10]["is_system"]


@pytest.mark.unit
def test_day_month_order_is_decided_per_file():
    # en-GB: 13/03 decides day-first
    gb = parse_export("12/03/2024, 12:15 - A: x\n13/03/2024, 09:00 - B: y\n", "f", "k", "UTC")
    assert gb.messages[1]["local_time"] == datetime(2024, 3, 13, 9, 0)
    # all parts <= 12, but only month-first keeps the chat in time order
    text = "01/02/24, 10:00 - A: x\n01/03/24, 10:00 - A: y\n02/01/24, 10:00 - A: z\n"
    dates = [
        m["local_time"].date().isoformat() for m in parse_export(text, "f", "k", "UTC").messages
    ]
    assert dates == ["2024-01-02", "2024-01-03", "2024-02-01"]
    # dotted dates are day-first when nothing else decides (no locale writes M.D.Y)
    dotted = parse_export("01.02.24, 10:00 - A: x\n03.04.24, 10:00 - A: y\n", "f", "k", "UTC")
    assert dotted.messages[0]["local_time"] == datetime(2024, 2, 1, 10, 0)
    # every date reads the same both ways: nothing to decide
    same = parse_export("03/03/24, 10:00 - A: x\n", "f", "k", "UTC")
    assert same.messages[0]["local_time"] == datetime(2024, 3, 3, 10, 0)


@pytest.mark.unit
def test_undecidable_file_raises_an_error_naming_the_file():
    with pytest.raises(UndecidableDateOrder, match="WhatsApp Chat with Boris.txt: cannot decide"):
        parse(UNDECIDABLE)


@pytest.mark.unit
def test_an_impossible_date_refuses_the_whole_file():
    with pytest.raises(UndecidableDateOrder, match=r"Carl.txt: no day/month/year order .*31/02"):
        parse(GB_BROKEN, "UTC")


@pytest.mark.unit
def test_junk_before_the_first_message_is_quarantined_and_the_rest_parses():
    text = "Exported by a backup tool v1.2\n13/03/2024, 12:15 - Carl: Hi\nthat goes on\n"
    parsed = parse_export(text, "f.txt", "k", "UTC")
    assert [(m["landing_line"], m["text"]) for m in parsed.messages] == [(2, "Hi\nthat goes on")]
    [junk] = parsed.rejected
    assert (junk["line"], junk["record_kind"], junk["raw_payload"]) == (
        1, "message", "Exported by a backup tool v1.2"
    )  # fmt: skip
    assert "before the first message" in junk["reason"] and junk["location"] == "f.txt"


@pytest.mark.unit
def test_times_follow_the_zone_rules_of_the_date():
    text = "15.01.2024, 12:00 - A: winter\n15.07.2024, 12:00 - A: summer\n"
    msgs = parse_export(text, "f", "k", "Europe/Berlin").messages
    assert [m["sent_at"] for m in msgs] == [utc(2024, 1, 15, 11), utc(2024, 7, 15, 10)]


@pytest.mark.unit
def test_ids_are_stable_across_a_later_export_and_depend_on_the_chat():
    text = (EXPORTS / US).read_text(encoding="utf-8")
    later = text + (
        f"3/13/24, 10:06{NNBSP}AM - Anna Client: One more thing\n"
        f"3/14/24, 8:00{NNBSP}AM - Igor Sales: Yes, delivery on Friday\n"
        "See you\n"
    )
    first = parse_export(text, US, "m02:Anna Client", "UTC").messages
    second = parse_export(later, US, "m02:Anna Client", "UTC").messages
    assert [m["message_id"] for m in second[: len(first)]] == [m["message_id"] for m in first]
    assert len({m["message_id"] for m in second}) == len(first) + 2
    other = parse_export(text, US, "m03:Anna Client", "UTC").messages
    assert not {m["message_id"] for m in other} & {m["message_id"] for m in first}


@pytest.mark.unit
def test_chat_name_from_file_name():
    assert chat_name_from_file("m01/WhatsApp Chat with Анна.txt") == "Анна"
    assert chat_name_from_file("m01/Чат WhatsApp с Анна.txt") == "Анна"
    assert chat_name_from_file("m01/WhatsApp Chat with Анна (1).txt") == "Анна"
    assert chat_name_from_file("m01/WhatsApp Chat - Sales team.txt") == "Sales team"
    assert chat_name_from_file("m01/anna.txt") is None


@pytest.mark.unit
def test_invalid_utf8_bytes_are_replaced_not_fatal(caplog):
    data = "12.03.2024, 12:15 - Анна: привет ".encode() + b"\xff\xfe" + b"\n"
    with caplog.at_level(logging.WARNING):
        rows, rejected = read_export(
            "m09/WhatsApp Chat with Анна.txt", data, load_directory(LANDING)
        )
    assert rejected == [] and rows[0]["text"] == "привет \ufffd\ufffd"
    assert "not valid UTF-8" in caplog.text


# ---------------------------------------------------------------- dlt load


@pytest.fixture
def landing(tmp_path) -> Path:
    target = tmp_path / "landing"
    shutil.copytree(LANDING, target)
    return target


# 12 + 4 + 7 (m01) + 12 + 8 + 3 (m02); Boris's file is undecidable
LOADED = 43  # the Carl file (an impossible date) is refused whole


@pytest.mark.integration
def test_load_counts_sides_and_quarantine(tmp_path, landing):
    counts = load(tmp_path, whatsapp(landing))
    assert counts == {"messages": LOADED, "quarantine": 2}
    columns = rows(
        tmp_path,
        "select column_name from information_schema.columns where table_schema = 'raw_whatsapp' "
        "and table_name = 'messages' and column_name not like '\\_dlt%' escape '\\' "
        "order by ordinal_position",
    )
    assert [c for (c,) in columns] == MESSAGES_SCHEMA.names
    sides = rows(
        tmp_path,
        "select chat_id, chat_type, author_side, count(*), max(client_phone), "
        "string_agg(distinct author_id, ',' order by author_id) "
        "from raw_whatsapp.messages group by all order by 1, 3",
    )
    assert sides == [
        ("m01:+7 900 123-45-67", "personal", "client", 1, "79001234567", "+7 900 123-45-67"),
        # "Игорь" is not a whatsapp_name of m01: the other author is the chat name, so he
        # is the phone's owner
        ("m01:+7 900 123-45-67", "personal", "manager", 1, "79001234567", "Игорь"),
        ("m01:+7 900 123-45-67", "personal", "system", 2, "79001234567", "+7 900 123-45-67"),
        ("m01:Анна Клиентова", "personal", "client", 6, None, "Анна Клиентова"),
        ("m01:Анна Клиентова", "personal", "manager", 4, None, "Игорь Менеджер"),
        ("m01:Анна Клиентова", "personal", "system", 2, None, None),
        ("m01:Ольга", "personal", "client", 3, None, "Ольга"),
        ("m01:Ольга", "personal", "manager", 3, None, "Игорь Менеджер"),
        ("m01:Ольга", "personal", "system", 1, None, None),
        ("m02:Anna Client", "personal", "client", 6, None, "Anna Client"),
        ("m02:Anna Client", "personal", "manager", 4, None, "Igor Sales"),
        ("m02:Anna Client", "personal", "system", 2, None, "Anna Client"),
        ("m02:Sales team", "group", "client", 3, None, "Anna Client,Boris Buyer"),
        ("m02:Sales team", "group", "manager", 1, None, "Igor Sales"),
        ("m02:Sales team", "group", "system", 4, None, "Anna Client"),
    ]
    # m02's phones are in Asia/Yekaterinburg (managers.csv): 9:02 AM is 04:02 UTC
    [(sent_at, landing_file, line)] = rows(
        tmp_path,
        "select sent_at, landing_file, landing_line from raw_whatsapp.messages "
        "where chat_id = 'm02:Anna Client' and message_type = 'call'",
    )
    assert sent_at == utc(2024, 3, 13, 4, 2)
    assert (landing_file, line) == (US, 11)
    quarantined = rows(
        tmp_path,
        "select location, line, record_kind, reason from raw_whatsapp.quarantine order by 1, 2",
    )
    assert [q[:3] for q in quarantined] == [(UNDECIDABLE, 0, "file"), (GB_BROKEN, 0, "file")]
    assert quarantined[0][3].startswith(f"{UNDECIDABLE}: cannot decide the date order")
    assert "31/02/2024" in quarantined[1][3]


def touch_later(path: Path, seconds: int) -> None:
    stat = path.stat()
    os.utime(path, (stat.st_atime + seconds, stat.st_mtime + seconds))


def later_export(text: str) -> str:
    """The same chat exported later: a message deleted since, two new messages."""
    old, new = "Anna Client: Is the offer still valid?", "Anna Client: This message was deleted"
    return text.replace(old, new) + (
        f"3/14/24, 8:00{NNBSP}AM - Igor Sales: Yes, delivery on Friday\n"
        f"3/14/24, 8:01{NNBSP}AM - Anna Client: Great\n"
    )


def deleted_flag(tmp_path: Path) -> list[tuple]:
    return rows(
        tmp_path,
        "select is_deleted, text from raw_whatsapp.messages "
        "where chat_id = 'm02:Anna Client' and landing_line = 13",
    )


@pytest.mark.integration
def test_reload_and_overlapping_later_export_add_only_new_messages(tmp_path, landing):
    load(tmp_path, whatsapp(landing))
    assert load(tmp_path, whatsapp(landing)) == {"messages": LOADED, "quarantine": 2}

    # a later export of the same chat dropped over the old file
    path = landing / "whatsapp" / US
    text = later_export(path.read_text(encoding="utf-8"))
    path.write_text(text, encoding="utf-8")
    touch_later(path, 10)
    assert load(tmp_path, whatsapp(landing)) == {"messages": LOADED + 2, "quarantine": 2}
    assert deleted_flag(tmp_path) == [(True, None)]

    # and a second download of an even later export next to it: one more message
    copy = path.with_name("WhatsApp Chat with Anna Client (1).txt")
    copy.write_text(text + f"3/14/24, 8:02{NNBSP}AM - Igor Sales: 👍\n", encoding="utf-8")
    touch_later(copy, 20)
    assert load(tmp_path, whatsapp(landing)) == {"messages": LOADED + 3, "quarantine": 2}
    chats = "select count(distinct chat_id) from raw_whatsapp.messages where manager_id = 'm02'"
    assert rows(tmp_path, chats) == [(2,)]  # Anna Client, Sales team


@pytest.mark.integration
def test_two_exports_of_a_chat_in_one_load_keep_the_newer_rows(tmp_path, landing):
    path = landing / "whatsapp" / US
    copy = path.with_name("WhatsApp Chat with Anna Client (1).txt")
    copy.write_text(later_export(path.read_text(encoding="utf-8")), encoding="utf-8")
    touch_later(copy, 10)
    assert load(tmp_path, whatsapp(landing)) == {"messages": LOADED + 2, "quarantine": 2}
    assert deleted_flag(tmp_path) == [(True, None)]
    files = (
        "select distinct landing_file from raw_whatsapp.messages where chat_id = 'm02:Anna Client'"
    )
    assert rows(tmp_path, files) == [("m02/WhatsApp Chat with Anna Client (1).txt",)]


@pytest.mark.integration
def test_without_managers_csv_times_are_moscow_and_owner_is_not_the_chat_name(tmp_path, landing):
    (landing / "managers.csv").unlink()
    load(tmp_path, whatsapp(landing))
    sides = rows(
        tmp_path,
        "select author_id, author_side, min(sent_at) from raw_whatsapp.messages "
        "where chat_id = 'm02:Anna Client' and author_id is not null "
        "and message_type <> 'call' group by 1, 2 order by 1",
    )
    assert sides == [
        ("Anna Client", "client", utc(2024, 3, 12, 9, 15)),
        ("Igor Sales", "manager", utc(2024, 3, 12, 9, 21)),
    ]
    # a group has no such rule: without names every member is a client
    group = rows(
        tmp_path,
        "select distinct author_side from raw_whatsapp.messages "
        "where chat_id = 'm02:Sales team' and author_id = 'Igor Sales'",
    )
    assert group == [("client",)]


@pytest.mark.integration
def test_explicit_names_and_you(tmp_path, landing):
    path = landing / "whatsapp" / "m03" / "WhatsApp Chat with Team.txt"
    path.parent.mkdir()
    path.write_text(
        "14.03.2024, 10:00 - Вы создали группу «Team»\n"
        "14.03.2024, 10:01 - Вы: Всем привет\n"
        "14.03.2024, 10:02 - Пётр: Привет\n"
        "14.03.2024, 10:03 - Мария: Добрый день\n"
        "14.03.2024, 10:04 - Мария Продажи: Коллеги, прайс в закрепе\n",
        encoding="utf-8",
    )
    load(tmp_path, whatsapp(landing, managers={"m03": ["Мария Продажи"]}))
    sides = rows(
        tmp_path,
        "select coalesce(author_id, '-'), author_side, chat_type from raw_whatsapp.messages "
        "where manager_id = 'm03' order by landing_line",
    )
    assert sides == [
        ("-", "system", "group"),
        ("Вы", "manager", "group"),
        ("Пётр", "client", "group"),
        ("Мария", "client", "group"),
        ("Мария Продажи", "manager", "group"),
    ]


@pytest.mark.integration
def test_no_whatsapp_folder_gives_empty_tables(tmp_path, caplog):
    empty = tmp_path / "empty_landing"
    empty.mkdir()
    with caplog.at_level(logging.INFO):
        assert load(tmp_path, whatsapp(empty)) == {"messages": 0, "quarantine": 0}
    assert "whatsapp: no landing folder" in caplog.text


@pytest.mark.integration
def test_unknown_time_zone_quarantines_the_managers_files(tmp_path, landing):
    counts = load(tmp_path, whatsapp(landing, timezones={"m01": "Europe/Moscow", "m02": "Mars/X"}))
    assert counts == {"messages": 23, "quarantine": 4}  # m01's messages; m02's 4 files
    reasons = rows(tmp_path, "select distinct record_kind, line from raw_whatsapp.quarantine")
    assert reasons == [("file", 0)]


@pytest.mark.integration
def test_a_whatsapp_folder_without_exports_gives_empty_tables(tmp_path, caplog):
    landing = tmp_path / "landing"
    (landing / "whatsapp" / "m01").mkdir(parents=True)
    with caplog.at_level(logging.INFO):
        counts = load(tmp_path, whatsapp(landing))
    assert counts == {"messages": 0, "quarantine": 0}
    assert "whatsapp: no exports in" in caplog.text


# ------------------------------------------------- every date layout, read exactly or refused

LAYOUT_DAYS = {
    # days over and under 12, a month change
    "spread": [datetime(2024, 3, 8, 9, 5, 7) + timedelta(days=3 * i, hours=i) for i in range(15)],
    # every day under 13: only the time order tells day from month
    "under_13": [datetime(2024, m, d, 10, m + d, 5) for m in (1, 2, 3) for d in (3, 6, 9, 12)],
}


def layout_line(moment: datetime, order: str, sep: str, year_digits: int, clock: str) -> str:
    year = f"{moment.year % 100:02d}" if year_digits == 2 else str(moment.year)
    parts = {"d": f"{moment.day:02d}", "m": f"{moment.month:02d}", "y": year}
    date = sep.join(parts[key] for key in order)
    if clock == "24h":
        time = moment.strftime("%H:%M")
    elif clock == "24h:ss":
        time = moment.strftime("%H:%M:%S")
    else:
        time = moment.strftime("%I:%M %p").lstrip("0").replace(" ", NNBSP)
    if clock == "ios":
        return f"[{date}, {moment.strftime('%H:%M:%S')}] Anna: at {moment.isoformat()}"
    return f"{date}, {time} - Anna: at {moment.isoformat()}"


def expected_time(moment: datetime, clock: str) -> datetime:
    return moment if clock in ("24h:ss", "ios") else moment.replace(second=0)


@pytest.mark.unit
@pytest.mark.parametrize("order", ["dmy", "mdy", "ymd", "ydm"])
@pytest.mark.parametrize("sep", ["-", "/", "."])
@pytest.mark.parametrize("year_digits", [2, 4])
@pytest.mark.parametrize("clock", ["24h", "24h:ss", "12h", "ios"])
@pytest.mark.parametrize("days", LAYOUT_DAYS)
def test_every_date_layout_is_read_exactly(order, sep, year_digits, clock, days):
    """Weeks of a chat in each layout a phone may write: every message at its own time,
    nothing quarantined, nothing shifted."""
    moments = LAYOUT_DAYS[days]
    text = "\n".join(layout_line(m, order, sep, year_digits, clock) for m in moments)
    parsed = parse_export(text + "\n", "layout.txt", "k", "UTC")
    assert parsed.rejected == []
    assert [m["local_time"] for m in parsed.messages] == [expected_time(m, clock) for m in moments]


@pytest.mark.unit
def test_year_first_two_digit_dates_are_not_read_day_first():
    """`24-03-23` … in a file of several days is 23 March 2024, not 24 March 2023."""
    text = "24-03-23, 10:00 - A: x\n24-03-25, 10:00 - A: y\n24-04-02, 10:00 - A: z\n"
    dates = [m["local_time"].date() for m in parse_export(text, "f", "k", "UTC").messages]
    assert [d.isoformat() for d in dates] == ["2024-03-23", "2024-03-25", "2024-04-02"]
    # 3, 4 and 5 May, or 3 May, June and July: nothing in the file tells, so it is refused
    text = "24-05-03, 10:00 - A: x\n24-06-03, 10:00 - A: y\n24-07-03, 10:00 - A: z\n"
    with pytest.raises(UndecidableDateOrder, match="reads as dmy or ymd or ydm"):
        parse_export(text, "f", "k", "UTC")


@pytest.mark.unit
def test_a_file_of_one_ambiguous_day_with_dashes_is_refused_whole():
    """`24-03-23` alone is 23 March 2024 (yy-mm-dd) or 24 March 2023 (dd-mm-yy): no evidence."""
    with pytest.raises(UndecidableDateOrder, match="f: cannot decide the date order"):
        parse_export("24-03-23, 10:00 - A: x\n24-03-23, 10:05 - B: y\n", "f", "k", "UTC")
