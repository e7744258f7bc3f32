"""dlt sources against fixtures in the real wire format, loaded into a real DuckDB."""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from ingestion.amocrm import amocrm
from ingestion.directory import directory
from ingestion.wazzup import wazzup_landing

from .support.dlt_helpers import load, rows
from .support.file_opens import files_opened
from .support.http_replay import ReplayHandler

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def landing(tmp_path) -> Path:
    target = tmp_path / "landing"
    shutil.copytree(FIXTURES / "landing", target)
    return target


def test_wazzup_loads_good_records_and_quarantines_bad_ones(tmp_path, landing):
    counts = load(tmp_path, wazzup_landing(landing))
    # 9 message bodies, one of them an edit of an earlier messageId: a row per version
    assert counts == {"messages": 9, "statuses": 3, "channels": 1, "quarantine": 3}
    reasons = rows(
        tmp_path, "select line, record_kind, reason from raw_wazzup.quarantine order by 1"
    )
    assert [(line, kind) for line, kind, _ in reasons] == [
        (13, "messages"), (14, "body"), (15, "body"),
    ]  # fmt: skip
    assert "dateTime is not an ISO timestamp" in reasons[0][2]
    assert "invalid JSON" in reasons[1][2]
    assert "no known webhook key" in reasons[2][2]


def test_wazzup_keeps_each_version_of_an_edited_message_once(tmp_path, landing):
    # staging picks the latest version whatever order they arrived in (its dbt unit test)
    load(tmp_path, wazzup_landing(landing))
    load(tmp_path, wazzup_landing(landing))
    versions = rows(
        tmp_path,
        "select is_edited, text from raw_wazzup.messages "
        "where message_id = 'd5e6f7a8-b9c0-4d1e-9f2a-3b4c5d6e7f80' order by is_edited",
    )
    assert [edited for edited, _ in versions] == [False, True]
    assert versions[1][1] == "Есть в наличии, бронирую до пятницы 18:00."


def test_wazzup_rerun_and_new_file_load_only_new_rows(tmp_path, landing):
    load(tmp_path, wazzup_landing(landing))
    again = load(tmp_path, wazzup_landing(landing))
    assert again["messages"] == 9 and again["quarantine"] == 3
    body = {
        "messages": [
            {"messageId": "new-1", "dateTime": "2024-03-13T08:00:00Z", "chatType": "viber",
             "channelId": "c-viber", "chatId": "79005550000", "type": "text", "isEcho": False,
             "text": "Добрый день", "status": "inbound"}
        ]
    }  # fmt: skip
    (landing / "wazzup" / "2024-03-13T08.jsonl").write_text(json.dumps(body) + "\n")
    after = load(tmp_path, wazzup_landing(landing))
    assert after["messages"] == 10 and after["quarantine"] == 3


def test_wazzup_reads_each_new_or_changed_file_once_for_all_tables(tmp_path, landing):
    folder = landing / "wazzup"
    later = folder / "2024-03-13T08.jsonl"
    message = {
        "messageId": "new-1",
        "dateTime": "2024-03-13T08:00:00Z",
        "chatType": "viber",
        "channelId": "c-viber",
        "chatId": "79005550000",
        "text": "Добрый день",
    }
    status = {"messageId": "new-1", "timestamp": "2024-03-13T08:00:02Z", "status": "read"}
    later.write_text(json.dumps({"messages": [message], "statuses": [status]}) + "\n")
    with files_opened(folder) as opened:
        first = load(tmp_path, wazzup_landing(landing))
    assert opened == {"2024-03-12T09.jsonl": 1, "2024-03-13T08.jsonl": 1}
    assert first == {"messages": 10, "statuses": 4, "channels": 1, "quarantine": 3}

    # re-published with an edit appended: read again, once; nothing loads twice, the edit
    # is one more version
    edit = {**message, "text": "Добрый вечер", "isEdited": True}
    with later.open("a") as file:
        file.write(json.dumps({"messages": [edit]}) + "\n")
    published = later.stat().st_mtime + 60
    os.utime(later, (published, published))
    with files_opened(folder) as opened:
        second = load(tmp_path, wazzup_landing(landing))
    assert opened == {"2024-03-13T08.jsonl": 1}
    assert second == {**first, "messages": 11}
    assert rows(
        tmp_path, "select text from raw_wazzup.messages where message_id = 'new-1' order by 1"
    ) == [("Добрый вечер",), ("Добрый день",)]


