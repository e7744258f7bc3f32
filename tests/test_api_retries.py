"""The three API clients (amoCRM, Bitrix24, Wazzup) retry through dlt's requests client:
`Retry-After` as delta-seconds and as an HTTP date is honoured, a huge one is capped at the
policy's maximum delay, and a call that keeps failing gives up. Local replays answer in each
API's wire format; the wait is measured between the requests the replay receives."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ingestion.amocrm.client import AmoCrmClient, AmoCrmError
from ingestion.api_client import RequestPolicy
from ingestion.bitrix24.client import Bitrix24Client, Bitrix24Error
from ingestion.wazzup.api import WazzupApi, WazzupApiError

from .support.http_replay import ReplayHandler

pytestmark = pytest.mark.unit

FIXTURES = Path(__file__).parent / "fixtures"
TOKEN = "s3cr3t-t0ken"
# short back-off, so that a wait of a second or more can only come from Retry-After
POLICY = RequestPolicy(attempts=3, backoff_seconds=0.01, max_delay_seconds=5.0)
CAPPED = RequestPolicy(attempts=3, backoff_seconds=0.01, max_delay_seconds=0.3)


@dataclass
class Api:
    """One source's API: the request its client makes, and how the API says "slow down"."""

    name: str
    path: str  # the path the replay answers
    busy_status: int
    busy_body: Any
    body: Any  # the answer once it is not busy
    call: Callable[[str, RequestPolicy], Any]  # (replay root URL, policy) -> client's result
    error: type[Exception]


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


CHANNELS = [{"channelId": "c-1", "transport": "whatsapp", "plainId": "79990000001",
             "state": "active"}]  # fmt: skip
APIS = {
    "amocrm": Api(
        "amocrm", "/api/v4/users", 429, b"", _json(FIXTURES / "amocrm" / "users.json"),
        lambda root, policy: AmoCrmClient(root, TOKEN, policy).get(f"{root}/api/v4/users"),
        AmoCrmError,
    ),
    "bitrix24": Api(
        "bitrix24", f"/rest/1/{TOKEN}/user.get.json", 503,
        {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"},
        _json(FIXTURES / "bitrix24" / "user.get_page_0001.json"),
        lambda root, policy: Bitrix24Client(f"{root}/rest/1/{TOKEN}/", policy).call(
            "user.get", {}
        ),
        Bitrix24Error,
    ),
    "wazzup": Api(
        "wazzup", "/v3/channels", 429, {"error": "tooManyRequests"}, CHANNELS,
        lambda root, policy: WazzupApi(TOKEN, f"{root}/v3", policy).channels(),
        WazzupApiError,
    ),
}  # fmt: skip


class BusyReplay(ReplayHandler):
    """Answers `api.path` busy `busy_times` times (with `retry_after()` as the header, when
    given), then with the body; notes when each request came."""

    api: Api
    busy_times = 1
    retry_after: Callable[[], str] | None = None
    arrivals: list[float] = []

    def _answer(self) -> None:
        cls = type(self)
        cls.arrivals.append(time.monotonic())
        if self.headers.get("Content-Length"):
            self.rfile.read(int(self.headers["Content-Length"]))
        if self.path.split("?")[0] != cls.api.path:
            return self._reply(404, {"error": "not found"})
        if len(cls.arrivals) <= cls.busy_times:
            headers = {"Retry-After": cls.retry_after()} if cls.retry_after else {}
            return self._reply(cls.api.busy_status, cls.api.busy_body, headers)
        return self._reply(200, cls.api.body)

    do_GET = do_POST = _answer  # noqa: N815


@pytest.fixture(params=list(APIS))
def replay(request):
    BusyReplay.api = APIS[request.param]
    BusyReplay.busy_times, BusyReplay.retry_after, BusyReplay.arrivals = 1, None, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), BusyReplay)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield BusyReplay, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def _wait_before_retry(handler, root: str, policy: RequestPolicy) -> float:
    api = handler.api
    assert api.call(root, policy) == api.body
    assert len(handler.arrivals) == 2
    return handler.arrivals[1] - handler.arrivals[0]


def test_retry_after_in_seconds_is_honoured(replay):
    handler, root = replay
    handler.retry_after = lambda: "1"
    assert 0.9 <= _wait_before_retry(handler, root, POLICY) < 1.8


def test_retry_after_as_an_http_date_is_honoured(replay):
    handler, root = replay
    # whole seconds on the wire: the wait is 0.5 to 1.5 s
    handler.retry_after = lambda: formatdate(time.time() + 1.5, usegmt=True)
    assert 0.4 <= _wait_before_retry(handler, root, POLICY) < 1.8


@pytest.mark.parametrize(
    "retry_after",
    [lambda: "60", lambda: formatdate(time.time() + 60, usegmt=True)],
    ids=["seconds", "http-date"],
)
def test_a_huge_retry_after_waits_only_the_cap(replay, retry_after):
    handler, root = replay
    handler.retry_after = retry_after
    assert 0.25 <= _wait_before_retry(handler, root, CAPPED) < 0.9


