"""How `chatsales run` scales against a plain-SQL floor, on one landing folder.

    .venv/bin/python bench/bench_scale.py [--scale 1 | --landing PATH] [--floor SCRIPT]
                                          [--postgres postgresql://...] [--spark spark://...]
                                          [--json OUT.json]

Generates the demo at `--scale` (or copies `--landing` by hard links, never writing into it),
then runs, each in a fresh subprocess: the floor (`python SCRIPT LANDING DB`, DuckDB), with
`--postgres` the PostgreSQL floor too (`floor_postgres.py`, in a fresh database), then per
warehouse (DuckDB; PostgreSQL; with `--spark`, a running cluster's Thrift server, e.g. from
`chatsales spark start`, emptied of chatsales's schemas) `chatsales run` into an empty
warehouse, again with no new data, and again after one more day of webhooks lands. Prints
wall time, the peak RSS of the process tree, the ratio to the floor on the same warehouse,
and the re-runs as % of the full run. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

# this checkout's packages, not those of the checkout the venv has installed in editable mode
REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from fresh_database import fresh_postgres_database, fresh_spark_warehouse  # noqa: E402
from measure import run_sampled, timed  # noqa: E402
from next_day import append_next_day  # noqa: E402
from run_steps import describe, run_steps  # noqa: E402

from chatsales.core.settings import Settings  # noqa: E402

POSTGRES_FLOOR = Path(__file__).resolve().with_name("floor_postgres.py")
FLOOR, FULL, AGAIN, NEXT_DAY = (
    "plain-SQL floor", "chatsales run (empty)", "no new data", "one new day"
)  # fmt: skip


@dataclass
class Run:
    name: str
    warehouse: str
    seconds: float
    cpu_seconds: float
    peak_rss_bytes: int
    exit_code: int
    load_before: float  # 1-minute load averages, at the start and at the end
    load_after: float
    log: str
    messages: int | None = None  # rows of marts.fct_messages after a `chatsales run`
    steps: dict | None = None  # where a `chatsales run`'s time went (run_steps.py)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


@dataclass
class Report:
    landing: str
    runs: list[Run] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def child_env(**variables: str) -> dict[str, str]:
    """This environment, with the checkout the bench runs from first on the import path."""
    path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, **variables}


def messages_in_summary(log: Path) -> int | None:
    """The row count of marts.fct_messages that `chatsales run` printed, if it did."""
    found = re.search(r"marts\.fct_messages\s+([\d,]+)", log.read_text(errors="replace"))
    return int(found[1].replace(",", "")) if found else None


def chatsales(*args: str) -> list[str]:
    return [sys.executable, "-m", "chatsales.app.cli", *args]


def measured(name: str, warehouse: str, command: list[str], log: Path, env: dict) -> Run:
    load = os.getloadavg()[0]
    seconds, sampled = timed(lambda: run_sampled(command, log, env=env, cwd=REPO_ROOT))
    run = Run(name, warehouse, seconds, sampled.cpu_seconds, sampled.peak_rss_bytes,
              sampled.exit_code, load, os.getloadavg()[0], str(log),
              messages_in_summary(log))  # fmt: skip
    status = "ok" if run.ok else f"FAILED (exit {run.exit_code}), log {log}"
    print(f"  {name} on {warehouse}: {seconds:.1f} s wall, {run.cpu_seconds:.1f} s CPU, "
          f"{run.peak_rss_bytes / 2**30:.2f} GB, {status}", flush=True)  # fmt: skip
    if not run.ok:
        print("".join(log.read_text(errors="replace").splitlines(True)[-15:]), flush=True)
    return run


def run_measured(name: str, kind: str, log: Path, env: dict) -> Run:
    """`chatsales run`, measured, with its steps' seconds from its Dagster instance."""
    run = measured(name, kind, chatsales("run"), log, env)
    if run.ok:
        run.steps = run_steps(Path(env["DAGSTER_HOME"]))
        print(f"    {describe(run.steps)}", flush=True)
    return run


