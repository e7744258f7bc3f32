"""The one-line failure reasons `chatsales run` prints."""

import pytest
from dagster._utils.error import SerializableErrorInfo

from orchestration.loggers import dbt_failure, root_cause

pytestmark = pytest.mark.unit

DAGSTER_DBT_ERROR = """The dbt CLI process with command

`/work/main/.venv/bin/dbt build --target duckdb --select fqn:*`

failed with exit code `1`. Check the stdout in the Dagster compute logs.

Errors parsed from dbt logs:

3 of 190 ERROR creating sql view model staging.stg_x ......... [\x1b[31mERROR\x1b[0m in 0.03s]

\x1b[31mFailure in model stg_x (models/staging/stg_x.sql)\x1b[0m

  Runtime Error in model stg_x (models/staging/stg_x.sql)
  Binder Error: Referenced column "y" not found in FROM clause!
"""


def test_dbt_failure_names_the_model_and_the_database_error():
    assert dbt_failure(DAGSTER_DBT_ERROR) == (
        'dbt: Failure in model stg_x: Binder Error: Referenced column "y" not found in FROM clause!'
    )


def test_other_errors_are_not_read_as_dbt_failures():
    assert dbt_failure("ManagersFileError: managers.csv: missing columns") is None


def test_a_lost_server_is_named_as_such_whatever_step_lost_it():
    lost = DAGSTER_DBT_ERROR.replace(
        'Binder Error: Referenced column "y" not found in FROM clause!',
        "server closed the connection unexpectedly",
    )
    for message in (lost, "OperationalError: terminating connection due to administrator command"):
        error = SerializableErrorInfo(message, stack=[], cls_name="Failure")
        assert root_cause(error).startswith("lost the warehouse connection (is the server up?): ")
    other = SerializableErrorInfo(DAGSTER_DBT_ERROR, stack=[], cls_name="Failure")
    assert root_cause(other).startswith("dbt: Failure in model stg_x: Binder Error")
