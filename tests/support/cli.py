"""Running the `chatsales` command as a user does, in an environment of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .paths import REPO_ROOT

CHATSALES = str(Path(sys.executable).with_name("chatsales"))

# The environment pytest started with: builds running beside the tests must not read
# os.environ while a test patches it.
SESSION_ENVIRON = dict(os.environ)


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHATSALES, *args], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=1800
    )


def run_cli_ok(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """`run_cli` that fails the test with the command's output when the command fails."""
    result = run_cli(args, env)
    assert result.returncode == 0, (
        f"chatsales {args[0]} failed:\n{result.stdout}\n{result.stderr[-5000:]}"
    )
    return result


def warehouse_env(tmp: Path, url: str, landing: Path) -> dict[str, str]:
    """The session's environment without chatsales or dlt settings, pointed at one warehouse,
    one landing folder and state, Dagster home and dbt target folders under `tmp`."""
    env = {
        k: v for k, v in SESSION_ENVIRON.items() if not k.startswith(("CHATSALES_", "SOURCES__"))
    }
    env.update(
        CHATSALES_WAREHOUSE=url,
        CHATSALES_LANDING=str(landing),
        CHATSALES_STATE_DIR=str(tmp / "state"),
        DAGSTER_HOME=str(tmp / "dagster_home"),
        DBT_TARGET_PATH=str(tmp / "dbt_target"),
    )
    return env
