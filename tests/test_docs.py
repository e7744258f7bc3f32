"""`chatsales docs`: the dbt docs site, the analysts' metric reference, on the built DuckDB
warehouse: every mart and column described, the metric doc blocks, the dashboards' exposures,
the site over HTTP and in a browser."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from .support.cli import CHATSALES, run_cli, warehouse_env
from .support.paths import REPO_ROOT

METRIC_DOCS = [
    "metric_message_grain", "metric_sender_kind", "metric_dialog", "metric_dialog_direction",
    "metric_new_client", "metric_dialog_owner", "metric_wait", "metric_response_time",
    "metric_business_time", "metric_first_response_time", "metric_unanswered_wait",
    "metric_sla_share", "metric_dialogs_participated", "metric_messages_per_dialog",
    "metric_peak_concurrent_dialogs", "metric_conversion_simple", "metric_conversion_cohort",
    "metric_deal_channel",
    "metric_wilson_interval", "metric_significance", "metric_period_comparison",
    "metric_anomalies", "metric_interventions", "metric_periods",
]  # fmt: skip
EXPOSURES = {
    "overview": ("overview", {"mart_manager_metrics", "dim_managers"}),
    "managers": (
        "managers",
        {
            "mart_manager_metrics",
            "mart_period_comparison",
            "mart_anomalies",
            "mart_message_norms",
            "fct_dialogs",
            "fct_messages",
            "fct_waits",
            "dim_managers",
        },
    ),
    "response_and_load": ("response-time-and-load", {"mart_manager_metrics", "dim_managers"}),
    "conversion": (
        "conversion",
        {"mart_manager_metrics", "mart_period_comparison", "mart_anomalies", "dim_managers"},
    ),
    "anomalies_and_interventions": (
        "anomalies",
        {
            "mart_anomalies",
            "mart_interventions",
            "fct_dialogs",
            "fct_messages",
            "fct_waits",
            "dim_managers",
            "dim_metrics",
        },
    ),
    "day": ("day", {"mart_period_comparison", "mart_anomalies", "dim_managers"}),
}
MART_PAGE = "#!/model/model.chatsales.mart_manager_metrics"
ARTIFACTS = REPO_ROOT / "test-artifacts" / "docs"


def docs_env(built, tmp: Path) -> dict[str, str]:
    """The warehouse's env, with dbt's target and logs in tmp (never dbt_project/target)."""
    return {**built.env, "DBT_TARGET_PATH": str(tmp / "target"), "DBT_LOG_PATH": str(tmp / "logs")}


@pytest.fixture(scope="module")
def docs_site(duckdb_warehouse, tmp_path_factory) -> tuple[Path, dict[str, str]]:
    env = docs_env(duckdb_warehouse, tmp_path_factory.mktemp("docs"))
    result = run_cli(["docs", "--no-serve"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    site = Path(env["DBT_TARGET_PATH"])
    assert str(site) in result.stdout
    return site, env


@pytest.fixture(scope="module")
def manifest(docs_site) -> dict:
    return json.loads((docs_site[0] / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def catalog(docs_site) -> dict:
    return json.loads((docs_site[0] / "catalog.json").read_text(encoding="utf-8"))


def mart_models(manifest: dict) -> dict[str, dict]:
    return {
        key: node
        for key, node in manifest["nodes"].items()
        if node["resource_type"] == "model"
        and node["original_file_path"].startswith("models/marts/")
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read()


@pytest.fixture(scope="module")
def docs_server(docs_site) -> str:
    """`chatsales docs` (generate, then serve) on a free port, stopped after the module."""
    _, env = docs_site
    port = free_port()
    server = subprocess.Popen(
        [CHATSALES, "docs", "--port", str(port)],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            assert server.poll() is None, server.stdout.read()
            try:
                get(url)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"`chatsales docs` did not serve {url} within 300 s")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.unit
def test_docs_refuse_a_warehouse_that_was_not_built(tmp_path):
    env = warehouse_env(tmp_path, f"duckdb:///{tmp_path / 'never_built.duckdb'}", tmp_path)
    env.update(DBT_TARGET_PATH=str(tmp_path / "target"), DBT_LOG_PATH=str(tmp_path / "logs"))
    result = run_cli(["docs", "--no-serve"], env)
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "has not been built yet" in result.stderr and "chatsales run" in result.stderr
    assert not (tmp_path / "never_built.duckdb").exists()


@pytest.mark.warehouse
def test_every_mart_and_every_column_is_described(manifest, catalog):
    marts = mart_models(manifest)
    assert "model.chatsales.mart_manager_metrics" in marts
    undescribed = []
    for key, node in marts.items():
        if not node["description"].strip():
            undescribed.append(node["name"])
        assert key in catalog["nodes"], f"{node['name']} is not in the warehouse's catalog"
        documented = {name.lower(): column for name, column in node["columns"].items()}
        for column in catalog["nodes"][key]["columns"]:
            if not documented.get(column.lower(), {}).get("description", "").strip():
                undescribed.append(f"{node['name']}.{column}")
    assert not undescribed, f"marts without a description: {undescribed}"


@pytest.mark.warehouse
def test_every_metric_doc_block_exists(manifest):
    blocks = {doc["name"]: doc["block_contents"] for doc in manifest["docs"].values()}
    missing = [name for name in [*METRIC_DOCS, "__overview__"] if not blocks.get(name, "").strip()]
    assert not missing, f"doc blocks missing or empty: {missing}"
    for name in METRIC_DOCS:
        assert blocks[name].lstrip().startswith("### "), f"{name} has no heading"
    overview = manifest["docs"]["doc.chatsales.__overview__"]["block_contents"]
    for mart in ["mart_manager_metrics", "mart_period_comparison", "mart_anomalies"]:
        assert f"model.chatsales.{mart}" in overview


@pytest.mark.warehouse
def test_doc_references_in_marts_render_their_blocks(manifest):
    """Wherever a mart's yml uses {{ doc() }}, the block exists and its text is rendered."""
    docs = manifest["docs"]
    unrendered = []
    for node in mart_models(manifest).values():
        parts = [(node["name"], node)] + [
            (f"{node['name']}.{name}", column) for name, column in node["columns"].items()
        ]
        for where, part in parts:
            for block in part.get("doc_blocks", []):
                contents = docs[block]["block_contents"].strip() if block in docs else None
                if contents is None or contents not in part["description"]:
                    unrendered.append(f"{where} → {block}")
    assert not unrendered, f"doc() references that do not render: {unrendered}"


