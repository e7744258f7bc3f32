"""The Wazzup webhook receiver over real loopback HTTP: auth, rejections, durability,
rotation, concurrent bursts, and recovery after kill -9 of a receiver process."""

from __future__ import annotations

import http.client
import json
import os
import re
import resource
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from chatsales.app.receiver import Receiver

REPO_ROOT = Path(__file__).resolve().parent.parent
TOKEN = "s3cret-token"
PUBLISHED_NAME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z-\d+\.jsonl$")


def post(
    port: int, body: bytes | dict, path: str = f"/wazzup/{TOKEN}", headers: dict | None = None
) -> int:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", path, body=data, headers={"Content-Type": "application/json",
                                                       **(headers or {})})  # fmt: skip
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def message(n: int, prefix: str = "m") -> dict:
    return {
        "messages": [
            {
                "messageId": f"{prefix}-{n:06d}",
                "channelId": "0b1c2d3e-4f50-4617-8a9b-0c1d2e3f4a5b",
                "chatType": "whatsapp",
                "chatId": "79001234567",
                "dateTime": "2024-03-12T09:15:03.412Z",
                "text": f"Здравствуйте! №{n} — доставка?",
            }
        ]
    }


def published_lines(landing: Path) -> list[str]:
    lines = []
    for path in sorted((landing / "wazzup").glob("*.jsonl")):
        assert PUBLISHED_NAME.match(path.name), path.name
        text = path.read_text(encoding="utf-8")
        assert text.endswith("\n")
        lines.extend(text.splitlines())
    return lines


def parts(landing: Path) -> list[Path]:
    return list((landing / "wazzup" / ".incoming").glob("*.part"))


@pytest.fixture
def landing(tmp_path) -> Path:
    return tmp_path / "landing"


@pytest.fixture
def start(landing):
    receivers: list[Receiver] = []

    def _start(**options) -> Receiver:
        receiver = Receiver(landing, "127.0.0.1", 0, TOKEN, **options).start()
        receivers.append(receiver)
        return receiver

    yield _start
    for receiver in receivers:
        receiver.stop()


@pytest.mark.unit
def test_health_ping_and_bearer_are_stored_compact(landing, start):
    receiver = start(max_body_bytes=10_000)
    conn = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=10)
    conn.request("GET", "/health")
    health = conn.getresponse()
    assert (health.status, json.loads(health.read())) == (200, {"status": "ok"})
    conn.close()

    assert post(receiver.port, {"test": True}) == 200
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert post(receiver.port, message(1), path="/wazzup", headers=bearer) == 200
    assert not list((landing / "wazzup").glob("*.jsonl"))  # still the current .part file
    receiver.stop()
    assert published_lines(landing) == [
        '{"test":true}',
        json.dumps(message(1), ensure_ascii=False, separators=(",", ":")),
    ]
    assert not parts(landing)


@pytest.mark.unit
def test_rejected_requests_store_nothing(landing, start):
    receiver = start(max_body_bytes=1_000)
    port = receiver.port
    assert post(port, {"test": True}, path="/wazzup/wrong-token") == 404
    assert post(port, {"test": True}, path="/other") == 404
    assert post(port, {"test": True}, path="/wazzup") == 401
    assert post(port, {"test": True}, path="/wazzup", headers={"Authorization": "Bearer x"}) == 401
    assert post(port, b"not json") == 400
    assert post(port, b"[1, 2]") == 400
    assert post(port, b'{"a": NaN}') == 400
    assert post(port, b"\xff\xfe{") == 400
    assert post(port, {"text": "x" * 2_000}) == 413
    receiver.stop()
    assert not list((landing / "wazzup").glob("*.jsonl"))
    assert not parts(landing)


@pytest.mark.unit
def test_empty_token_is_refused(landing):
    with pytest.raises(ValueError, match="token is empty"):
        Receiver(landing, "127.0.0.1", 0, "")


