"""The Bitrix24 source against a local replay of the REST webhook (real wire format:
every scalar a string, `start`/`next` pages of 50, 503 QUERY_LIMIT_EXCEEDED), loaded into
a real DuckDB; and from a snapshot folder."""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from ingestion.api_client import RequestPolicy
from ingestion.bitrix24 import bitrix24
from ingestion.bitrix24.client import Bitrix24Client, Bitrix24Error

from .support.dlt_helpers import load, rows
from .support.http_replay import ReplayHandler

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).parent / "fixtures" / "bitrix24"
TOKEN = "s3cr3t-t0ken"
NEWEST_CHANGE = "2024-03-20T13:30:00+00:00"  # deal 1251, "2024-03-20T18:30:00+05:00"
# no throttle, no back-off: the replay answers at once
FAST = RequestPolicy(requests_per_second=None, backoff_seconds=0.0, max_delay_seconds=0.0)


def page(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class Bitrix24Replay(ReplayHandler):
    """`POST /rest/1/<token>/<method>.json`: 503 once on the first deal page, deal pages by
    `start`; with a DATE_MODIFY filter, only the newest deal again (renamed) and no contacts."""

    calls: list[tuple[str, dict]] = []
    throttled = False
    down_after: int | None = None  # an outage: every call after this many answers an HTML page

    def do_POST(self):  # noqa: N802
        prefix = f"/rest/1/{TOKEN}/"
        if not self.path.startswith(prefix) or not self.path.endswith(".json"):
            return self._reply(401, {"error": "NO_AUTH_FOUND", "error_description": "Wrong"})
        method = self.path[len(prefix) : -len(".json")]
        params = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
        type(self).calls.append((method, params))
        if type(self).down_after is not None and len(type(self).calls) > type(self).down_after:
            return self._reply(200, b"<html><body><h1>Portal under maintenance</h1></body></html>")
        changed = "filter" in params
        if method == "crm.deal.list" and not type(self).throttled:
            type(self).throttled = True
            body = {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}
            return self._reply(503, body)
        if method == "crm.deal.list" and changed:
            deals = page("crm.deal.list_page_0002.json")["result"]
            [deal] = [d for d in deals if d["ID"] == "1251"]
            return self._reply(200, {"result": [{**deal, "TITLE": "Renamed"}], "total": 1})
        if method == "crm.deal.list":
            number = params["start"] // 50 + 1
            return self._reply(200, page(f"crm.deal.list_page_{number:04d}.json"))
        if method == "crm.contact.list":
            body = page("crm.contact.list_page_0001.json")
            return self._reply(200, {"result": [], "total": 0} if changed else body)
        if method == "user.get":
            return self._reply(200, page("user.get_page_0001.json"))
        return self._reply(400, {"error": "ERROR_METHOD_NOT_FOUND", "error_description": method})


@pytest.fixture
def portal():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Bitrix24Replay)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Bitrix24Replay.calls, Bitrix24Replay.throttled, Bitrix24Replay.down_after = [], False, None
    yield f"http://127.0.0.1:{server.server_port}/rest/1/{TOKEN}/"
    server.shutdown()
    server.server_close()


@pytest.fixture
def webhook(portal, monkeypatch):
    monkeypatch.setenv("SOURCES__BITRIX24__WEBHOOK_URL", portal)
    return Bitrix24Replay


def deal_calls(replay) -> list[dict]:
    return [params for method, params in replay.calls if method == "crm.deal.list"]


def _user_field(name: str, value: str) -> dict:
    return {"field_id": name, "field_name": name, "field_code": None, "value": value,
            "enum_id": None}  # fmt: skip


