"""amoCRM contacts (normalized phones, Telegram username) and pipeline statuses, through a
local replay of API v4 and from a snapshot folder; the phone normalizer."""

from __future__ import annotations

import json
import shutil
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import dlt
import pytest

from ingestion.amocrm import amocrm
from ingestion.phones import normalize_phone, normalize_phones

from .support.dlt_helpers import load, rows
from .support.http_replay import ReplayHandler

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).parent / "fixtures" / "amocrm"
CONTACT_FILES = ["contacts_page_0001.json", "contacts_page_0002.json"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+7 (900) 123-45-67", "79001234567"),
        ("89001234567", "79001234567"),
        ("8 900 123 45 67", "79001234567"),
        ("9001234567", "79001234567"),
        ("79001234567", "79001234567"),
        (79001234567, "79001234567"),
        ("+44 20 7946 0958", "442079460958"),
        ("+1 (212) 555-0100", "12125550100"),
        ("4951234567", "4951234567"),  # 10 digits not starting with 9: kept as typed
        ("12-34", None),
        ("123456789", None),
        ("+7 900 123 45 67 89 01 23", None),  # more than 15 digits
        ("", None),
        (None, None),
        (True, None),
    ],
)
def test_normalize_phone(raw, expected):
    assert normalize_phone(raw) == expected


def test_normalize_phones_keeps_order_and_drops_repeats_and_junk():
    assert normalize_phones(["8 900 1234567", "x", "+79001234567", "9211112233"]) == [
        "79001234567",
        "79211112233",
    ]


class ContactsReplay(ReplayHandler):
    """Two contact pages (the first links the second), 204 once a cursor is sent; the
    pipelines; leads and users empty (204)."""

    requests: list[str] = []

    def do_GET(self):  # noqa: N802
        type(self).requests.append(self.path)
        url = urlparse(self.path)
        query = parse_qs(url.query)
        assert self.headers["Authorization"] == "Bearer test-token"
        if url.path == "/api/v4/contacts":
            since = int(query["filter[updated_at][from]"][0])
            if since > 0 and "page" not in query:
                return self._reply(204, b"")
            name = CONTACT_FILES[1] if query.get("page") == ["2"] else CONTACT_FILES[0]
            body = (FIXTURES / name).read_text(encoding="utf-8")
            body = body.replace("https://example.amocrm.ru", f"http://{self.headers['Host']}")
            return self._reply(200, body.encode())
        if url.path == "/api/v4/leads/pipelines":
            return self._reply(200, (FIXTURES / "pipelines.json").read_bytes())
        if url.path in ("/api/v4/leads", "/api/v4/users"):
            return self._reply(204, b"")
        return self._reply(404, b"")


@pytest.fixture
def amocrm_api(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), ContactsReplay)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ContactsReplay.requests = []
    monkeypatch.setenv("SOURCES__AMOCRM__BASE_URL", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setenv("SOURCES__AMOCRM__ACCESS_TOKEN", "test-token")
    yield ContactsReplay
    server.shutdown()
    server.server_close()


EXPECTED_CONTACTS = [
    (9100001, "Анна Клиентова", 8100017, "79001234567", "79001234567", "anna_k"),
    (9100002, "Олег", 8100021, "79001234568", "79001234568", "oleg_sells"),
    (9100003, "ООО Кресла", 8100021, None, None, None),
    (9100004, "Пётр Иванов", 8100017, "74951234567;442079460958", "74951234567", "petr_iv"),
    (9100006, "Ирина", 8100025, None, None, None),
]
CONTACTS_SQL = (
    "select id, name, responsible_user_id, phones, primary_phone, telegram_username "
    "from raw_amocrm.contacts order by id"
)
FULL = {"leads": 0, "users": 0, "contacts": 5, "pipeline_statuses": 9, "quarantine": 1}


def check_statuses_and_quarantine(tmp_path: Path) -> None:
    statuses = rows(
        tmp_path,
        "select pipeline_id, pipeline_name, status_id, status_name, sort, is_won, is_lost "
        "from raw_amocrm.pipeline_statuses order by pipeline_id, sort",
    )
    assert [s[2] for s in statuses if s[0] == 7000002] == [62000001, 62000002, 142, 143]
    assert statuses[3] == (7000001, "Продажи", 142, "Успешно реализовано", 10000, True, False)
    assert statuses[4][2:] == (143, "Закрыто и не реализовано", 11000, False, True)
    assert sum(s[5] for s in statuses) == 2 and sum(s[6] for s in statuses) == 2
    [(location, kind, index, payload, reason)] = rows(
        tmp_path,
        "select location, record_kind, record_index, raw_payload, reason "
        "from raw_amocrm.quarantine",
    )
    assert (kind, index, json.loads(payload)["id"]) == ("contacts", 1, 9100005)
    assert "page=2" in location or location == CONTACT_FILES[1]
    assert reason == "updated_at is not an integer: 'вчера'"


def test_api_contacts_pipelines_and_cursor(tmp_path, amocrm_api):
    counts = load(tmp_path, amocrm())
    assert counts == FULL
    assert rows(tmp_path, CONTACTS_SQL) == EXPECTED_CONTACTS
    check_statuses_and_quarantine(tmp_path)
    contact_calls = [r for r in amocrm_api.requests if r.startswith("/api/v4/contacts")]
    assert len(contact_calls) == 2 and "page=2" in contact_calls[1]
    [created] = rows(tmp_path, "select created_at from raw_amocrm.contacts where id = 9100001")
    assert int(created[0].timestamp()) == 1710230000

    amocrm_api.requests.clear()
    again = load(tmp_path, amocrm())
    assert again == FULL  # pipelines replaced, contacts merged: no duplicates
    [second] = [r for r in amocrm_api.requests if r.startswith("/api/v4/contacts")]
    assert "1710450000" in second  # the newest updated_at seen


def test_snapshot_contacts_and_pipelines(tmp_path):
    folder = tmp_path / "landing" / "amocrm"
    folder.mkdir(parents=True)
    for name in [*CONTACT_FILES, "pipelines.json"]:
        shutil.copy(FIXTURES / name, folder / name)
    counts = load(tmp_path, amocrm(tmp_path / "landing"))
    assert counts == FULL
    assert rows(tmp_path, CONTACTS_SQL) == EXPECTED_CONTACTS
    check_statuses_and_quarantine(tmp_path)


def test_snapshot_without_contacts_or_pipelines_gives_empty_tables(tmp_path):
    folder = tmp_path / "landing" / "amocrm"
    folder.mkdir(parents=True)
    shutil.copy(FIXTURES / "users.json", folder / "users.json")
    counts = load(tmp_path, amocrm(tmp_path / "landing"))
    assert counts == {"leads": 0, "users": 3, "contacts": 0, "pipeline_statuses": 0,
                      "quarantine": 0}  # fmt: skip


def test_a_cursor_saved_as_epoch_seconds_still_filters(tmp_path, amocrm_api):
    """Cursors saved before they were ISO text (amoCRM kept epoch seconds) are read on."""
    load(tmp_path, amocrm())
    pipeline = dlt.pipeline(pipeline_name="test_amocrm", pipelines_dir=str(tmp_path / "pipelines"))
    with pipeline.managed_state() as state:
        contacts = state["sources"]["amocrm"]["resources"]["contacts"]
        assert contacts["updated_at_cursor"] == "2024-03-14T21:00:00+00:00"
        contacts["updated_at_cursor"] = 1710000000  # an older instant
    amocrm_api.requests.clear()
    assert load(tmp_path, amocrm()) == FULL
    [contact_call] = [r for r in amocrm_api.requests if r.startswith("/api/v4/contacts")]
    assert "1710000000" in contact_call
