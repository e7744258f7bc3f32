"""Spark as the warehouse, on the local cluster (`chatsales spark start|status|stop`) with free
loopback ports and a state dir of its own: a demo slice goes through `chatsales run` (Dagster,
dlt to Parquet, dbt-spark, GX) on DuckDB, and on Spark in two runs, the second incremental
with the last month's webhooks, and the marts are equal row for row; mart_interventions' dbt
unit tests pass on Spark; a Superset chart over Spark's marts shows what the same SQL asked
of Spark says. The cluster starts and builds the slice in the background, beside the rest of
the suite, whose last tests these are (tests/conftest.py). Needs Java 17; the first start
installs .venv-spark."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import dlt
import pytest

from chatsales.app.spark import cluster, hive_stubs, thrift
from chatsales.app.spark.commands import environment_installed
from chatsales.app.spark.paths import (
    cluster_dir,
    logs_dir,
    spark_home,
    spark_python,
    warehouse_dir,
    warehouse_url,
)
from chatsales.core.settings import DBT_PROJECT_DIR, REPO_ROOT, Warehouse
from chatsales.core.warehouse import connect, query, table_counts
from ingestion.pipelines import run_options
from ingestion.spark_tables import expose

from .support.background_builds import built_in_background
from .support.cli import SESSION_ENVIRON, run_cli, run_cli_ok, warehouse_env
from .support.postgres_server import free_port
from .support.same_marts import differing_rows
from .support.superset_reference import REFERENCES, compare_chart
from .support.warehouses import BuiltWarehouse

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java 17"),
]

# three months of the demo at 5 % of its volume: ~4,200 messages, every model and mart
SLICE = ["--scale", "0.05", "--months", "3"]
RAW_SCHEMAS = ("raw_wazzup", "raw_amocrm", "raw_bitrix24", "raw_directory", "raw_telegram")
# "How many new dialogs are incoming and how many outgoing, each month?" (overview)
CHART = "003663c8-2c9f-5804-abaf-8c3433b6d76d"


@dataclass
class SparkSlice:
    """What the background build leaves: the cluster's settings, `chatsales spark start`'s
    output, and the slice built on DuckDB and on the cluster (None if the start failed)."""

    env: dict[str, str]
    started: subprocess.CompletedProcess
    installed_before: bool
    builds: dict[str, BuiltWarehouse] | None = None
    unit_tests: subprocess.CompletedProcess | None = None


@built_in_background("spark_slice")
def _spark_slice(request):
    """The cluster starts and builds the slice beside the other tests (the build is mostly
    Spark's driver, on one core), settings of its own in its processes' environment; what a
    session leaves running stops at its end. On a fresh clone its start installs .venv-spark
    first, as a user's first `chatsales spark start` does."""
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java 17")
    # not under pytest's basetemp, which a concurrent pytest session may prune under the JVMs
    state = Path(tempfile.mkdtemp(prefix="chatsales-spark-test-"))
    env = {
        "CHATSALES_STATE_DIR": str(state),
        "CHATSALES_SPARK_THRIFT_PORT": str(free_port()),
        "CHATSALES_SPARK_MASTER_PORT": str(free_port()),
        "CHATSALES_SPARK_MASTER_UI_PORT": str(free_port()),
    }
    request.addfinalizer(lambda: stop_and_remove(env))
    return build_slice, (env, request.getfixturevalue("tmp_path_factory").mktemp("spark_slice"))


def stop_and_remove(env: dict[str, str]) -> None:
    state = Path(env["CHATSALES_STATE_DIR"])
    if state.exists():
        chatsales("spark", "stop", env=env)
        shutil.rmtree(state, ignore_errors=True)


def chatsales(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "chatsales.app.cli", *args],
        cwd=REPO_ROOT,
        env={**SESSION_ENVIRON, **env} if env else None,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def build_slice(spark_env: dict[str, str], tmp: Path) -> SparkSlice:
    """The slice built by `chatsales run` on DuckDB, and on the cluster in two runs: the first
    without the last month's webhooks, the second, incremental, after they land."""
    installed_before = environment_installed()
    started = chatsales("spark", "start", env=spark_env, timeout=1200)  # the install included
    if started.returncode != 0:
        return SparkSlice(spark_env, started, installed_before)
    landing = tmp / "landing"
    duckdb_env = warehouse_env(tmp / "duckdb", f"duckdb:///{tmp / 'warehouse.duckdb'}", landing)
    run_cli_ok(["demo", *SLICE, "--landing", str(landing)], duckdb_env)
    spark_url = started.stdout.strip().splitlines()[-1].split("=", 1)[1]
    spark_run_env = {**warehouse_env(tmp / "spark", spark_url, landing), **spark_env}

    last_month = sorted((landing / "wazzup").glob("*.jsonl"))[-1]
    held_back = shutil.move(last_month, tmp / last_month.name)
    first = run_cli(["run"], spark_run_env)
    spark = BuiltWarehouse(Warehouse(spark_url), spark_run_env, first)
    state = Path(spark_env["CHATSALES_STATE_DIR"])
    spark.files_after_first_run = partition_files("marts", "mart_manager_metrics", state)
    shutil.move(held_back, last_month)
    os.utime(last_month)  # it lands now, after the first run
    spark.second_run = run_cli(["run"], spark_run_env)
    unit_tests = dbt_unit_tests(spark, tmp / "unit_tests")
    duckdb = BuiltWarehouse(
        Warehouse(duckdb_env["CHATSALES_WAREHOUSE"]), duckdb_env, run_cli(["run"], duckdb_env)
    )
    builds = {"spark": spark, "duckdb": duckdb}
    return SparkSlice(spark_env, started, installed_before, builds, unit_tests)


# mart_interventions' unit tests on Spark: its hooks delete rows, which `dbt test` renders
# where `this` is none (`dbt build` hid that). Not all 57: mart_anomalies' 12 alone took
# 400 s of Spark's time, the other 45 ~220 s
SPARK_UNIT_TESTS = "test_type:unit,mart_interventions"


def dbt_unit_tests(built: BuiltWarehouse, target: Path) -> subprocess.CompletedProcess:
    warehouse = built.warehouse
    return subprocess.run(
        [str(warehouse.dbt_executable), "test", "--select", SPARK_UNIT_TESTS,
         "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(target)],
        cwd=DBT_PROJECT_DIR, env={**built.env, **warehouse.dbt_env()},
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip


@pytest.fixture(scope="module")
def spark_slice(warehouse_builds) -> SparkSlice:
    return warehouse_builds.result("spark_slice")


@pytest.fixture(scope="module")
def spark_env(spark_slice):
    """The cluster's settings, in this process's environment for the module; the cluster
    stopped (whatever a failed test left running) and its folder removed after it."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in spark_slice.env.items():
            patch.setenv(name, value)
        yield spark_slice.env
        cluster.stop()
    shutil.rmtree(spark_slice.env["CHATSALES_STATE_DIR"], ignore_errors=True)


@pytest.fixture(scope="module")
def started(spark_env, spark_slice) -> subprocess.CompletedProcess:
    return spark_slice.started


def test_start_prints_its_warehouse_and_runs_on_the_workers(spark_env, started, spark_slice):
    assert started.returncode == 0, started.stdout + started.stderr
    # a first start installs the Spark environment and says so; later ones find it installed
    installing = "First use: installing the Spark environment" in started.stdout
    assert installing != spark_slice.installed_before, started.stdout
    assert environment_installed()
    port = spark_env["CHATSALES_SPARK_THRIFT_PORT"]
    warehouse_line = f"CHATSALES_WAREHOUSE=spark://127.0.0.1:{port}"
    assert started.stdout.strip().splitlines()[-1] == warehouse_line

    status = chatsales("spark", "status")
    assert status.returncode == 0, status.stdout
    assert set(cluster.status()) == {"master", "worker-1", "worker-2", "thrift"}
    # the query runs on the workers' executors, not only in the Thrift server's driver
    assert thrift.run_sql(["select count(*) from range(1000)"]) == [[1000]]
    assert chatsales("spark", "start").stdout.strip().splitlines()[-1] == warehouse_line


def test_a_closing_session_leaves_the_others_their_resource_folders(spark_env, started):
    """Hive gives each session a folder for downloaded resources and deletes it as the session
    closes. One folder for all (as first configured) went with every closing session, and a
    session opening meanwhile failed ("Couldn't create directory")."""
    resources = cluster_dir() / "resources"
    target = Warehouse(warehouse_url())
    before = set(resources.iterdir())
    with connect(target) as staying:
        with connect(target):
            assert len(set(resources.iterdir()) - before) == 2
        [own] = set(resources.iterdir()) - before
        assert own.is_dir()
        cursor = staying.cursor()
        cursor.execute("select 1")  # the staying session still works
        assert cursor.fetchall() == [(1,)]
    assert set(resources.iterdir()) == before


@pytest.fixture(scope="module")
def slice_builds(spark_env, spark_slice) -> dict[str, BuiltWarehouse]:
    started = spark_slice.started
    assert started.returncode == 0, started.stdout + started.stderr
    return spark_slice.builds


def test_both_runs_on_spark_build_and_check_everything(slice_builds):
    spark = slice_builds["spark"]
    for run in (spark.first_run, spark.second_run):
        assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-5000:]
        assert "✗" not in run.stdout
        # the GX suites ran on Spark's tables, as Dagster asset checks
        checked = set(re.findall(r"▶ \S+_gx_(\w+)", run.stdout))
        assert {"fct_messages", "fct_waits", "mart_manager_metrics"} <= checked, run.stdout
        # dlt's merge warnings are expected on Parquet and kept off the console
        assert "Falling back to `append`" not in run.stdout + run.stderr
    # the second run loaded the last month (and the marts below equal a build of all of it)
    assert re.search(r"raw_wazzup/messages\s+[\d,]+ rows loaded", spark.second_run.stdout)


def test_mart_interventions_unit_tests_pass_on_spark(spark_slice, slice_builds):
    result = spark_slice.unit_tests
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert re.search(r"PASS=[1-9]", result.stdout), result.stdout[-2000:]


def test_spark_s_marts_equal_duckdb_s(slice_builds):
    duckdb_run = slice_builds["duckdb"].first_run
    assert duckdb_run.returncode == 0, duckdb_run.stdout[-3000:]
    # Spark's marts, built incrementally over two runs, against DuckDB's of one run
    spark, duckdb = slice_builds["spark"].warehouse, slice_builds["duckdb"].warehouse
    assert differing_rows(spark, duckdb) == {}


def partition_files(schema: str, table: str, state: Path | None = None) -> dict[str, set[str]]:
    """The Parquet files of a managed table, per partition folder (`grain=day/period_start=…`),
    in the cluster's state dir (`state`, or the one in this process's environment)."""
    root = warehouse_dir(state) / f"{schema}.db" / table
    files: dict[str, set[str]] = {}
    for path in root.rglob("*.parquet"):
        files.setdefault(str(path.parent.relative_to(root)), set()).add(path.name)
    return files


def test_the_incremental_run_overwrote_only_the_partitions_it_recomputed(slice_builds):
    """insert_overwrite by partition: the second run recomputed mart_manager_metrics from the
    last month on, so the day partitions before it kept their files (a rewrite of the whole
    table, which delete+insert would need, replaces them all); chat-keyed tables are
    partitioned by chat bucket."""
    before = slice_builds["spark"].files_after_first_run
    after = partition_files("marts", "mart_manager_metrics")
    days = sorted(partition for partition in before if partition.startswith("grain=day/"))
    assert len(days) > 40, sorted(before)[:5]
    assert all(after.get(day) == before[day] for day in days[:30])  # the first month's days
    assert any(after[partition] != before.get(partition) for partition in after)
    buckets = partition_files("marts", "fct_messages")
    assert buckets and all(re.fullmatch(r"chat_bucket=\d+", bucket) for bucket in buckets)


def test_a_partition_is_one_file_and_its_folders_are_listed_by_the_driver(slice_builds):
    """Rows are written distributed by partition: one file per partition (a union of selects
    wrote 17 a partition without it). Spark lists the folders in the driver, not in a job of a
    task per folder, which it starts past 32 folders unless told otherwise."""
    for table in ("mart_period_comparison", "mart_manager_metrics", "fct_messages"):
        files = partition_files("marts", table)
        assert files and all(len(names) == 1 for names in files.values()), (table, files)
    thrift_log = (logs_dir() / "thrift.log").read_text(errors="replace")
    assert "Listing leaf files and directories in parallel" not in thrift_log


def test_the_raw_views_hold_what_dlt_s_merge_holds(slice_builds):
    """Spark's raw tables are Parquet appended load after load; their views keep, per primary
    key, the newest load's row: as many rows as DuckDB's merged tables."""
    spark, duckdb = slice_builds["spark"].warehouse, slice_builds["duckdb"].warehouse
    for schema in RAW_SCHEMAS:
        ours = table_counts(schema, spark)
        theirs = {t: n for t, n in table_counts(schema, duckdb).items() if not t.startswith("_")}
        assert ours == theirs, schema


def test_a_table_loaded_twice_reads_as_merged_and_an_unfinished_load_not_at_all(
    spark_env, started, tmp_path, monkeypatch
):
    monkeypatch.setenv("CHATSALES_SPARK_RAW", str(tmp_path / "raw"))
    warehouse = Warehouse(started.stdout.strip().splitlines()[-1].split("=", 1)[1])

    @dlt.resource(name="deals", primary_key="id", write_disposition="merge")
    def deals(rows):
        yield rows

    loader = dlt.pipeline(
        "spark_tables_test", destination=warehouse.dlt_destination(), dataset_name="raw_test",
        pipelines_dir=str(tmp_path / "pipelines"),
    )  # fmt: skip
    try:
        for rows in ([{"id": 1, "stage": "new"}, {"id": 2, "stage": "new"}],
                     [{"id": 1, "stage": "won", "amount": 10.5}]):  # fmt: skip
            loader.run(deals(rows), **run_options(warehouse))
            expose(loader, warehouse)
        merged = [(1, "won", 10.5), (2, "new", None)]
        assert (
            query("select id, stage, amount from raw_test.deals order by id", warehouse) == merged
        )

        # a load killed after writing its file, before dlt recorded it in _dlt_loads: the
        # first load's rows again, under a later load id, would win if it were read
        written = sorted((tmp_path / "raw" / "raw_test" / "deals").glob("*.parquet"))[0]
        shutil.copy(written, written.with_name("9999999999.000001.unfinished.parquet"))
        expose(loader, warehouse)
        assert (
            query("select id, stage, amount from raw_test.deals order by id", warehouse) == merged
        )
    finally:
        query("drop schema if exists raw_test cascade", warehouse)
        query("drop schema if exists raw_test_files cascade", warehouse)


@pytest.mark.superset
def test_a_superset_chart_over_spark_shows_what_spark_says(slice_builds, tmp_path_factory):
    from .support.superset_server import running_superset

    built = slice_builds["spark"]
    assert built.first_run.returncode == 0
    with running_superset(built, tmp_path_factory.mktemp("superset_spark")) as superset:
        admin = superset.session()
        charts = admin.get(
            f"{superset.url}/api/v1/chart/",
            params={"q": "(columns:!(id,uuid),page_size:100)"},
            timeout=60,
        ).json()["result"]
        chart_id = next(chart["id"] for chart in charts if chart["uuid"] == CHART)
        answer = admin.get(f"{superset.url}/api/v1/chart/{chart_id}/data/", timeout=120)
        assert answer.status_code == 200, answer.text[:500]
    result = answer.json()["result"]
    assert result[0]["rowcount"] > 0
    problems = compare_chart(REFERENCES[CHART], result, lambda sql: spark_rows(built, sql))
    assert not problems, "\n".join(problems[:20])


def spark_rows(built: BuiltWarehouse, sql: str) -> list[dict]:
    """Rows as dicts, asked of Spark itself (the chart reads the serving copy)."""
    with connect(built.warehouse) as conn:
        cursor = conn.cursor()
        cursor.execute(sql)
        names = [column[0].split(".")[-1] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


PROBE = """
public class Probe {
  public static void main(String[] args) throws Exception {
    Class.forName("org.apache.hadoop.hive.ql.exec.FunctionRegistry");
  }
}
"""
# what spark-class opens to Spark's JVMs, that Hive's static initializers need
OPENS = [f"--add-opens=java.base/{package}=ALL-UNNAMED" for package in (
    "java.lang", "java.lang.reflect", "java.io", "java.net", "java.nio", "java.util",
    "java.util.concurrent", "sun.nio.ch",
)]  # fmt: skip


def test_hive_s_function_registry_initializes_with_the_stub_only(spark_env, tmp_path):
    """The Thrift server's session close needs Hive's FunctionRegistry, which pyspark's jars
    alone cannot initialize (hive_stubs.py)."""
    (tmp_path / "Probe.java").write_text(PROBE)
    jars = spark_home() / "jars"
    subprocess.run(
        [str(spark_python()), "-c", hive_stubs.COMPILE, hive_stubs.compiler_classpath(),
         str(tmp_path), str(tmp_path / "Probe.java")], check=True, timeout=120,
    )  # fmt: skip

    def probe(*classpath: Path) -> subprocess.CompletedProcess:
        path = ":".join([*map(str, classpath), f"{jars}/*"])
        return subprocess.run(["java", *OPENS, "-cp", path, "Probe"], capture_output=True,
                              text=True, timeout=120)  # fmt: skip

    without = probe(tmp_path)
    assert without.returncode != 0 and "LlapSigner$Signable" in without.stderr
    with_stub = probe(tmp_path, hive_stubs.compile_if_changed())
    assert with_stub.returncode == 0, with_stub.stderr[-3000:]


def test_stop_leaves_no_process(spark_env, started):
    stopped = chatsales("spark", "stop")
    assert stopped.returncode == 0
    assert not any(cluster.status().values())
    assert chatsales("spark", "status").returncode == 1
    assert not thrift.answers()
    assert java_processes_under(spark_env["CHATSALES_STATE_DIR"]) == []  # executors too


def java_processes_under(folder: str) -> list[int]:
    """The pids of processes whose command line names `folder` (the cluster's JVMs)."""
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if folder.encode() in (proc / "cmdline").read_bytes():
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids
