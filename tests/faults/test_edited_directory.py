"""`managers.csv` edited between runs: the catch-up run notices that whose messages are whose
changed and rebuilds the message models from all history by itself; a display name changed
alone costs no rebuild. The marts end equal to the session's clean run of the same landing
(EXCEPT ALL both ways)."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest

from chatsales.core.settings import Warehouse
from chatsales.core.warehouse import query

from ..support.cli import run_cli_ok
from ..support.same_marts import differing_rows

pytestmark = [pytest.mark.warehouse, pytest.mark.faults]

REBUILDING = "managers.csv changed whose messages are whose"


def edited(text: str, edit) -> str:
    rows = list(csv.DictReader(io.StringIO(text)))
    edit({row["manager_id"]: row for row in rows})
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def channel_moved(managers: dict[str, dict]) -> None:
    """m01's last Wazzup channel goes to m02."""
    *kept, moved = managers["m01"]["wazzup_channel_ids"].split(";")
    managers["m01"]["wazzup_channel_ids"] = ";".join(kept)
    managers["m02"]["wazzup_channel_ids"] += f";{moved}"


def renamed(managers: dict[str, dict]) -> None:
    managers["m03"]["name"] = "Дмитрий Попов-Ильин"


def test_the_run_after_an_edit_rebuilds_whose_messages_are_whose(
    demo_landing, duckdb_warehouse, tmp_path
):
    landing = tmp_path / "landing"
    shutil.copytree(demo_landing, landing)
    directory: Path = landing / "managers.csv"
    original = directory.read_text(encoding="utf-8")
    env = duckdb_warehouse.env_for(tmp_path, f"duckdb:///{tmp_path / 'warehouse.duckdb'}", landing)
    ours = Warehouse(env["CHATSALES_WAREHOUSE"])
    per_manager = "select manager_id, count(*) from marts.fct_messages group by 1 order by 1"

    directory.write_text(edited(original, channel_moved), encoding="utf-8")
    run_cli_ok(["run"], env)
    assert query(per_manager, ours) != query(per_manager, duckdb_warehouse.warehouse)

    directory.write_text(original, encoding="utf-8")  # the channel goes back to m01
    back = run_cli_ok(["run"], env)
    assert differing_rows(ours, duckdb_warehouse.warehouse) == {}
    assert REBUILDING in back.stdout

    directory.write_text(edited(original, renamed), encoding="utf-8")
    name_only = run_cli_ok(["run"], env)
    assert REBUILDING not in name_only.stdout
    [(name,)] = query("select manager_name from marts.dim_managers where manager_id = 'm03'", ours)
    assert name == "Дмитрий Попов-Ильин"
