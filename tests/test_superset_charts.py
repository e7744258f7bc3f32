"""Every chart's numbers, through Superset's chart-data API (the request the dashboard
makes), equal the same question asked of the marts directly, on both warehouses."""

from __future__ import annotations

import pytest
import yaml

from chatsales.warehouse import connect

from .superset_reference import REFERENCES, compare_chart
from .superset_server import BUNDLE

BUNDLE_CHARTS = {
    chart["uuid"]: chart
    for chart in (yaml.safe_load(p.read_text()) for p in (BUNDLE / "charts").glob("*.yaml"))
}


def test_every_chart_has_a_reference_query():
    assert set(REFERENCES) == set(BUNDLE_CHARTS)
    for uuid, reference in REFERENCES.items():
        assert reference.slice_name == BUNDLE_CHARTS[uuid]["slice_name"]


def _fetcher(superset):
    """fetch(sql) -> rows as dicts, on what this Superset reads (the serving copy on DuckDB)."""
    warehouse = superset.built.warehouse
    if warehouse.kind == "duckdb":
        from chatsales.settings import Warehouse, serving_duckdb_path

        warehouse = Warehouse(f"duckdb:///{serving_duckdb_path(warehouse)}")

    def fetch(sql: str) -> list[dict]:
        with connect(warehouse) as conn:
            cursor = conn.cursor()
            cursor.execute(sql)
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    return fetch


@pytest.fixture(scope="module")
def admin(superset):
    return superset.session()


@pytest.fixture(scope="module")
def chart_ids(superset, admin) -> dict[str, int]:
    query = "(columns:!(id,uuid),page_size:100)"
    answer = admin.get(f"{superset.url}/api/v1/chart/", params={"q": query}, timeout=60)
    answer.raise_for_status()
    return {chart["uuid"]: chart["id"] for chart in answer.json()["result"]}


@pytest.mark.parametrize("uuid", sorted(REFERENCES, key=lambda u: REFERENCES[u].slice_name))
def test_the_chart_shows_what_the_marts_say(superset, admin, chart_ids, uuid):
    answer = admin.get(f"{superset.url}/api/v1/chart/{chart_ids[uuid]}/data/", timeout=120)
    assert answer.status_code == 200, answer.text[:500]
    problems = compare_chart(REFERENCES[uuid], answer.json()["result"], _fetcher(superset))
    assert not problems, "\n".join(problems[:20])
