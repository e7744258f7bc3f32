"""Load the Wazzup webhook receiver with Debian's `wrk` (so the load generator is not the
ceiling): requests per second and p99 latency at 1, 8 and 32 connections, then a kill -9 in
the middle of a 32-connection burst, counting the bodies acknowledged (200) against those
stored after the restart.

    .venv/bin/python bench/bench_receiver.py [--seconds 10] [--connections 1 8 32]

Each body is a one-message webhook like Wazzup's; every 200 means the body was fsynced.
Each line ends with the 1-minute load average after the run: on a small machine shared
with other work, the numbers mean little without it.
Needs `wrk` (apt install wrk). Nothing here is asserted: it prints what it saw.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench-token-0123456789abcdef"
BODY = {
    "messages": [
        {
            "messageId": "00000000-0000-0000-0000-000000000000",
            "channelId": "bench-channel",
            "chatType": "whatsapp",
            "chatId": "79990000000",
            "dateTime": "2026-12-03T09:15:00.000Z",
            "type": "text",
            "isEcho": False,
            "text": "Здравствуйте! Сколько стоит доставка?",
            "contact": {"name": "Анна", "phone": "79990000000"},
        }
    ]
}
# wrk's script: the same POST every time, its body read from a file
WRK_SCRIPT = """
local file = io.open("{path}", "rb")
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_receiver(landing: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "CHATSALES_WAZZUP_WEBHOOK_TOKEN": TOKEN, "PYTHONPATH": str(ROOT)}
    command = [str(Path(sys.executable).parent / "chatsales"), "receiver", "--port", str(port),
               "--landing", str(landing)]  # fmt: skip
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"the receiver did not start: {process.stderr.read().decode()[-2000:]}")


def wrk(url: str, script: Path, connections: int, seconds: float) -> dict:
    threads, duration = min(connections, 2), max(1, round(seconds))
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "-s",
         str(script), url],  # fmt: skip
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    text = out.stdout
    if "requests in" not in text:
        raise RuntimeError(f"wrk failed: {out.stdout}{out.stderr}")
    requests = int(re.search(r"(\d+) requests in", text).group(1))
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", text)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {
        "requests": requests,
        "non_2xx": int(failed.group(1)) if failed else 0,
        "per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
        "p99_ms": float(p99.group(1)) * scale[p99.group(2)] if p99 else None,
        "errors": re.search(r"Socket errors:.*", text).group(0) if "Socket errors" in text else "",
    }


def stored_lines(landing: Path) -> int:
    files = [*(landing / "wazzup").glob("*.jsonl"), *(landing / "wazzup").glob(".incoming/*.part")]
    return sum(path.read_bytes().count(b"\n") for path in files)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 8, 32])
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is missing: apt install wrk", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="bench-receiver-"))
    script, body = work / "post.lua", work / "body.json"
    body.write_text(json.dumps(BODY, ensure_ascii=False))
    script.write_text(WRK_SCRIPT.format(path=body))
    print(f"receiver on {os.cpu_count()} cores, {args.seconds:.0f} s per run, fsync before 200")
    print(f"{'connections':>11} {'req/s':>8} {'p99 ms':>8} {'acked':>8} {'stored':>8} {'load':>5}")
    for run, connections in enumerate(args.connections):
        landing = work / f"landing-{run}-{connections}"  # a point repeated counts afresh
        port = free_port()
        receiver = start_receiver(landing, port)
        try:
            result = wrk(f"http://127.0.0.1:{port}/wazzup/{TOKEN}", script, connections,
                         args.seconds)  # fmt: skip
        finally:
            receiver.send_signal(signal.SIGTERM)
            receiver.wait(timeout=60)
        acked = result["requests"] - result["non_2xx"]
        print(f"{connections:>11} {result['per_second']:>8.0f} {result['p99_ms'] or 0:>8.1f} "
              f"{acked:>8} {stored_lines(landing):>8} {os.getloadavg()[0]:>5.1f} "
              f"{result['errors']}")  # fmt: skip
    # kill -9 in the middle of a burst: every acknowledged body must be there after a restart
    landing, port = work / "landing-kill", free_port()
    receiver = start_receiver(landing, port)
    burst = max(2.0, args.seconds / 2)
    killer = subprocess.Popen(["sh", "-c", f"sleep {burst / 2}; kill -9 {receiver.pid}"])
    result = wrk(f"http://127.0.0.1:{port}/wazzup/{TOKEN}", script, 32, burst)
    killer.wait()
    receiver.wait()
    start_receiver(landing, port).send_signal(signal.SIGTERM)  # recovers the .part file
    time.sleep(1)
    acked = result["requests"] - result["non_2xx"]
    stored = stored_lines(landing)
    print(f"kill -9 under 32 connections: {acked} acknowledged, {stored} stored "
          f"({'none lost' if stored >= acked else f'{acked - stored} LOST'}), "
          f"load {os.getloadavg()[0]:.1f}")  # fmt: skip
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
