"""The one module that talks to Superset's REST API (through superset-client): import and
export the dashboards bundle, and keep the Manager role's row-level security current."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import yaml
from supersetapiclient.client import SupersetClient

from chatsales.core.settings import Warehouse, as_warehouse, dashboards_warehouse

from .language import (
    BUNDLE_PARTS,
    SOURCE_LANGUAGE,
    as_source,
    in_language,
    read_bundle,
    write_bundle,
)
from .reader import READER_ROLE

PLACEHOLDER = "templated-from-CHATSALES_WAREHOUSE"
PASSWORD_MASK = "XXXXXXXXXX"  # what Superset puts in a URI for a password it keeps apart
MANAGER_ROLE = "Manager"
RLS_NAME = "Managers see their own rows"
RLS_CLAUSE = "manager_id = '{{ current_username() }}'"


class SupersetError(RuntimeError):
    """Superset refused or did not really do what was asked."""


def connect(base_url: str, username: str, password: str) -> SupersetClient:
    """A logged-in client (bearer token and CSRF token fetched now, so bad logins fail here)."""
    if base_url.startswith("http://"):
        os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
    client = SupersetClient(base_url, username, password)
    client.session  # noqa: B018 (logs in)
    return client


def _json(response, what: str) -> dict:
    """The JSON answer of a request that worked. An import without a valid CSRF token
    answers 200 with the login page and imports nothing: that raises too."""
    kind = response.headers.get("content-type", "")
    if "html" in kind:
        raise SupersetError(
            f"{what}: HTTP {response.status_code} with an HTML page instead of JSON "
            "(the login page: not logged in, or the CSRF token was refused)"
        )
    if response.status_code >= 400 or "json" not in kind:
        raise SupersetError(f"{what}: HTTP {response.status_code} ({kind}): {response.text[:300]}")
    return response.json()


def _list(client: SupersetClient, resource: str, columns: list[str]) -> list[dict]:
    rows, page = [], 0
    while True:
        query = {"page": page, "page_size": 100, "columns": columns}
        answer = _json(
            client.get(f"{client.base_url}/{resource}/", params={"q": json.dumps(query)}),
            f"list {resource}",
        )
        rows += answer["result"]
        if len(rows) >= answer["count"] or not answer["result"]:
            return rows
        page += 1


def templated_database(
    config: dict, wh: Warehouse, reader_password: str | None = None
) -> tuple[dict, str | None]:
    """A database YAML pointed at what the dashboards read, read-only: the serving copy of a
    DuckDB or Spark warehouse, or a PostgreSQL warehouse as the reader role, which may read
    schema marts only; and the password to send apart."""
    engine_params = config.setdefault("extra", {}).setdefault("engine_params", {})
    if wh.kind != "postgres":
        config["sqlalchemy_uri"] = dashboards_warehouse(wh).sqlalchemy_url
        engine_params["connect_args"] = {"read_only": True}
        return config, None
    if reader_password is None:
        raise SupersetError(f"no password for {READER_ROLE}: run `chatsales superset setup`")
    config["sqlalchemy_uri"] = wh.postgres_url(user=READER_ROLE, password=PASSWORD_MASK)
    engine_params["connect_args"] = {"options": "-c default_transaction_read_only=on"}
    return config, reader_password


def _zip_bundle(
    objects: dict[str, dict], wh: Warehouse, zip_path: Path, reader_password: str | None
) -> dict[str, str]:
    """Zip the bundle's objects under one root folder (as Superset exports it), every
    database templated; returns the passwords by file name."""
    passwords = {}
    with zipfile.ZipFile(zip_path, "w") as archive:
        for name, obj in sorted(objects.items()):
            if name == "metadata.yaml":
                # an assets bundle: Superset overwrites every object in it, where a
                # dashboard import overwrites the dashboards and skips changed charts
                obj = {**obj, "type": "assets"}
            elif name.startswith("databases/"):
                obj, password = templated_database(obj, wh, reader_password)
                if password is not None:
                    passwords[name] = password
            archive.writestr(f"bundle/{name}", yaml.safe_dump(obj, sort_keys=False))
    return passwords


def import_bundle(
    base_url,
    username,
    password,
    bundle_dir,
    warehouse=None,
    language=SOURCE_LANGUAGE,
    reader_password=None,
) -> dict:
    """Import the unzipped bundle in `language` (generated from it and its translation
    table), overwriting objects with the same uuids, then put the Manager role's row-level
    security on every dataset with a manager_id column. `reader_password`: the PostgreSQL
    reader role's (paths.credentials)."""
    wh = as_warehouse(warehouse)
    objects = in_language(Path(bundle_dir), language)
    client = connect(base_url, username, password)
    with tempfile.TemporaryDirectory() as tmp:
        zip_path = Path(tmp) / "bundle.zip"
        passwords = _zip_bundle(objects, wh, zip_path, reader_password)
        with open(zip_path, "rb") as archive:
            files = {
                "bundle": ("bundle.zip", archive, "application/zip"),
                "passwords": (None, json.dumps(passwords)),
            }
            response = client.post(
                f"{client.base_url}/assets/import/",
                files=files,
                headers={"Accept": "application/json"},
            )
    answer = _json(response, "import")
    if answer.get("message") != "OK":
        raise SupersetError(f"import: Superset answered {answer}")
    dashboards = _list(client, "dashboard", ["id", "slug", "dashboard_title"])
    return {
        "dashboards": sorted(d["slug"] or d["dashboard_title"] for d in dashboards),
        "charts": len(_list(client, "chart", ["id"])),
        "rls_datasets": apply_manager_rls(client),
    }