def demo_landing(root: Path, scale: float) -> Path:
    landing = root / "landing"
    command = chatsales("demo", "--scale", str(scale), "--landing", str(landing))
    seconds, sampled = timed(lambda: run_sampled(command, root / "demo.log", env=child_env()))
    print((root / "demo.log").read_text(), end="")
    if sampled.exit_code:
        raise SystemExit(f"chatsales demo failed (exit {sampled.exit_code})")
    print(f"(generated in {seconds:.1f} s)")
    return landing


def linked_landing(source: Path, root: Path) -> Path:
    """A copy of `source` made of hard links (copies across file systems): the next day is
    written into the copy, never into the given folder."""

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    return Path(shutil.copytree(source, root / "landing", copy_function=link))


def line_count(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 24), b""))


def landing_summary(landing: Path) -> str:
    files = sorted((landing / "wazzup").glob("*.jsonl"))
    size = sum(path.stat().st_size for path in files)
    bodies = sum(line_count(path) for path in files)
    return f"{bodies:,} webhook bodies in {len(files)} files ({size / 2**20:,.0f} MB)"


def floor_run(script: Path, landing: Path, root: Path, warehouse: str, target: str) -> Run:
    """The floor script on `landing`, building into `target` (a DuckDB file or a PostgreSQL
    database URL)."""
    folder = root / f"floor-{warehouse}"
    folder.mkdir()
    command = [sys.executable, str(script), str(landing), target]
    run = measured(FLOOR, warehouse, command, folder / "floor.log", child_env())
    if run.ok:
        print(f"    the floor's own last line: {Path(run.log).read_text().splitlines()[-1]}")
    return run


def warehouse_env(root: Path, landing: Path, url: str) -> dict[str, str]:
    """A fresh warehouse's run environment: its own state, Dagster home and dbt target."""
    locations = Settings(
        warehouse_url=url, landing=landing, state_dir=root / "state", dagster_home=root / "dagster"
    ).locations()
    return child_env(
        **locations, DBT_TARGET_PATH=str(root / "dbt_target"), DBT_LOG_PATH=str(root / "dbt_logs")
    )