@pytest.mark.unit
def test_concurrent_burst_every_acknowledged_body_is_published_once(landing, start):
    # small files and a short age, so rotations happen while requests come in
    receiver = start(rotate_bytes=20_000, rotate_seconds=0.3)
    statuses: list[int] = []
    watcher_errors: list[str] = []
    done = threading.Event()

    def sender(worker: int) -> None:
        for n in range(50):
            try:
                statuses.append(post(receiver.port, message(worker * 1000 + n)))
            except OSError as exc:
                statuses.append(-1)
                watcher_errors.append(repr(exc))

    def watcher() -> None:
        # the loader's glob never matches a file being written, and a published file is whole
        while not done.is_set():
            for path in (landing / "wazzup").glob("*.jsonl"):
                if not PUBLISHED_NAME.match(path.name):
                    watcher_errors.append(path.name)
                try:
                    text = path.read_text(encoding="utf-8")
                except FileNotFoundError:
                    continue
                if text and not text.endswith("\n"):
                    watcher_errors.append(f"{path.name} is partial")
            time.sleep(0.01)

    watching = threading.Thread(target=watcher)
    watching.start()
    senders = [threading.Thread(target=sender, args=(w,)) for w in range(20)]
    for thread in senders:
        thread.start()
    for thread in senders:
        thread.join(timeout=45)
    done.set()
    watching.join()
    receiver.stop()

    assert statuses.count(200) == len(statuses) == 1000
    assert watcher_errors == []
    lines = published_lines(landing)
    assert len(lines) == 1000
    expected = {json.dumps(message(w * 1000 + n), ensure_ascii=False, separators=(",", ":"))
                for w in range(20) for n in range(50)}  # fmt: skip
    assert set(lines) == expected
    assert len(list((landing / "wazzup").glob("*.jsonl"))) > 1  # it rotated
    assert not parts(landing)


@pytest.mark.unit
def test_quiet_receiver_publishes_on_the_timer(landing, start):
    receiver = start(rotate_seconds=0.2)
    assert post(receiver.port, message(7)) == 200
    deadline = time.monotonic() + 5
    while not list((landing / "wazzup").glob("*.jsonl")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(published_lines(landing)) == 1


@pytest.mark.unit
def test_leftover_part_files_are_recovered_without_their_partial_line(landing, start):
    incoming = landing / "wazzup" / ".incoming"
    incoming.mkdir(parents=True)
    name = "2024-03-12T09-15-00.000Z-99999.jsonl"
    (incoming / f"{name}.part").write_bytes(b'{"test":true}\n{"messages":[]}\n{"messages":[{"mes')
    (incoming / "2024-03-12T09-16-00.000Z-99999.jsonl.part").write_bytes(b'{"partial')
    start()
    assert (landing / "wazzup" / name).read_text() == '{"test":true}\n{"messages":[]}\n'
    assert not parts(landing)
    assert [p.name for p in (landing / "wazzup").glob("*.jsonl")] == [name]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _spawn(landing: Path, port: int, preexec_fn=None) -> subprocess.Popen:
    env = {**os.environ, "CHATSALES_WAZZUP_WEBHOOK_TOKEN": TOKEN}
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("chatsales")), "receiver", "--landing", str(landing),
         "--port", str(port)],
        cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        preexec_fn=preexec_fn,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, "the receiver exited"
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.05)
        finally:
            conn.close()
    process.kill()
    raise AssertionError("the receiver did not come up")


