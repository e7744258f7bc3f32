"""A real Dagster UI for tests: `chatsales ui` on a free port against a built warehouse's
instance, driven through its GraphQL API (the same one the UI's buttons call) and
photographed with Debian's Chromium through Playwright."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from .browser import local_page
from .paths import REPO_ROOT
from .postgres_server import free_port

CHATSALES = str(Path(sys.executable).with_name("chatsales"))
BACKFILL_DONE = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}


class DagsterUIError(RuntimeError):
    """The UI did not come up, or GraphQL answered with errors."""


@dataclass
class DagsterUI:
    url: str
    log_path: Path
    started_in: float = 0.0  # seconds from launch to a loaded code location
    process: subprocess.Popen | None = field(default=None, repr=False)

    def graphql(self, query: str, variables: dict | None = None, timeout: float = 60) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql", body, {"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as error:  # a PythonError result comes with HTTP 500
            body = error.read()
            if not body.startswith(b"{"):
                raise DagsterUIError(f"GraphQL HTTP {error.code}: {body[:3000]!r}") from None
        answer = json.loads(body)
        if answer.get("errors"):
            raise DagsterUIError(f"GraphQL errors: {answer['errors']}")
        return answer["data"]

    def log_tail(self, chars: int = 6000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""


LOCATIONS = """{ workspaceOrError { __typename
  ... on Workspace { locationEntries { name loadStatus locationOrLoadError { __typename
    ... on PythonError { message stack } } } }
  ... on PythonError { message } } }"""


def _location_state(ui: DagsterUI) -> str | None:
    """None while the server or a code location is still starting, 'ok' once all loaded;
    raises with Dagster's error text when a location failed to load."""
    try:
        workspace = ui.graphql(LOCATIONS, timeout=10)["workspaceOrError"]
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None
    if workspace["__typename"] != "Workspace":
        raise DagsterUIError(f"workspace failed to load: {workspace.get('message')}")
    entries = workspace["locationEntries"]
    for entry in entries:
        loaded = entry["locationOrLoadError"]
        if loaded and loaded["__typename"] == "PythonError":
            stack = "".join(loaded.get("stack") or [])[-3000:]
            raise DagsterUIError(f"code location {entry['name']}: {loaded['message']}\n{stack}")
    if entries and all(e["loadStatus"] == "LOADED" and e["locationOrLoadError"] for e in entries):
        return "ok"
    return None


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def _stop_group(process: subprocess.Popen, timeout: float = 20) -> None:
    """`dagster dev` may hang on SIGTERM, and `chatsales ui` exits before its children: end
    the whole process group and wait until none of it is left (SIGKILL after `timeout`)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if not _group_alive(process.pid):
            break
        with suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            process.poll()  # reap the leader, or the group stays alive as a zombie
            if not _group_alive(process.pid):
                break
            time.sleep(0.5)
    process.wait()


@contextmanager
def dagster_ui(
    env: dict[str, str], log_path: Path | None = None, timeout: float = 300
) -> Iterator[DagsterUI]:
    """Start `chatsales ui` on a free port with `env` (a built warehouse's: its
    DAGSTER_HOME holds the run history) and yield once the code location has loaded."""
    port = free_port()
    log_path = log_path or Path(env["DAGSTER_HOME"]).parent / f"dagster-ui-{port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [CHATSALES, "ui", "--port", str(port)],
            env=env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    ui = DagsterUI(f"http://127.0.0.1:{port}", log_path, process=process)
    try:
        while _location_state(ui) != "ok":
            if process.poll() is not None:
                raise DagsterUIError(
                    f"chatsales ui exited ({process.returncode}):\n{ui.log_tail()}"
                )
            if time.monotonic() - started > timeout:
                raise DagsterUIError(f"no loaded code location after {timeout}s:\n{ui.log_tail()}")
            time.sleep(1)
        ui.started_in = time.monotonic() - started
        yield ui
    finally:
        _stop_group(process)


# --- backfills, as the UI's "Materialize selected → partitions" dialog launches them ---

PARTITIONED = "{ assetNodes { assetKey { path } isPartitioned } }"

LAUNCH_BACKFILL = """mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) { __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on Error { message } } }"""

BACKFILL = """query($id: String!) { partitionBackfillOrError(backfillId: $id) { __typename
  ... on PartitionBackfill { status partitionNames error { message }
    runs { runId status tags { key value } } }
  ... on PythonError { message } } }"""


@dataclass
class BackfillResult:
    status: str
    run_ids: list[str]
    run_statuses: dict[str, str]
    error: str | None = None


def launch_partition_backfill(
    ui: DagsterUI, partition_names: list[str], asset_keys: list[list[str]] | None = None
) -> str:
    """An asset backfill of `partition_names` over `asset_keys` (default: every partitioned
    asset); returns the backfill id. The daemon of `dagster dev` executes it."""
    if asset_keys is None:
        nodes = ui.graphql(PARTITIONED)["assetNodes"]
        asset_keys = [n["assetKey"]["path"] for n in nodes if n["isPartitioned"]]
    params = {
        "partitionNames": partition_names,
        "assetSelection": [{"path": key} for key in asset_keys],
    }
    result = ui.graphql(LAUNCH_BACKFILL, {"params": params})["launchPartitionBackfill"]
    if result["__typename"] != "LaunchBackfillSuccess":
        raise DagsterUIError(f"backfill not launched: {result}")
    return result["backfillId"]


def wait_for_backfill(ui: DagsterUI, backfill_id: str, timeout: float = 900) -> BackfillResult:
    """Poll until the backfill reaches a terminal status (runs included in the result)."""
    deadline = time.monotonic() + timeout
    while True:
        backfill = ui.graphql(BACKFILL, {"id": backfill_id})["partitionBackfillOrError"]
        if backfill["__typename"] != "PartitionBackfill":
            raise DagsterUIError(f"backfill {backfill_id}: {backfill}")
        if backfill["status"] in BACKFILL_DONE:
            runs = backfill["runs"] or []
            return BackfillResult(
                status=backfill["status"],
                run_ids=[r["runId"] for r in runs],
                run_statuses={r["runId"]: r["status"] for r in runs},
                error=(backfill["error"] or {}).get("message"),
            )
        if time.monotonic() > deadline:
            raise DagsterUIError(
                f"backfill {backfill_id} still {backfill['status']} after {timeout}s:\n"
                + ui.log_tail()
            )
        time.sleep(2)


# --- screenshots with Debian's Chromium (no browser download, no internet) ---


def ui_page(ui: DagsterUI, width: int = 2400, height: int = 1400):
    """A page on the UI alone, without the community pop-up (dismissed in localStorage as
    the UI's own "Skip" does)."""
    return local_page(ui.url, width, height, "window.localStorage.setItem('communityNux', 'true')")


def _settled(locator, script: str, timeout: float = 30):
    """The value of `script` on `locator` once two reads half a second apart agree: the
    graph's layout (its size) and its fit animation (its transform) take a few seconds."""
    value, deadline = None, time.monotonic() + timeout
    while time.monotonic() < deadline:
        locator.page.wait_for_timeout(500)
        now = locator.evaluate(script)
        if now == value:
            return now
        value = now
    return value


def screenshot_asset_graph(ui: DagsterUI, path: Path, wait_for: str = "fct_messages") -> str:
    """Global asset lineage with every group expanded, zoomed to fit its width and the
    window made as tall as the graph, so every node is drawn (off-screen ones are not).
    Returns the page's visible text."""
    groups = {n["groupName"] for n in ui.graphql("{ assetNodes { groupName } }")["assetNodes"]}
    expanded = ",".join(sorted(f"global@global:{group}" for group in groups))
    path.parent.mkdir(parents=True, exist_ok=True)
    with ui_page(ui) as page:
        page.goto(f"{ui.url}/asset-groups?expanded={expanded}")
        graph = page.locator("[data-svg-viewport] svg").first
        graph.wait_for(timeout=120_000)
        size = _settled(graph, "svg => [svg.getAttribute('width'), svg.getAttribute('height')]")
        graph_width, graph_height = (float(x) for x in size)
        box = page.locator("[data-svg-viewport]").bounding_box()
        scale = min(1.0, box["width"] / graph_width)
        tall = int(box["y"] + graph_height * scale + 40)
        page.set_viewport_size({"width": 2400, "height": max(1400, tall)})
        page.wait_for_function(  # the viewport has grown before the graph is re-fitted
            "h => document.querySelector('[data-svg-viewport]').clientHeight >= h",
            arg=int(graph_height * scale),
        )
        page.locator("[data-svg-viewport]").dispatch_event("dblclick")  # fit, as a user would
        page.get_by_text(wait_for, exact=True).first.wait_for(timeout=60_000)
        _settled(graph, "svg => svg.parentElement.style.transform")
        page.screenshot(path=str(path), full_page=True)
        return page.inner_text("body")


def screenshot_page(
    ui: DagsterUI, path: Path, route: str, wait_for: str, click: str | None = None
) -> str:
    """A page of the UI (e.g. `/runs`) once `wait_for` (e.g. a run id's first 8 characters)
    shows, after clicking the element with the text `click` if given; returns the page's
    visible text."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with ui_page(ui, height=900) as page:
        page.goto(f"{ui.url}{route}")
        page.get_by_text(wait_for).first.wait_for(timeout=120_000)
        if click:
            page.get_by_text(click).first.click()
        page.wait_for_timeout(1000)
        page.screenshot(path=str(path), full_page=True)
        return page.inner_text("body")