def test_api_pages_backoff_and_conversions(tmp_path, webhook, caplog):
    with caplog.at_level(logging.WARNING):
        counts = load(tmp_path, bitrix24(request_policy=FAST))
    assert counts == {"deals": 107, "contacts": 6, "users": 3, "quarantine": 0}
    calls = deal_calls(webhook)
    assert [c["start"] for c in calls] == [0, 0, 50, 100]  # 503, then 3 pages
    assert all("filter" not in c and c["order"] == {"ID": "ASC"} for c in calls)
    assert {"ID", "STAGE_SEMANTIC_ID", "DATE_MODIFY", "CLOSEDATE"} <= set(calls[0]["select"])
    assert "HTTP 503 QUERY_LIMIT_EXCEEDED" in caplog.text and TOKEN not in caplog.text

    assert rows(tmp_path, "select count(*), count(distinct id) from raw_bitrix24.deals") == [
        (107, 107)
    ]
    won_lost = (
        "select count(*) filter (where is_won), count(*) filter (where is_lost), "
        "count(*) filter (where stage_id = 'C2:WON' and is_won) from raw_bitrix24.deals"
    )
    assert rows(tmp_path, won_lost) == [(23, 22, 6)]
    deal = (
        "select title, stage_id, is_won, is_lost, opportunity, currency_id, assigned_by_id, "
        "contact_id, category_id, created_at, modified_at, closed_at "
        "from raw_bitrix24.deals where id = {}"
    )
    [first] = rows(tmp_path, deal.format(1201))
    assert first[:9] == ("Диван — Анна Клиентова", "WON", True, False, 89900.0, "RUB", "17",
                         501, 0)  # fmt: skip
    assert [ts.astimezone(UTC) for ts in first[9:]] == [
        datetime(2024, 3, 12, 9, 16, 10, tzinfo=UTC),
        datetime(2024, 3, 13, 12, 0, tzinfo=UTC),
        datetime(2024, 3, 13, 0, 0, tzinfo=UTC),
    ]
    [c2_won] = rows(tmp_path, deal.format(1204))
    assert c2_won[:9] == ("Кухня — повторная", "C2:WON", True, False, 150000.5, "RUB", "17",
                          None, 2)  # fmt: skip
    [open_deal] = rows(tmp_path, deal.format(1203))
    assert open_deal[2:4] == (False, False) and open_deal[11] is None  # planned CLOSEDATE
    [lost] = rows(tmp_path, deal.format(1202))
    assert lost[1:4] == ("LOSE", False, True)
    # the lead source and the user fields (UF_*: empty ones left out, a multiple one per value)
    sources = "select id, source_id, custom_fields from raw_bitrix24.deals where id in ({})"
    assert {i: (s, c and json.loads(c)) for i, s, c in rows(
        tmp_path, sources.format("1201, 1203, 1209, 1221")
    )} == {
        1201: ("CALL", None),
        1203: (None, None),
        1209: ("TELEGRAM", [_user_field("UF_CRM_1700000002", "Акция"),
                            _user_field("UF_CRM_1700000002", "Повтор")]),
        1221: (None, [_user_field("UF_CRM_1700000001", "Instagram")]),
    }  # fmt: skip

    types = dict(
        rows(
            tmp_path,
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw_bitrix24' and table_name = 'deals'",
        )
    )
    assert (types["id"], types["opportunity"], types["assigned_by_id"]) == (
        "BIGINT", "DOUBLE", "VARCHAR",
    )  # fmt: skip
    assert types["modified_at"] == "TIMESTAMP WITH TIME ZONE"

    contacts = rows(
        tmp_path,
        "select id, name, last_name, assigned_by_id, phones, primary_phone "
        "from raw_bitrix24.contacts order by id",
    )
    assert contacts == [
        (501, "Анна", "Клиентова", "17", "79001234567", "79001234567"),
        (502, "Олег", None, "21", "79001234568", "79001234568"),
        (503, "ООО Кресла", None, "21", None, None),
        (504, "Пётр", "Иванов", "17", "74951234567;442079460958", "74951234567"),
        (505, "Ирина", "Смирнова", "25", None, None),
        (506, "Светлана", "Кузнецова", "25", "79215550011", "79215550011"),
    ]
    users = rows(tmp_path, "select id, name, last_name, email, active from raw_bitrix24.users")
    assert sorted(users)[2] == (25, "Пётр", "Уволен", "petr.sales@example.com", False)


def test_second_run_sends_the_cursor_and_adds_no_duplicates(tmp_path, webhook):
    load(tmp_path, bitrix24(request_policy=FAST))
    webhook.calls.clear()
    again = load(tmp_path, bitrix24(request_policy=FAST))
    assert again == {"deals": 107, "contacts": 6, "users": 3, "quarantine": 0}
    [call] = deal_calls(webhook)
    assert call["filter"] == {">=DATE_MODIFY": NEWEST_CHANGE} and call["start"] == 0
    [contact_call] = [p for m, p in webhook.calls if m == "crm.contact.list"]
    assert contact_call["filter"] == {">=DATE_MODIFY": "2024-03-14T04:00:00+00:00"}
    assert rows(tmp_path, "select title from raw_bitrix24.deals where id = 1251") == [("Renamed",)]
    assert rows(tmp_path, "select count(distinct id) from raw_bitrix24.deals") == [(107,)]