def _role_id(client: SupersetClient, name: str) -> int:
    query = json.dumps({"filter": name, "page_size": 100})
    url = f"{client.base_url}/rowlevelsecurity/related/roles"
    roles = _json(client.get(url, params={"q": query}), "list roles")["result"]
    for role in roles:
        if role["text"] == name:
            return role["value"]
    raise SupersetError(f"no role {name!r}: run `chatsales superset setup` first")


def apply_manager_rls(client: SupersetClient) -> list[str]:
    """One Regular rule: a Manager sees the rows whose manager_id is their username, on
    every dataset with that column. Created or updated in place; the dataset names."""
    tables = []
    for dataset in _list(client, "dataset", ["id", "table_name"]):
        url = f"{client.base_url}/dataset/{dataset['id']}"
        columns = _json(client.get(url), "read dataset")["result"]["columns"]
        if any(column["column_name"] == "manager_id" for column in columns):
            tables.append(dataset)
    if not tables:
        return []
    rule = {
        "name": RLS_NAME,
        "description": "A Manager (username = manager_id) sees only their own rows.",
        "filter_type": "Regular",
        "tables": [table["id"] for table in tables],
        "roles": [_role_id(client, MANAGER_ROLE)],
        "group_key": "",
        "clause": RLS_CLAUSE,
    }
    existing = [
        r for r in _list(client, "rowlevelsecurity", ["id", "name"]) if r["name"] == RLS_NAME
    ]
    if existing:
        url = f"{client.base_url}/rowlevelsecurity/{existing[0]['id']}"
        _json(client.put(url, json=rule), "update row-level security")
    else:
        _json(
            client.post(f"{client.base_url}/rowlevelsecurity/", json=rule), "add row-level security"
        )
    return sorted(table["table_name"] for table in tables)


def neutral_database(config: dict) -> dict:
    """A database YAML as kept in git: the URI placeholder, no engine connect_args."""
    config["sqlalchemy_uri"] = PLACEHOLDER
    config.get("extra", {}).get("engine_params", {}).pop("connect_args", None)
    return config


def export_bundle(base_url, username, password, out_dir, source_dir=None) -> list[str]:
    """Export every dashboard (with its charts, datasets and database) into out_dir as the
    unzipped source bundle: in English (a Russian export translated back with the table of
    source_dir, default out_dir), URIs back to the placeholder; returns the files written."""
    client = connect(base_url, username, password)
    ids = [dashboard["id"] for dashboard in _list(client, "dashboard", ["id"])]
    response = client.get(f"{client.base_url}/dashboard/export/", params={"q": json.dumps(ids)})
    if response.status_code != 200 or "zip" not in response.headers.get("content-type", ""):
        raise SupersetError(f"export: HTTP {response.status_code}: {response.text[:300]}")
    out_dir = Path(out_dir)
    with tempfile.TemporaryDirectory() as tmp:
        zip_path = Path(tmp) / "export.zip"
        zip_path.write_bytes(response.content)
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(Path(tmp) / "x")
        (root,) = (Path(tmp) / "x").iterdir()
        for path in (root / "databases").glob("*.yaml"):
            config = neutral_database(yaml.safe_load(path.read_text()))
            path.write_text(yaml.safe_dump(config, sort_keys=False))
        objects = read_bundle(root)
        source = as_source(objects, Path(source_dir or out_dir))
        if source is not objects:
            write_bundle(source, root)
        _keep_metadata_if_only_timestamp_changed(out_dir, root)
        out_dir.mkdir(parents=True, exist_ok=True)
        for part in BUNDLE_PARTS:
            target = out_dir / part
            if target.is_dir():
                shutil.rmtree(target)
            target.unlink(missing_ok=True)
            if (root / part).is_dir():
                shutil.copytree(root / part, target)
            elif (root / part).exists():
                shutil.copy2(root / part, target)
    return sorted(
        p.relative_to(out_dir).as_posix()
        for part in BUNDLE_PARTS
        for p in ([out_dir / part] if part.endswith(".yaml") else (out_dir / part).rglob("*"))
        if p.is_file()
    )


def _keep_metadata_if_only_timestamp_changed(out_dir: Path, root: Path) -> None:
    old, new = out_dir / "metadata.yaml", root / "metadata.yaml"
    if not old.exists():
        return
    strip = {"timestamp"}
    old_meta, new_meta = yaml.safe_load(old.read_text()), yaml.safe_load(new.read_text())
    if {k: v for k, v in old_meta.items() if k not in strip} == {
        k: v for k, v in new_meta.items() if k not in strip
    }:
        shutil.copy2(old, new)
