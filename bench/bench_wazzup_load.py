"""Time the Wazzup landing source (extract, normalize, load into DuckDB) on the demo data:
this checkout against a git ref of it, each run in a fresh process, taking turns.

    .venv/bin/python bench/bench_wazzup_load.py [--scale 1.0] [--baseline main] [--runs 2]
                                                [--landing an existing demo landing folder]

Prints wall and CPU seconds (with the extract, normalize and load steps) and peak RSS per run,
the ratios of the medians (this checkout / baseline), and whether both loaded the same rows.
CPU seconds are the steadier measure on a shared machine. Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TABLES = ("messages", "statuses", "channels", "quarantine")

# Run with the checkout to measure on PYTHONPATH: argv is the landing, a work folder, tables.
CHILD = """
import json, logging, resource, sys, time
import dlt, duckdb
from ingestion.wazzup import wazzup_landing

logging.disable(logging.WARNING)  # the quarantine warnings are not what is measured
landing, work, tables = sys.argv[1], sys.argv[2], sys.argv[3:]
pipeline = dlt.pipeline(
    pipeline_name="bench_wazzup", destination=dlt.destinations.duckdb(f"{work}/wh.duckdb"),
    dataset_name="raw_wazzup", pipelines_dir=f"{work}/pipelines",
)
started, cpu = time.perf_counter(), time.process_time()
pipeline.run(wazzup_landing(landing))
result = {"seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu}
result["steps"] = {
    step.step: (step.finished_at - step.started_at).total_seconds()
    for step in pipeline.last_trace.steps if step.step in ("extract", "normalize", "load")
}
result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
data_columns = "columns(lambda c: not starts_with(c, '_dlt'))"
with duckdb.connect(f"{work}/wh.duckdb", read_only=True) as db:
    result["digest"] = {
        table: db.execute(
            f"select count(*), sum(hash(t)) from (select {data_columns} from raw_wazzup.{table}) t"
        ).fetchone()
        for table in tables
    }
print(json.dumps(result, default=str))
"""


def export_ref(ref: str, target: Path) -> Path:
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, check=True, capture_output=True)
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    return target


def run_once(code: Path, landing: Path, work: Path) -> dict:
    work.mkdir()
    # the child's working folder has no checkout in it: PYTHONPATH alone picks the code
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(landing), str(work), *TABLES],
        cwd=work, env={**os.environ, "PYTHONPATH": str(code)}, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode:
        sys.exit(f"the load with {code} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def describe(name: str, run: int, result: dict) -> str:
    steps = "  ".join(f"{step} {seconds:5.1f}s" for step, seconds in result["steps"].items())
    return (
        f"{name:<14} run {run}: {result['seconds']:6.1f}s wall {result['cpu']:6.1f}s CPU"
        f"  ({steps})  peak RSS {result['peak_mb']:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--baseline", default="main", help="git ref to compare with")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--landing", type=Path, help="an existing demo landing folder")
    args = parser.parse_args()

    results: dict[str, list[dict]] = {args.baseline: [], "this checkout": []}
    with tempfile.TemporaryDirectory(prefix="chatsales-bench-") as tmp:
        root = Path(tmp)
        landing = args.landing
        if landing is None:
            from chatsales.app.demo import generate_demo

            landing = root / "landing"
            generate_demo(landing, scale=args.scale)
        checkouts = {args.baseline: export_ref(args.baseline, root / "baseline"),
                     "this checkout": ROOT}  # fmt: skip
        for run in range(1, args.runs + 1):
            for name, code in checkouts.items():
                result = run_once(code, landing, root / f"run-{run}-{len(results[name])}-{name}")
                results[name].append(result)
                print(describe(name, run, result))

    new, old = results["this checkout"], results[args.baseline]
    for measure in ("seconds", "cpu", "peak_mb"):
        ratio = statistics.median(r[measure] for r in new) / statistics.median(
            r[measure] for r in old
        )
        print(f"median {measure:<8} this checkout / {args.baseline}: {ratio:.2f}x")
    same = new[0]["digest"] == old[0]["digest"]
    print("rows loaded:", new[0]["digest"], "same as baseline" if same else "DIFFERENT:")
    if not same:
        print(old[0]["digest"])


if __name__ == "__main__":
    main()
