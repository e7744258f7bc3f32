"""SQL through the Thrift server with PyHive, which lives in .venv-spark: run there as a
child process, the rows back as JSON."""

from __future__ import annotations

import json
import subprocess

from .paths import HOST, spark_python, thrift_port

# Runs in .venv-spark: the statements from stdin (a JSON list), the last one's rows to stdout.
CLIENT = """
import json, sys
from pyhive import hive
host, port = sys.argv[1], int(sys.argv[2])
statements = json.load(sys.stdin)
conn = hive.connect(host=host, port=port, username="chatsales")
cursor = conn.cursor()
rows = []
for sql in statements:
    cursor.execute(sql)
    rows = cursor.fetchall() if cursor.description else []
json.dump([list(row) for row in rows], sys.stdout, default=str)
"""


class ThriftError(RuntimeError):
    """The Thrift server refused or failed a statement (or did not answer)."""


def run_sql(statements: list[str], port: int | None = None, timeout: float = 600) -> list[list]:
    """Run `statements` in one session; the rows of the last one."""
    result = subprocess.run(
        [str(spark_python()), "-c", CLIENT, HOST, str(port or thrift_port())],
        input=json.dumps(statements),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise ThriftError(result.stderr.strip().splitlines()[-1] if result.stderr else "failed")
    return json.loads(result.stdout)


def answers(port: int | None = None) -> bool:
    """Whether the Thrift server answers `select 1`."""
    try:
        return run_sql(["select 1"], port, timeout=60) == [[1]]
    except (ThriftError, subprocess.TimeoutExpired):
        return False
