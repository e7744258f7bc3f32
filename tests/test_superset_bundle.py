"""The dashboards bundle in git: imported into a real Superset, idempotently, and exported
back unchanged; an import Superset did not really do is an error."""

from __future__ import annotations

import json
import re
import threading
from http.server import ThreadingHTTPServer

import pytest
import yaml

from chatsales.app.superset import client
from chatsales.core.settings import Warehouse

from .support.http_replay import ReplayHandler
from .support.paths import REPO_ROOT
from .support.superset_server import BUNDLE, DASHBOARDS, edited_bundle, imported_in, listing

KINDS = ("databases", "datasets", "charts", "dashboards")


def _bundle_uuids(root) -> dict[str, set[str]]:
    return {
        kind: {yaml.safe_load(p.read_text())["uuid"] for p in (root / kind).rglob("*.yaml")}
        for kind in KINDS
    }


def _counts(superset) -> dict[str, int]:
    admin = superset.session()
    resources = ("database", "dataset", "chart", "dashboard", "rowlevelsecurity")
    return {r: len(listing(admin, superset.url, r)) for r in resources}


@pytest.mark.superset
def test_the_bundle_imports_every_dashboard_published(superset):
    committed = _bundle_uuids(BUNDLE)
    assert len(committed["dashboards"]) == len(DASHBOARDS)
    assert sorted(superset.imported["dashboards"]) == sorted(DASHBOARDS)
    assert superset.imported["charts"] == len(committed["charts"])
    dashboards = listing(superset.session(), superset.url, "dashboard")
    assert all(d["published"] for d in dashboards)
    assert _counts(superset) == {
        "database": 1,
        "dataset": len(committed["datasets"]),
        "chart": len(committed["charts"]),
        "dashboard": len(DASHBOARDS),
        "rowlevelsecurity": 1,
    }


def _titles(superset) -> dict[str, list[str]]:
    admin = superset.session()
    return {
        "chart": sorted(c["slice_name"] for c in listing(admin, superset.url, "chart")),
        "dashboard": sorted(
            d["dashboard_title"] for d in listing(admin, superset.url, "dashboard")
        ),
    }


@pytest.mark.superset
@pytest.mark.parametrize("language", ["en", "ru"])
def test_each_language_imports_and_importing_again_changes_nothing(superset_duckdb, language):
    before = _counts(superset_duckdb)
    args = (superset_duckdb.url, *superset_duckdb.admin, BUNDLE, superset_duckdb.built.warehouse)
    with imported_in(superset_duckdb, language) as first:
        titles = _titles(superset_duckdb)
        assert client.import_bundle(*args, language) == first == superset_duckdb.imported
        assert _titles(superset_duckdb) == titles
        assert _counts(superset_duckdb) == before
    russian = language == "ru"
    assert ("Обзор" in titles["dashboard"]) == russian
    assert ("Overview" in titles["dashboard"]) != russian


@pytest.mark.superset
def test_an_edited_bundle_updates_its_chart_in_place(superset_duckdb, tmp_path):
    edited, chart = edited_bundle(tmp_path, "charts", slice_name="Edited in git")
    args = (superset_duckdb.url, *superset_duckdb.admin)
    before = _counts(superset_duckdb)
    try:
        client.import_bundle(*args, edited, superset_duckdb.built.warehouse)
        titles = [c["slice_name"] for c in listing(superset_duckdb.session(), args[0], "chart")]
        assert "Edited in git" in titles and chart["slice_name"] not in titles
        assert _counts(superset_duckdb) == before
    finally:
        client.import_bundle(*args, BUNDLE, superset_duckdb.built.warehouse)


@pytest.mark.superset
@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_export_is_the_committed_bundle(superset_duckdb, tmp_path, language):
    """Whatever language Superset holds, the export is the English source as committed."""
    with imported_in(superset_duckdb, language):
        client.export_bundle(superset_duckdb.url, *superset_duckdb.admin, tmp_path, BUNDLE)
    assert _bundle_uuids(tmp_path) == _bundle_uuids(BUNDLE)
    (database,) = (tmp_path / "databases").glob("*.yaml")
    assert yaml.safe_load(database.read_text())["sqlalchemy_uri"] == client.PLACEHOLDER
    exported = "\n".join(p.read_text() for p in tmp_path.rglob("*.yaml"))
    assert ".duckdb" not in exported and superset_duckdb.admin[1] not in exported
    for kind in ("charts", "dashboards", "datasets/chatsales"):
        committed = {p.name: _unordered(p) for p in (BUNDLE / kind).glob("*")}
        exported = {p.name: _unordered(p) for p in (tmp_path / kind).glob("*")}
        assert sorted(exported) == sorted(committed)
        for name, obj in exported.items():
            assert obj == committed[name], name


