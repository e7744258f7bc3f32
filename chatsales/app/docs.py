"""`chatsales docs`: dbt docs, the analysts' metric reference, generated against the built
warehouse (the catalog reads column types from its tables) and served over HTTP."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from chatsales.core.settings import DBT_PROJECT_DIR, Warehouse, dbt_target_path, warehouse
from chatsales.core.warehouse import table_names

# The whole site: index.html loads the other two. Nothing else in the target dir is served.
SITE_FILES = ("index.html", "manifest.json", "catalog.json")


class DocsError(Exception):
    """Why the docs cannot be generated, in one line."""


def check_built(target: Warehouse) -> None:
    not_built = DocsError(
        f"the warehouse {target.display_name} has not been built yet: "
        "run `chatsales run` first (the docs read the columns from its tables)"
    )
    if target.kind == "duckdb" and not target.duckdb_path.exists():
        raise not_built
    try:
        built = "mart_manager_metrics" in table_names("marts", target)
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DocsError(f"cannot read the warehouse {target.display_name}: {reason}") from exc
    if not built:
        raise not_built


def generate() -> Path:
    """Run `dbt docs generate` against the configured warehouse; the site's folder."""
    target = warehouse()
    check_built(target)
    print(f"Generating dbt docs from {target.display_name}…", flush=True)
    result = subprocess.run(
        [str(target.dbt_executable), "docs", "generate", "--profiles-dir", str(DBT_PROJECT_DIR)],
        cwd=DBT_PROJECT_DIR,
        env={**os.environ, **target.dbt_env()},
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        print(result.stdout[-5000:] + result.stderr[-5000:], file=sys.stderr)
        raise DocsError("`dbt docs generate` failed (its output is above)")
    return dbt_target_path()


def models_not_in_warehouse(site: Path) -> list[str]:
    """Models of the project that the catalog did not find (built before they existed)."""
    manifest = json.loads((site / "manifest.json").read_text(encoding="utf-8"))
    catalog = json.loads((site / "catalog.json").read_text(encoding="utf-8"))
    return sorted(
        node["name"]
        for key, node in manifest["nodes"].items()
        if node["resource_type"] == "model"
        and node["config"].get("materialized") != "ephemeral"
        and key not in catalog["nodes"]
    )


class SiteHandler(SimpleHTTPRequestHandler):
    def send_head(self):
        name = urlsplit(self.path).path.lstrip("/") or "index.html"
        if name not in SITE_FILES:
            self.send_error(404)
            return None
        self.path = f"/{name}"
        return super().send_head()

    def log_message(self, format, *args):  # noqa: A002
        pass


def serve(site: Path, host: str, port: int) -> None:
    """Serve the site until Ctrl-C."""
    with ThreadingHTTPServer((host, port), partial(SiteHandler, directory=str(site))) as server:
        print(f"dbt docs on http://{host}:{port}/ (Ctrl-C stops it)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()


def main(host: str, port: int, no_serve: bool) -> int:
    try:
        site = generate()
    except DocsError as exc:
        print(f"✗ {exc}", file=sys.stderr)
        return 2
    print(f"✓ dbt docs in {site} ({', '.join(SITE_FILES)})")
    stale = models_not_in_warehouse(site)
    if stale:
        print(f"  not in the warehouse yet (run `chatsales run`): {', '.join(stale)}")
    if no_serve:
        return 0
    try:
        serve(site, host, port)
    except OSError as exc:
        print(f"✗ cannot serve on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0