@pytest.mark.warehouse
def test_doc_blocks_stand_on_their_own_lines(manifest):
    """A metric block opens with a heading and holds bullets: used mid-sentence, as in
    "Dialogs started ({{ doc('metric_dialog') }}).", its heading shows as '### Dialog' text.
    Wire it on its own lines: `description: |`, the short text, a blank line, the doc()."""
    docs = manifest["docs"]
    inline = []
    for node in mart_models(manifest).values():
        parts = [(node["name"], node)] + [
            (f"{node['name']}.{name}", column) for name, column in node["columns"].items()
        ]
        for where, part in parts:
            text = part["description"]
            for block in part.get("doc_blocks", []):
                contents = docs.get(block, {}).get("block_contents", "").strip()
                at = text.find(contents) if contents else -1
                if at < 0:
                    continue  # reported by test_doc_references_in_marts_render_their_blocks
                before, after = text[:at].rstrip(" "), text[at + len(contents) :].lstrip(" ")
                if (before and not before.endswith("\n")) or (after and after[0] != "\n"):
                    inline.append(f"{where} → {block}")
    assert not inline, f"doc() used inside a sentence (its heading renders as text): {inline}"


@pytest.mark.warehouse
def test_mart_manager_metrics_descriptions_reference_metric_doc_blocks(manifest):
    node = manifest["nodes"]["model.chatsales.mart_manager_metrics"]
    used = set(node.get("doc_blocks", []))
    for column in node["columns"].values():
        used.update(column.get("doc_blocks", []))
    if not used:
        pytest.skip("mart_manager_metrics.yml uses no {{ doc('metric_*') }} yet")
    assert {block.rsplit(".", 1)[-1] for block in used} <= set(METRIC_DOCS)


@pytest.mark.warehouse
def test_every_dashboard_is_an_exposure(manifest):
    for name, (slug, marts) in EXPOSURES.items():
        exposure = manifest["exposures"].get(f"exposure.chatsales.{name}")
        assert exposure, f"exposure {name} missing"
        assert exposure["type"] == "dashboard" and exposure["maturity"] == "medium"
        assert exposure["url"] == f"http://127.0.0.1:8088/superset/dashboard/{slug}/"
        assert exposure["owner"]["name"] == "Head of sales" and exposure["owner"]["email"]
        assert exposure["description"].strip() and exposure["label"]
        assert set(exposure["depends_on"]["nodes"]) == {f"model.chatsales.{m}" for m in marts}


@pytest.mark.warehouse
def test_docs_server_serves_the_site(docs_server):
    status, index = get(docs_server + "index.html")
    assert status == 200 and b"dbt" in index
    status, body = get(docs_server + "manifest.json")
    assert status == 200 and "model.chatsales.mart_manager_metrics" in json.loads(body)["nodes"]
    with pytest.raises(urllib.error.HTTPError) as refused:
        get(docs_server + "run_results.json")
    assert refused.value.code == 404


@pytest.mark.warehouse
@pytest.mark.browser
def test_docs_page_of_mart_manager_metrics_in_chromium(docs_server, manifest):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        pytest.skip("no chromium on PATH (Debian: apt-get install chromium) for the screenshot")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / "mart_manager_metrics.png"
    screenshot.unlink(missing_ok=True)
    browser = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--window-size=1400,1000", "--virtual-time-budget=20000"]  # fmt: skip
    url = docs_server + MART_PAGE
    dom = subprocess.run(
        [*browser, "--dump-dom", url], capture_output=True, text=True, timeout=120
    ).stdout
    node = manifest["nodes"]["model.chatsales.mart_manager_metrics"]
    assert "mart_manager_metrics" in dom
    assert node["description"].split(":")[0].strip() in dom, "the model's description"
    missing = [column for column in node["columns"] if column not in dom]
    assert not missing, f"columns not on the page: {missing}"
    subprocess.run([*browser, f"--screenshot={screenshot}", url], capture_output=True, timeout=120)
    assert screenshot.exists() and screenshot.stat().st_size > 20_000