def _unordered(path) -> dict:
    """A bundle file's object, a dataset's columns and metrics by name (Superset exports
    them in no fixed order)."""
    obj = yaml.safe_load(path.read_text())
    for key, name in (("columns", "column_name"), ("metrics", "metric_name")):
        if key in obj and "table_name" in obj:
            obj[key] = {item[name]: item for item in obj[key]}
    return obj


@pytest.mark.superset
def test_superset_answers_an_import_without_csrf_with_the_login_page(superset_duckdb):
    """The trap the client guards against: 200, HTML, nothing imported."""
    session = superset_duckdb.session()
    del session.headers["X-CSRFToken"]
    answer = session.post(
        f"{superset_duckdb.url}/api/v1/dashboard/import/",
        files={"formData": ("bundle.zip", b"PK\x05\x06" + b"\0" * 18, "application/zip")},
        timeout=60,
    )
    assert answer.status_code == 200 and "html" in answer.headers["content-type"]


class LoginPageOnImport(ReplayHandler):
    """Superset's answers when the CSRF token is refused: login works, import says 200
    with the login page."""

    def do_GET(self):  # noqa: N802
        return self._reply(200, {"result": "csrf-token"})

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.startswith("/api/v1/security/login"):
            return self._reply(200, {"access_token": "a", "refresh_token": "r"})
        body = b"<!DOCTYPE html><html><title>Login - Superset</title></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.mark.unit
def test_an_import_answered_with_the_login_page_is_an_error(tmp_path):
    fake = ThreadingHTTPServer(("127.0.0.1", 0), LoginPageOnImport)
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{fake.server_port}"
        with pytest.raises(client.SupersetError, match="login page"):
            client.import_bundle(
                url, "admin", "pw", BUNDLE, Warehouse(f"duckdb:///{tmp_path}/w.duckdb")
            )
    finally:
        fake.shutdown()


@pytest.mark.unit
def test_no_password_or_machine_path_is_committed():
    text = "\n".join(p.read_text() for p in BUNDLE.rglob("*.yaml"))
    (database,) = (BUNDLE / "databases").glob("*.yaml")
    assert yaml.safe_load(database.read_text())["sqlalchemy_uri"] == client.PLACEHOLDER
    assert "/tmp/" not in text and "/work/" not in text and "XXXXXXXXXX" not in text
    assert json.dumps(yaml.safe_load(database.read_text())).count("password") == 0


def _dashboard_marts() -> dict[str, set[str]]:
    """Per dashboard slug: the marts its charts' datasets read."""

    def load(kind: str) -> list[dict]:
        return [yaml.safe_load(p.read_text()) for p in (BUNDLE / kind).rglob("*.yaml")]

    datasets = {d["uuid"]: d for d in load("datasets")}
    charts = {c["uuid"]: datasets[c["dataset_uuid"]] for c in load("charts")}
    marts = {}
    for dashboard in load("dashboards"):
        read = set()
        for item in dashboard["position"].values():
            if isinstance(item, dict) and item.get("type") == "CHART":
                dataset = charts[item["meta"]["uuid"]]
                read |= set(re.findall(r"marts\.(\w+)", dataset["sql"] or ""))
                if not dataset["sql"]:
                    read.add(dataset["table_name"])
        marts[dashboard["slug"]] = read
    return marts


@pytest.mark.unit
def test_dbt_exposures_name_each_dashboard_and_the_marts_it_reads():
    """dbt docs' lineage shows which dashboards a mart feeds: it must match the bundle."""
    exposures = yaml.safe_load((REPO_ROOT / "dbt_project/models/exposures.yml").read_text())
    declared = {
        exposure["url"].rstrip("/").rsplit("/", 1)[-1]: {
            re.fullmatch(r"ref\('(\w+)'\)", ref).group(1) for ref in exposure["depends_on"]
        }
        for exposure in exposures["exposures"]
    }
    assert declared == _dashboard_marts()
