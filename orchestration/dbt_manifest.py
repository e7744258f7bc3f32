"""dbt's manifest.json, which the Dagster definitions are built from, written by `dbt parse`
only when the project changed since the last parse.

A `dbt parse` costs ~7 s even when nothing changed (most of it is starting dbt), and
`chatsales run` would pay it every time. The parse is skipped when the manifest was written
from the same project files, dbt version and target type: a fingerprint of those is kept
beside it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from importlib.metadata import version
from pathlib import Path

from chatsales.core.settings import DBT_PROJECT_DIR, REPO_ROOT, dbt_target_path, warehouse

# what dbt reads when it parses (not its output, logs or the sqlfluff plugin)
PARSED = ["dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "data-tests"]
FINGERPRINT = "manifest.fingerprint"
SPARK_LOCK = REPO_ROOT / "requirements" / "spark.lock"


def project_fingerprint(project_dir: Path, target_type: str) -> str:
    digest = hashlib.sha256()
    if target_type == "spark":  # its dbt lives in .venv-spark, whose lock pins its versions
        digest.update(SPARK_LOCK.read_bytes())
    else:
        for package in ("dbt-core", f"dbt-{target_type}"):
            digest.update(f"{package}=={version(package)}\n".encode())
    for name in PARSED:
        root = project_dir / name
        files = sorted(root.rglob("*")) if root.is_dir() else [root]
        for path in (path for path in files if path.is_file()):
            digest.update(f"{path.relative_to(project_dir)}\n".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def prepare_dbt() -> None:
    """Write the manifest, unless the one there was parsed from this very project."""
    wh = warehouse()
    dbt_env, dbt = wh.dbt_env(), wh.dbt_executable
    target = dbt_target_path()
    manifest, stamp = target / "manifest.json", target / FINGERPRINT
    fingerprint = project_fingerprint(DBT_PROJECT_DIR, dbt_env["CHATSALES_DBT_TARGET"])
    if manifest.exists() and stamp.exists() and stamp.read_text() == fingerprint:
        return
    stamp.unlink(missing_ok=True)
    subprocess.run(
        [str(dbt), "parse", "--quiet", "--profiles-dir", str(DBT_PROJECT_DIR)],
        cwd=DBT_PROJECT_DIR,
        env={**os.environ, **dbt_env},
        check=True,
    )
    stamp.write_text(fingerprint)
