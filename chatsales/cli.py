"""`chatsales`: the one command-line entry of the project."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from .settings import REPO_ROOT, landing_dir


def cmd_demo(args: argparse.Namespace) -> int:
    from ingestion.demo import generate_demo

    landing = Path(args.landing) if args.landing else landing_dir()
    started = time.monotonic()
    summary = generate_demo(landing, seed=args.seed, scale=args.scale, months=args.months)
    print(f"Demo company (seed {args.seed}) written to {landing} "
          f"in {time.monotonic() - started:.1f}s:")  # fmt: skip
    for name, value in vars(summary).items():
        print(f"  {name:<20} {value:,}" if isinstance(value, int) else f"  {name:<20} {value}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from .runner import print_summary, run_pipeline

    started = time.monotonic()
    report = run_pipeline()
    print_summary(report)
    print(f"Wall time: {time.monotonic() - started:.0f}s")
    return 0 if report.success else 1


def cmd_ui(args: argparse.Namespace) -> int:
    from .runner import ensure_dagster_home, prepare_dbt

    ensure_dagster_home()
    prepare_dbt()
    dagster = Path(sys.executable).with_name("dagster")
    command = [str(dagster), "dev", "-w", "workspace.yaml", "-h", args.host, "-p", str(args.port)]
    print(f"Dagster UI on http://{args.host}:{args.port} (Ctrl-C stops it)")
    # dagster-dbt looks for `dbt` on PATH when `dagster dev` prepares the project
    env = {**os.environ, "PATH": f"{dagster.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.call(command, cwd=REPO_ROOT, env=env)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chatsales", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="write a simulated company into the landing folder")
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument("--scale", type=float, default=1.0, help="multiply dialog volume")
    demo.add_argument("--months", type=int, default=16)
    demo.add_argument("--landing", help="landing folder (default: CHATSALES_LANDING)")
    demo.set_defaults(handler=cmd_demo)

    run = commands.add_parser("run", help="load every source and build the marts via Dagster")
    run.set_defaults(handler=cmd_run)

    ui = commands.add_parser("ui", help="start the Dagster UI on this project's instance")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(handler=cmd_ui)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