@pytest.mark.integration
def test_kill_9_loses_no_acknowledged_body(landing):
    port = _free_port()
    process = _spawn(landing, port)
    acknowledged: list[str] = []

    def sender(worker: int) -> None:
        for n in range(300):
            body = message(worker * 1000 + n, prefix="k")
            try:
                status = post(port, body)
            except (OSError, http.client.HTTPException):
                return  # the receiver is gone
            if status == 200:
                acknowledged.append(body["messages"][0]["messageId"])

    senders = [threading.Thread(target=sender, args=(w,)) for w in range(8)]
    try:
        for thread in senders:
            thread.start()
        deadline = time.monotonic() + 20
        while len(acknowledged) < 200 and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(process.pid, signal.SIGKILL)  # in the middle of the burst
        process.wait(timeout=10)
        for thread in senders:
            thread.join(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert 200 <= len(acknowledged) < 8 * 300

    [part] = parts(landing)  # what a crash leaves: the current file, not yet published
    with part.open("ab") as handle:  # and, at worst, half of a line being written
        handle.write(b'{"messages":[{"messageId":"half-writ')

    process = _spawn(landing, port)  # recovers the .part on start
    try:
        assert post(port, message(1, prefix="after")) == 200
    finally:
        process.send_signal(signal.SIGTERM)  # a clean stop publishes the current file
        assert process.wait(timeout=20) == 0

    assert not parts(landing)
    stored = [json.loads(line) for line in published_lines(landing)]  # every line is valid
    ids = [body["messages"][0]["messageId"] for body in stored]
    assert len(ids) == len(set(ids))
    assert len(stored) >= len(acknowledged) + 1
    assert set(acknowledged) <= set(ids)
    assert "after-000001" in ids and "half-writ" not in json.dumps(stored)


@pytest.mark.integration
def test_the_loader_reads_published_files_and_never_the_current_one(tmp_path, landing, start):
    import dlt
    import duckdb

    from ingestion.wazzup import wazzup_landing

    def load() -> int:
        pipeline = dlt.pipeline(
            pipeline_name="test_receiver_loader",
            destination=dlt.destinations.duckdb(str(tmp_path / "wh.duckdb")),
            dataset_name="raw_wazzup",
            pipelines_dir=str(tmp_path / "pipelines"),
        )
        pipeline.run(wazzup_landing(landing))
        with duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True) as conn:
            return conn.execute("select count(*) from raw_wazzup.messages").fetchone()[0]

    first = start()
    assert post(first.port, {"test": True}) == 200
    assert post(first.port, message(1)) == 200
    first.stop()
    second = start()
    assert post(second.port, message(2)) == 200  # in the current .part file
    assert load() == 1
    second.stop()
    assert load() == 2


FULL_AT = 6_000  # bytes a landing file may grow to while "the disk is full"