@pytest.mark.faults
def test_an_outage_keeps_the_rows_and_the_cursor_and_the_next_load_resumes(tmp_path, webhook):
    """The portal answers its first call, then an HTML page: the load fails naming Bitrix24,
    the method and the cause, after its retries; the rows and the cursor of the load before
    stay, and once the portal is back the next load asks from that cursor."""
    load(tmp_path, bitrix24(request_policy=FAST))
    webhook.calls.clear()
    webhook.down_after = 1
    retries = RequestPolicy(attempts=3, backoff_seconds=0.0, max_delay_seconds=0.0)
    with pytest.raises(PipelineStepFailed) as failure:
        load(tmp_path, bitrix24(request_policy=retries))
    assert "HTML instead of JSON after 3 attempts" in str(failure.value)
    assert "bitrix24: crm." in str(failure.value) and TOKEN not in str(failure.value)
    assert len(webhook.calls) == 1 + 3
    assert rows(tmp_path, "select count(*) from raw_bitrix24.deals") == [(107,)]

    webhook.calls.clear()
    webhook.down_after = None
    load(tmp_path, bitrix24(request_policy=FAST))
    [call] = deal_calls(webhook)
    assert call["filter"] == {">=DATE_MODIFY": NEWEST_CHANGE}
    assert rows(tmp_path, "select title from raw_bitrix24.deals where id = 1251") == [("Renamed",)]


def test_snapshot_folder_and_a_malformed_deal_in_quarantine(tmp_path):
    folder = tmp_path / "landing" / "bitrix24"
    shutil.copytree(FIXTURES, folder)
    body = page("crm.deal.list_page_0003.json")
    body["result"].insert(2, {**body["result"][0], "ID": "1999", "DATE_MODIFY": "вчера"})
    body["result"].append({**body["result"][0], "ID": "2000", "OPPORTUNITY": "много"})
    (folder / "crm.deal.list_page_0003.json").write_text(json.dumps(body), encoding="utf-8")
    counts = load(tmp_path, bitrix24(tmp_path / "landing"))
    assert counts == {"deals": 107, "contacts": 6, "users": 3, "quarantine": 2}
    quarantined = rows(
        tmp_path,
        "select location, line, record_kind, record_index, raw_payload, reason "
        "from raw_bitrix24.quarantine order by record_index",
    )
    assert [q[:4] for q in quarantined] == [
        ("crm.deal.list_page_0003.json", 0, "deals", 2),
        ("crm.deal.list_page_0003.json", 0, "deals", 8),
    ]
    assert json.loads(quarantined[0][4])["ID"] == "1999"
    assert quarantined[0][5] == "DATE_MODIFY is not an ISO timestamp: 'вчера'"
    assert quarantined[1][5] == "OPPORTUNITY is not a number: 'много'"
    assert load(tmp_path, bitrix24(tmp_path / "landing")) == counts  # re-run: no duplicates


def test_unconfigured_source_is_skipped_with_empty_tables(tmp_path, caplog, monkeypatch):
    monkeypatch.delenv("SOURCES__BITRIX24__WEBHOOK_URL", raising=False)
    empty = tmp_path / "empty_landing"
    empty.mkdir()
    with caplog.at_level(logging.INFO):
        counts = load(tmp_path, bitrix24(empty))
    assert counts == {"deals": 0, "contacts": 0, "users": 0, "quarantine": 0}
    assert "bitrix24: no webhook_url" in caplog.text


def test_client_throttles_to_two_requests_a_second(portal):
    client = Bitrix24Client(portal)
    started = time.monotonic()
    for _ in range(3):
        client.call("user.get", {})
    assert time.monotonic() - started >= 1.0  # 0 s, 0.5 s, 1.0 s


def test_errors_name_the_method_not_the_secret_url(portal):
    with pytest.raises(Bitrix24Error) as failure:
        Bitrix24Client(portal, FAST).call("crm.nothing", {})
    assert "crm.nothing: HTTP 400 ERROR_METHOD_NOT_FOUND" in str(failure.value)
    assert TOKEN not in str(failure.value)


def test_persistent_query_limit_gives_up():
    class AlwaysBusy(Bitrix24Replay):
        def do_POST(self):  # noqa: N802
            self._reply(503, {"error": "QUERY_LIMIT_EXCEEDED"})

    server = ThreadingHTTPServer(("127.0.0.1", 0), AlwaysBusy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/rest/1/{TOKEN}/"
        match = r"crm.deal.list: HTTP 503 after 6 attempts \(QUERY_LIMIT_EXCEEDED\)"
        with pytest.raises(Bitrix24Error, match=match):
            Bitrix24Client(url, FAST).call("crm.deal.list", {})
    finally:
        server.shutdown()
        server.server_close()