def test_without_retry_after_the_back_off_applies(replay):
    handler, root = replay
    backoff = RequestPolicy(attempts=3, backoff_seconds=0.2, max_delay_seconds=5.0)
    assert 0.15 <= _wait_before_retry(handler, root, backoff) < 0.9


def test_a_call_still_busy_after_every_attempt_fails(replay):
    handler, root = replay
    handler.busy_times = 100
    with pytest.raises(handler.api.error) as failure:
        handler.api.call(root, POLICY)
    assert len(handler.arrivals) == POLICY.attempts
    assert str(handler.api.busy_status) in str(failure.value)
    assert TOKEN not in str(failure.value)


def test_wazzup_leaves_a_5xx_to_the_dagster_step_retry():
    class Outage(BusyReplay):
        api = Api(**{**APIS["wazzup"].__dict__, "busy_status": 503})
        busy_times, retry_after, arrivals = 1, None, []

    server = ThreadingHTTPServer(("127.0.0.1", 0), Outage)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        with pytest.raises(WazzupApiError, match="HTTP 503"):
            WazzupApi(TOKEN, f"http://127.0.0.1:{server.server_port}/v3").channels()
        assert len(Outage.arrivals) == 1
    finally:
        server.shutdown()
        server.server_close()


HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
)
# what each broken answer is, as (status, body, headers), and the cause the error names
GARBAGE = {
    "html with 200": (200, HTML_PAGE, {}, "HTML instead of JSON"),
    "html with 502": (502, HTML_PAGE, {}, "HTTP 502"),
    "truncated json": (200, None, {}, "truncated JSON"),
    "500": (500, b"", {}, "HTTP 500"),
    "429 with retry-after": (429, b"", {"Retry-After": "1"}, "rate limited (429)"),
}
WHERE = {"amocrm": "GET /api/v4/users", "bitrix24": "user.get"}


class GarbageReplay(BusyReplay):
    """Answers `api.path` with one kind of garbage `busy_times` times, then with the body."""

    garbage: tuple = ()

    def _answer(self) -> None:
        cls = type(self)
        cls.arrivals.append(time.monotonic())
        if self.headers.get("Content-Length"):
            self.rfile.read(int(self.headers["Content-Length"]))
        if len(cls.arrivals) > cls.busy_times:
            return self._reply(200, cls.api.body)
        status, body, headers, _ = cls.garbage
        if body is None:  # the API's real page, cut short (a whole HTTP answer)
            whole = json.dumps(cls.api.body, ensure_ascii=False).encode()
            body = whole[: len(whole) * 2 // 3]
        self._reply(status, body, headers)

    do_GET = do_POST = _answer  # noqa: N815


@pytest.fixture(params=["amocrm", "bitrix24"])
def crm_replay(request):
    GarbageReplay.api = APIS[request.param]
    GarbageReplay.busy_times, GarbageReplay.arrivals = 100, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), GarbageReplay)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield GarbageReplay, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.mark.faults
@pytest.mark.parametrize("kind", list(GARBAGE))
def test_a_crm_answering_garbage_is_retried_then_fails_naming_the_cause(crm_replay, kind):
    handler, root = crm_replay
    handler.garbage = GARBAGE[kind]
    policy = RequestPolicy(attempts=3, backoff_seconds=0.01, max_delay_seconds=0.05)
    started = time.monotonic()
    with pytest.raises(handler.api.error) as failure:
        handler.api.call(root, policy)
    message = str(failure.value)
    assert len(handler.arrivals) == policy.attempts
    assert time.monotonic() - started < 1  # the 429's Retry-After: 1 is capped at 0.05 s
    cause = GARBAGE[kind][3]
    assert message.startswith(f"{handler.api.name}: {WHERE[handler.api.name]}: {cause} after 3 "
                              "attempts"), message  # fmt: skip
    assert TOKEN not in message


@pytest.mark.faults
@pytest.mark.parametrize("kind", ["html with 200", "truncated json"])
def test_a_garbage_answer_then_a_good_one_loads(crm_replay, kind):
    handler, root = crm_replay
    handler.garbage, handler.busy_times = GARBAGE[kind], 2
    assert handler.api.call(root, POLICY) == handler.api.body
    assert len(handler.arrivals) == 3


@pytest.mark.faults
def test_a_crm_429_waits_its_retry_after(crm_replay):
    handler, root = crm_replay
    handler.garbage, handler.busy_times = GARBAGE["429 with retry-after"], 1
    assert _wait_before_retry(handler, root, POLICY) >= 0.9


@pytest.mark.faults
@pytest.mark.parametrize("name", ["amocrm", "bitrix24"])
def test_a_crm_that_does_not_answer_fails_naming_the_cause(name):
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        root = f"http://127.0.0.1:{closed.getsockname()[1]}"
    api = APIS[name]
    with pytest.raises(api.error) as failure:
        api.call(root, RequestPolicy(attempts=2, backoff_seconds=0.01, max_delay_seconds=0.05))
    assert str(failure.value) == f"{name}: {WHERE[name]}: ConnectionError after 2 attempts"
