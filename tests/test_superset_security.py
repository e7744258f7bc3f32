"""Who sees what in Superset: the sales head everything, a manager only their own rows
(row-level security on manager_id), an anonymous visitor nothing."""

from __future__ import annotations

import pytest
import requests

from .support.superset_server import DASHBOARDS, listing, rows_per_manager

pytestmark = pytest.mark.superset


@pytest.fixture(scope="module")
def manager_datasets(superset) -> dict[str, int]:
    admin = superset.session()
    datasets = listing(admin, superset.url, "dataset")
    scoped = set(superset.imported["rls_datasets"])
    return {d["table_name"]: d["id"] for d in datasets if d["table_name"] in scoped}


def test_every_dataset_keyed_by_manager_is_under_row_level_security(superset_duckdb):
    admin = superset_duckdb.session()
    keyed = set()
    for dataset in listing(admin, superset_duckdb.url, "dataset"):
        detail = admin.get(f"{superset_duckdb.url}/api/v1/dataset/{dataset['id']}", timeout=60)
        if any(c["column_name"] == "manager_id" for c in detail.json()["result"]["columns"]):
            keyed.add(dataset["table_name"])
    assert {"mart_manager_metrics", "mart_anomalies"} <= keyed
    assert set(superset_duckdb.imported["rls_datasets"]) == keyed
    (rule,) = listing(admin, superset_duckdb.url, "rowlevelsecurity")
    assert [role["name"] for role in rule["roles"]] == ["Manager"]


def test_the_sales_head_sees_every_manager(superset, manager_datasets):
    assert len([u for u in superset.users if u.startswith("m")]) == 8  # a user per manager
    rows = rows_per_manager(superset, "head", manager_datasets["mart_manager_metrics"])
    in_mart = superset.query("select distinct manager_id from marts.mart_manager_metrics")
    assert set(rows) == {row["manager_id"] for row in in_mart} > {"all", "m01", "m08"}


@pytest.mark.parametrize("manager", ["m01", "m05"])
def test_a_manager_sees_only_their_own_rows(superset, manager_datasets, manager):
    for name, dataset_id in manager_datasets.items():
        everyone = rows_per_manager(superset, "head", dataset_id)
        own = rows_per_manager(superset, manager, dataset_id)
        expected = {manager: everyone[manager]} if manager in everyone else {}
        assert own == expected, name


def test_a_manager_sees_the_dashboards_but_cannot_edit_or_query_freely(superset_duckdb):
    session = superset_duckdb.session("m01")
    slugs = {d["slug"] for d in listing(session, superset_duckdb.url, "dashboard")}
    assert slugs == set(DASHBOARDS)
    chart = listing(session, superset_duckdb.url, "chart")[0]
    edit = session.put(
        f"{superset_duckdb.url}/api/v1/chart/{chart['id']}", json={"slice_name": "x"}, timeout=60
    )
    assert edit.status_code in (401, 403), edit.text[:300]
    sql_lab = session.post(
        f"{superset_duckdb.url}/api/v1/sqllab/execute/",
        json={"database_id": 1, "sql": "select * from marts.fct_dialogs", "runAsync": False},
        timeout=60,
    )
    assert sql_lab.status_code in (401, 403), sql_lab.text[:300]


def test_an_anonymous_visitor_gets_no_data(superset_duckdb):
    url = superset_duckdb.url
    charts = listing(superset_duckdb.session(), url, "chart")
    anonymous = requests.Session()
    for chart in charts:
        answer = anonymous.get(f"{url}/api/v1/chart/{chart['id']}/data/", timeout=60)
        assert answer.status_code == 401, (chart["slice_name"], answer.status_code)
    assert anonymous.get(f"{url}/api/v1/dashboard/", timeout=60).status_code == 401
    for slug in DASHBOARDS:
        page = anonymous.get(f"{url}/superset/dashboard/{slug}/", allow_redirects=False, timeout=60)
        assert page.status_code == 302 and "/login" in page.headers["Location"], slug
