"""A `spark://` warehouse as the settings read it: where its parts are, without a cluster."""

from __future__ import annotations

import pytest

from chatsales.core.settings import Settings, Warehouse, dashboards_warehouse
from ingestion.spark_tables import spark_type

pytestmark = pytest.mark.unit


def test_a_spark_url_names_the_thrift_server_for_every_client(monkeypatch, tmp_path):
    monkeypatch.setenv("CHATSALES_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("CHATSALES_SPARK_VENV", str(tmp_path / "venv-spark"))
    spark = Warehouse("spark://analyst@spark.example:10001")
    assert spark.kind == "spark"
    assert spark.display_name == "Spark spark.example:10001"
    assert spark.sqlalchemy_url == "hive://analyst@spark.example:10001"
    env = spark.dbt_env()
    assert (env["CHATSALES_DBT_TARGET"], env["CHATSALES_SPARK_HOST"]) == ("spark", "spark.example")
    assert (env["CHATSALES_SPARK_PORT"], env["CHATSALES_SPARK_USER"]) == ("10001", "analyst")
    assert spark.dbt_executable == tmp_path / "venv-spark" / "bin" / "dbt"
    # the dashboards read a DuckDB copy in the state dir, not Spark
    served = dashboards_warehouse(spark)
    assert (served.kind, served.duckdb_path) == ("duckdb", tmp_path / "spark" / "serving.duckdb")
    assert Warehouse("spark://10.0.0.5").spark == {
        "host": "10.0.0.5", "port": "10000", "user": "chatsales"
    }  # fmt: skip


def test_the_raw_files_go_to_the_state_dir_a_folder_or_a_bucket(tmp_path):
    assert Settings(state_dir=tmp_path).spark_raw_url == (tmp_path / "spark" / "raw").as_uri()
    assert Settings(spark_raw=str(tmp_path / "r")).spark_raw_url == (tmp_path / "r").as_uri()
    assert Settings(spark_raw="s3://bucket/raw").spark_raw_url == "s3://bucket/raw"


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        ({"data_type": "bigint"}, "bigint"),
        ({"data_type": "bigint", "precision": 32}, "int"),
        ({"data_type": "decimal"}, "decimal(38,9)"),
        ({"data_type": "decimal", "precision": 12, "scale": 2}, "decimal(12,2)"),
        ({"data_type": "wei"}, "decimal(38,0)"),
        ({"data_type": "json"}, "string"),
        ({"data_type": "timestamp"}, "timestamp"),
        ({"data_type": "timestamp", "timezone": False}, "timestamp_ntz"),
        ({"data_type": "bool"}, "boolean"),
    ],
)
def test_each_dlt_type_reads_as_the_spark_type_of_its_parquet_column(column, expected):
    assert spark_type({"name": "c", **column}) == expected