def test_unconfigured_sources_are_skipped_with_empty_tables(tmp_path, caplog):
    empty = tmp_path / "empty_landing"
    empty.mkdir()
    with caplog.at_level(logging.INFO):
        wazzup = load(tmp_path, wazzup_landing(empty))
        crm = load(tmp_path, amocrm(empty))
        managers = load(tmp_path, directory(empty))
    assert wazzup == {"messages": 0, "statuses": 0, "channels": 0, "quarantine": 0}
    assert crm == {
        "leads": 0, "users": 0, "contacts": 0, "pipeline_statuses": 0, "quarantine": 0
    }  # fmt: skip
    assert managers == {
        "managers": 0, "manager_identities": 0, "interventions": 0, "quarantine": 0
    }  # fmt: skip
    assert "wazzup: no landing folder" in caplog.text
    assert "amocrm: no API settings" in caplog.text


def test_managers_csv_identities_and_quarantine(tmp_path, landing):
    counts = load(tmp_path, directory(landing))
    assert counts == {
        "managers": 2, "manager_identities": 7, "interventions": 0, "quarantine": 2
    }  # fmt: skip
    identities = rows(
        tmp_path,
        "select identity_kind, identity_value from raw_directory.manager_identities "
        "where manager_id = 'igor' order by 1, 2",
    )
    assert identities == [
        ("crm_user_id", "crm-user-17"),
        ("wazzup_channel_id", "0b1c2d3e-4f50-4617-8a9b-0c1d2e3f4a5b"),
        ("wazzup_channel_id", "3a4b5c6d-7e8f-4a9b-8c0d-1e2f3a4b5c6d"),
        ("whatsapp_name", "Игорь"),
    ]
    reasons = [
        r for (r,) in rows(tmp_path, "select reason from raw_directory.quarantine order by 1")
    ]
    assert reasons == ["active must be true/false, got 'maybe'", "manager_id is empty"]


class AmoCrmReplay(ReplayHandler):
    """Replays saved API v4 pages: 429 once, two lead pages, then 204 for newer changes."""

    requests: list[str] = []
    throttled = False

    def do_GET(self):  # noqa: N802
        type(self).requests.append(self.path)
        url = urlparse(self.path)
        query = parse_qs(url.query)
        assert self.headers["Authorization"] == "Bearer test-token"
        if url.path == "/api/v4/leads" and not type(self).throttled:
            type(self).throttled = True
            return self._reply(429, b"", {"Retry-After": "0"})
        if url.path == "/api/v4/leads":
            since = int(query["filter[updated_at][from]"][0])
            if since > 0 and "page" not in query:
                return self._reply(204, b"")
            name = "leads_page_0002.json" if query.get("page") == ["2"] else "leads_page_0001.json"
            body = (FIXTURES / "amocrm" / name).read_text(encoding="utf-8")
            body = body.replace("https://example.amocrm.ru", f"http://{self.headers['Host']}")
            return self._reply(200, body.encode())
        if url.path == "/api/v4/users":
            return self._reply(200, (FIXTURES / "amocrm" / "users.json").read_bytes())
        if url.path in ("/api/v4/contacts", "/api/v4/leads/pipelines"):
            return self._reply(204, b"")  # an account with nothing there
        return self._reply(404, b"")