def measure_all(args: argparse.Namespace, root: Path, stack: ExitStack) -> Report:
    if args.landing:
        landing = linked_landing(args.landing.resolve(), root)
        report = Report(f"landing {args.landing}")
    else:
        landing = demo_landing(root, args.scale)
        report = Report(f"demo at scale {args.scale:g}")
    report.landing += f": {landing_summary(landing)}"
    print(report.landing, flush=True)

    if args.floor:
        target = str(root / "floor-duckdb" / "floor.duckdb")
        report.runs.append(floor_run(args.floor.resolve(), landing, root, "duckdb", target))
    else:
        report.notes.append("no --floor given: the DuckDB floor was skipped, no DuckDB ratios")
    if args.postgres:
        with fresh_postgres_database(args.postgres, "floor") as url:
            report.runs.append(floor_run(POSTGRES_FLOOR, landing, root, "postgres", url))
        report.notes.append("PostgreSQL runs are compared with floor_postgres.py, on wall time")
    urls = {"duckdb": f"duckdb:///{root / 'duckdb' / 'warehouse.duckdb'}"}
    if args.postgres:
        urls["postgres"] = stack.enter_context(fresh_postgres_database(args.postgres))
        report.notes.append("PostgreSQL: the server's own CPU and memory are not in the numbers")
    if args.spark:
        urls["spark"] = stack.enter_context(fresh_spark_warehouse(args.spark))
        report.notes.append(
            "Spark: the cluster's JVMs (driver, executors) are not in the CPU and memory numbers"
        )

    built = {}  # the warehouses whose full run succeeded, and their environments
    for kind, url in urls.items():
        env = warehouse_env(root / kind, landing, url)
        full = run_measured(FULL, kind, root / kind / "full.log", env)
        report.runs.append(full)
        if full.ok:
            built[kind] = env
            again = run_measured(AGAIN, kind, root / kind / "again.log", env)
            report.runs.append(again)
    path, bodies = append_next_day(landing)
    report.notes.append(f"one new day: {bodies:,} webhook bodies in {path.name}")
    for kind, env in built.items():
        log = root / kind / "next-day.log"
        report.runs.append(run_measured(NEXT_DAY, kind, log, env))
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--scale", type=float, default=1.0, help="demo scale (default 1)")
    source.add_argument("--landing", type=Path, help="an existing landing folder instead")
    parser.add_argument("--floor", type=Path, help="the plain-SQL floor script (DuckDB)")
    parser.add_argument("--postgres", help="a PostgreSQL server URL that may create databases")
    parser.add_argument("--spark", help="a running Spark cluster's spark://host:port (Thrift)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()

    started = datetime.now().astimezone()
    print(f"{started:%Y-%m-%d %H:%M %Z}, {os.cpu_count()} cores, load average "
          f"{' / '.join(f'{x:.2f}' for x in os.getloadavg())}")  # fmt: skip
    root = Path(tempfile.mkdtemp(prefix="chatsales-bench-scale-"))
    try:
        with ExitStack() as stack:
            report = measure_all(args, root, stack)
    finally:
        if args.keep:
            print(f"The landing, warehouses and logs are kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print_table(report)
    if args.json:
        document = {
            "started": started.isoformat(),
            "machine": {"cores": os.cpu_count(), "platform": platform.platform()},
            "landing": report.landing,
            "notes": report.notes,
            "runs": [asdict(run) | {"wall_and_cpu_to_floor": r, "percent_of_full": p}
                     for run, r, p in with_ratios(report.runs)],
        }  # fmt: skip
        args.json.write_text(json.dumps(document, indent=2) + "\n")
        print(f"Written to {args.json}")


def with_ratios(runs: list[Run]):
    """Each run with its ratios to the floor on its warehouse (wall time, and CPU time on
    DuckDB: on PostgreSQL the server does the work, out of the client's CPU seconds) and its
    % of the full run on its warehouse (wall time)."""
    floors = {r.warehouse: r for r in runs if r.name == FLOOR and r.ok}
    full = {r.warehouse: r for r in runs if r.name == FULL and r.ok}
    for run in runs:
        ratios, floor = None, floors.get(run.warehouse)
        if floor and run.ok:
            cpu = run.cpu_seconds / floor.cpu_seconds if run.warehouse == "duckdb" else None
            ratios = (run.seconds / floor.seconds, cpu)
        base = full.get(run.warehouse) if run.name in (AGAIN, NEXT_DAY) else None
        percent = 100 * run.seconds / base.seconds if base and run.ok else None
        yield run, ratios, percent


def to_floor(ratios: tuple[float, float | None] | None) -> str:
    if not ratios:
        return "–"
    wall, cpu = ratios
    return f"{wall:.1f}× / " + (f"{cpu:.1f}×" if cpu is not None else "–")


def print_table(report: Report) -> None:
    print(f"\n{report.landing}; load average now {os.getloadavg()[0]:.2f}")
    print(f"{'run':<24}{'warehouse':<10}{'wall':>9}{'CPU':>9}{'peak RSS':>10}"
          f"{'× floor':>16}{'% of full':>11}{'load 1 min':>13}{'messages':>11}")  # fmt: skip
    for run, ratios, percent in with_ratios(report.runs):
        wall = f"{run.seconds:.1f} s" if run.ok else "FAILED"
        print(f"{run.name:<24}{run.warehouse:<10}{wall:>9}{run.cpu_seconds:>7.1f} s"
              f"{run.peak_rss_bytes / 2**30:>7.2f} GB"
              f"{to_floor(ratios):>16}"
              f"{f'{percent:.0f} %' if percent else '–':>11}"
              f"{f'{run.load_before:.1f} → {run.load_after:.1f}':>13}"
              f"{f'{run.messages:,}' if run.messages else '–':>11}")  # fmt: skip
    print(
        "  CPU: user + system seconds of the whole process tree; × floor: wall / CPU time over "
        "the floor's on that warehouse\n  (CPU: DuckDB only); % of full: wall time over the full "
        "run's on that warehouse; messages: rows of marts.fct_messages"
    )
    for note in report.notes:
        print(f"  note: {note}")


if __name__ == "__main__":
    main()