def _small_disk() -> None:
    """In the receiver's process: files stop growing at FULL_AT bytes (a write past it fails
    with EFBIG instead of killing the process), as on a disk that filled up."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (FULL_AT, resource.RLIM_INFINITY))


@pytest.mark.integration
def test_a_full_disk_gets_5xx_never_200_and_the_retry_lands_once(landing):
    """Bodies it cannot store are answered 500; once there is room again, Wazzup's retry of
    each of them is stored, and every body is on disk exactly once."""
    port = _free_port()
    process = _spawn(landing, port, preexec_fn=_small_disk)
    try:
        statuses = {n: post(port, message(n, prefix="d")) for n in range(40)}
        refused = [n for n, status in statuses.items() if status != 200]
        assert refused and set(statuses.values()) == {200, 500}
        assert all(status == 500 for n, status in statuses.items() if n >= refused[0])
        [part] = parts(landing)
        assert part.stat().st_size <= FULL_AT and part.read_bytes().endswith(b"\n")
        # room again (the operator freed space): the limit goes, the receiver stays up
        resource.prlimit(process.pid, resource.RLIMIT_FSIZE, (-1, -1))
        assert [post(port, message(n, prefix="d")) for n in refused] == [200] * len(refused)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    ids = [json.loads(line)["messages"][0]["messageId"] for line in published_lines(landing)]
    assert sorted(ids) == [f"d-{n:06d}" for n in range(40)]


@pytest.mark.unit
def test_the_token_in_a_request_line_is_never_logged(start, caplog):
    """A request the server refuses is logged with its request line, where the token is."""
    receiver = start()
    with socket.create_connection(("127.0.0.1", receiver.port), timeout=10) as sock:
        sock.sendall(f"/wazzup/{TOKEN}\r\n\r\n".encode())  # one word: "Bad request syntax"
        assert b"400" in sock.recv(1024)
    assert post(receiver.port, {"messages": "not a list"}, path=f"/wazzup/{TOKEN}x") == 404
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "<token>" in logged and TOKEN not in logged


@pytest.fixture
def slow_fsync(monkeypatch):
    """The real os.fsync, `delay` seconds slower on a landing file, recording after each
    sync the message ids the file then held durably (not a stand-in: every sync happens)."""
    real_fsync = os.fsync
    state = {"delay": 0.0, "synced_ids": set(), "file_syncs": 0, "entered": threading.Event()}

    def fsync(fd: int) -> None:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return real_fsync(fd)  # a folder's entry
        state["entered"].set()
        time.sleep(state["delay"])
        real_fsync(fd)
        state["file_syncs"] += 1
        content = Path(f"/proc/self/fd/{fd}").read_text(encoding="utf-8")  # fd: write-only
        state["synced_ids"].update(re.findall(r'"messageId":"([^"]+)"', content))

    monkeypatch.setattr(os, "fsync", fsync)
    return state


@pytest.mark.unit
def test_concurrent_bodies_share_fsyncs_and_each_200_follows_its_own(landing, start, slow_fsync):
    slow_fsync["delay"] = 0.02  # bodies pile up while one sync runs
    receiver = start()
    answered_before_synced: list[str] = []
    statuses: list[int] = []

    def sender(worker: int) -> None:
        for n in range(10):
            body = message(worker * 1000 + n, prefix="g")
            statuses.append(post(receiver.port, body))
            message_id = body["messages"][0]["messageId"]
            if message_id not in slow_fsync["synced_ids"]:  # checked as the 200 arrives
                answered_before_synced.append(message_id)

    senders = [threading.Thread(target=sender, args=(w,)) for w in range(16)]
    for thread in senders:
        thread.start()
    for thread in senders:
        thread.join(timeout=60)
    assert statuses == [200] * 160
    assert answered_before_synced == []
    assert slow_fsync["file_syncs"] < 160 / 2, "bodies that arrive together share an fsync"
    receiver.stop()
    assert len(published_lines(landing)) == 160


@pytest.mark.unit
def test_the_server_keeps_answering_while_a_sync_runs(start, slow_fsync):
    slow_fsync["delay"] = 2.0
    receiver = start()
    posting = threading.Thread(target=post, args=(receiver.port, message(1)))
    posting.start()
    assert slow_fsync["entered"].wait(10)
    began = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=10)
    conn.request("GET", "/health")
    assert conn.getresponse().status == 200
    conn.close()
    assert time.monotonic() - began < 1.0, "the health check waited for the disk"
    posting.join(timeout=10)


@pytest.mark.unit
def test_stop_answers_the_requests_in_flight_and_publishes_them(landing, start, slow_fsync):
    slow_fsync["delay"] = 0.5
    receiver = start()
    statuses: list[int] = []
    posting = threading.Thread(target=lambda: statuses.append(post(receiver.port, message(3))))
    posting.start()
    assert slow_fsync["entered"].wait(10)  # the body is being synced
    receiver.stop()
    posting.join(timeout=10)
    assert statuses == [200]
    assert len(published_lines(landing)) == 1 and not parts(landing)


@pytest.mark.unit
def test_a_client_stalling_mid_request_is_disconnected(landing, start):
    receiver = start(stall_seconds=0.5)
    with socket.create_connection(("127.0.0.1", receiver.port), timeout=10) as sock:
        sock.sendall(f"POST /wazzup/{TOKEN} HTTP/1.1\r\nContent-Length: 50\r\n\r\n{{".encode())
        began = time.monotonic()
        assert sock.recv(1024) == b""  # closed by the receiver, nothing answered
        assert time.monotonic() - began < 5
    with socket.create_connection(("127.0.0.1", receiver.port), timeout=10) as sock:
        assert sock.recv(1024) == b""  # connected and silent: dropped too
    assert post(receiver.port, message(4)) == 200  # a client that does not stall is served
    receiver.stop()
    assert len(published_lines(landing)) == 1


@pytest.mark.unit
def test_the_token_reaches_no_log_at_any_level(start, caplog):
    """uvicorn's loggers included, down to its TRACE level; its access log would print it."""
    caplog.set_level(1)
    receiver = start(stall_seconds=0.5)
    with socket.create_connection(("127.0.0.1", receiver.port), timeout=10) as sock:
        sock.sendall(f"GET /wazzup/{TOKEN} HTTP/1.1 junk\r\n\r\n".encode())
        assert b"400" in sock.recv(1024)
    assert post(receiver.port, message(5)) == 200
    assert post(receiver.port, b"[]") == 400
    assert post(receiver.port, message(6), path=f"/wazzup/{TOKEN}/x") == 404
    conn = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=10)
    conn.request("PUT", f"/wazzup/{TOKEN}", body=b"{}")
    assert conn.getresponse().status == 501
    conn.close()
    with socket.create_connection(("127.0.0.1", receiver.port), timeout=10) as sock:
        sock.sendall(f"POST /wazzup/{TOKEN} HTTP/1.1\r\nContent-Length: 9\r\n\r\n".encode())
        assert sock.recv(1024) == b""  # stalled, dropped
    receiver.stop()
    assert any(record.name.startswith("uvicorn") for record in caplog.records)
    assert "<token>" in caplog.text and TOKEN not in caplog.text