@pytest.fixture
def amocrm_api(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), AmoCrmReplay)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    AmoCrmReplay.requests, AmoCrmReplay.throttled = [], False
    monkeypatch.setenv("SOURCES__AMOCRM__BASE_URL", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setenv("SOURCES__AMOCRM__ACCESS_TOKEN", "test-token")
    yield AmoCrmReplay
    server.shutdown()


def test_amocrm_api_pages_backoff_and_incremental_cursor(tmp_path, amocrm_api):
    counts = load(tmp_path, amocrm())
    assert counts == {
        "leads": 4, "users": 3, "contacts": 0, "pipeline_statuses": 0, "quarantine": 0
    }  # fmt: skip
    lead_calls = [r for r in amocrm_api.requests if urlparse(r).path == "/api/v4/leads"]
    assert len(lead_calls) == 3  # 429, page 1, page 2 (the last: no next link)
    assert "filter%5Bupdated_at%5D%5Bfrom%5D=0" in lead_calls[0].replace("[", "%5B").replace(
        "]", "%5D"
    )
    won = rows(tmp_path, "select id from raw_amocrm.leads where status_id = 142 order by id")
    assert won == [(3001001,), (3001004,)]
    # custom_fields_values, one object per value: the lead source «Источник» among them
    [(fields,)] = rows(tmp_path, "select custom_fields from raw_amocrm.leads where id = 3001001")
    assert json.loads(fields) == [
        {"field_id": "900101", "field_name": "Источник", "field_code": None,
         "value": "WhatsApp", "enum_id": "500001"}
    ]  # fmt: skip
    assert rows(tmp_path, "select custom_fields from raw_amocrm.leads where id = 3001002") == [
        (None,)
    ]

    amocrm_api.requests.clear()
    again = load(tmp_path, amocrm())
    assert again == {
        "leads": 4, "users": 3, "contacts": 0, "pipeline_statuses": 0, "quarantine": 0
    }  # fmt: skip
    [second_lead_call] = [r for r in amocrm_api.requests if urlparse(r).path == "/api/v4/leads"]
    assert "1710400000" in second_lead_call  # the cursor: the newest updated_at seen


def test_amocrm_bad_lead_is_quarantined_and_the_rest_load(tmp_path):
    folder = tmp_path / "landing" / "amocrm"
    folder.mkdir(parents=True)
    page = json.loads((FIXTURES / "amocrm" / "leads_page_0002.json").read_text(encoding="utf-8"))
    good = page["_embedded"]["leads"][0]
    page["_embedded"]["leads"].append({**good, "id": 3001999, "created_at": "вчера"})
    (folder / "leads_page_0001.json").write_text(json.dumps(page), encoding="utf-8")
    counts = load(tmp_path, amocrm(tmp_path / "landing"))
    assert counts == {
        "leads": 1, "users": 0, "contacts": 0, "pipeline_statuses": 0, "quarantine": 1
    }  # fmt: skip
    [(location, line, kind, index, payload, reason)] = rows(
        tmp_path,
        "select location, line, record_kind, record_index, raw_payload, reason "
        "from raw_amocrm.quarantine",
    )
    assert (location, line, kind, index) == ("leads_page_0001.json", 0, "leads", 1)
    assert json.loads(payload)["id"] == 3001999
    assert reason == "created_at is not an integer: 'вчера'"


def test_a_wazzup_folder_with_nothing_published_yet_gives_empty_tables(tmp_path, caplog):
    landing = tmp_path / "landing"
    (landing / "wazzup" / ".incoming").mkdir(parents=True)
    (landing / "wazzup" / ".incoming" / "now.jsonl.part").write_text('{"test": true}\n')
    with caplog.at_level(logging.INFO):
        counts = load(tmp_path, wazzup_landing(landing))
    assert counts == {"messages": 0, "statuses": 0, "channels": 0, "quarantine": 0}
    assert "wazzup: no webhook files in" in caplog.text
