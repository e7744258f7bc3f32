"""The one-line failure reasons `chatsales run` prints."""

import pytest

from orchestration.loggers import dbt_failure

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
