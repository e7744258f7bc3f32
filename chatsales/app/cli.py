"""`chatsales`: the one command-line entry of the project."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from chatsales.core.settings import REPO_ROOT, landing_dir, record_history_start, settings

from .spark.commands import add_parser as add_spark_parser
from .superset.commands import add_parser as add_superset_parser


def cmd_demo(args: argparse.Namespace) -> int:
    from chatsales.app.demo import generate_demo

    landing = Path(args.landing) if args.landing else landing_dir()
    started = time.monotonic()
    summary = generate_demo(landing, seed=args.seed, scale=args.scale, months=args.months)
    print(f"Demo company (seed {args.seed}) written to {landing} "
          f"in {time.monotonic() - started:.1f}s:")  # fmt: skip
    for name, value in vars(summary).items():
        print(f"  {name:<20} {value:,}" if isinstance(value, int) else f"  {name:<20} {value}")
    # the daily partitions start where the demo's history does (unless data starts earlier)
    record_history_start(summary.first_day)
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    from .onboarding import initialize
    from .onboarding.report import print_report

    landing = Path(args.landing) if args.landing else landing_dir()
    report = initialize(landing, public_url=args.public_url, dry_run=args.dry_run)
    print_report(report, args.dry_run)
    failed = [c for c in [*report.checks, report.subscription] if c and c.state == "failed"]
    return 1 if failed else 0


def cmd_backup(args: argparse.Namespace) -> int:
    from .backup import BackupError, backup, restore

    backing_up = args.command == "backup"
    action, verb = (backup, "Backed up into") if backing_up else (restore, "Restored from")
    try:
        action(Path(args.folder), print)
    except BackupError as exc:
        print(f"✗ {args.command}: {exc}", file=sys.stderr)
        return 2
    print(f"{verb} {args.folder}.")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from orchestration.runner import print_summary, run_pipeline

    started = time.monotonic()
    report = run_pipeline(full_refresh=args.full_refresh)
    print_summary(report)
    print(f"Wall time: {time.monotonic() - started:.0f}s")
    return 0 if report.success else 1


def cmd_ui(args: argparse.Namespace) -> int:
    from orchestration.dbt_manifest import prepare_dbt
    from orchestration.instance import ensure_dagster_home

    ensure_dagster_home()
    prepare_dbt()
    dagster = Path(sys.executable).with_name("dagster")
    command = [str(dagster), "dev", "-w", "workspace.yaml", "-h", args.host, "-p", str(args.port)]
    print(f"Dagster UI on http://{args.host}:{args.port} (Ctrl-C stops it)")
    # dagster-dbt looks for `dbt` on PATH when `dagster dev` prepares the project
    env = dict(os.environ)
    env["PATH"] = f"{dagster.parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(settings().locations())
    return subprocess.call(command, cwd=REPO_ROOT, env=env)


def cmd_import(args: argparse.Namespace) -> int:
    from .importer import ImportRejected, import_export

    landing = Path(args.landing) if args.landing else landing_dir()
    try:
        report = import_export(args.kind, Path(args.file), args.manager, landing)
    except ImportRejected as exc:
        print(f"✗ not imported: {exc}", file=sys.stderr)
        return 2
    state = "already imported" if report.already_imported else "imported"
    print(f"✓ {state}: {report.target} ({report.messages:,} messages", end="")
    print(f", {report.quarantined} lines will be quarantined)" if report.quarantined else ")")
    print("The next `chatsales run` loads it.")
    return 0


def cmd_intervention_add(args: argparse.Namespace) -> int:
    from ingestion.directory import ManagerDirectory
    from ingestion.directory import interventions as intervention_file

    landing = Path(args.landing) if args.landing else landing_dir()
    path = landing / intervention_file.FILE_NAME
    row = {
        "intervention_id": args.id, "event_date": args.date, "manager_id": args.manager,
        "kind": args.kind, "title": args.title, "description": args.description,
        "expected_metric": args.expected_metric, "expected_direction": args.expected_direction,
    }  # fmt: skip
    managers = set(ManagerDirectory.read(landing / "managers.csv").managers)
    try:
        added, is_new = intervention_file.add(path, row, managers)
    except intervention_file.InterventionRejected as exc:
        print(f"✗ not added: {exc}", file=sys.stderr)
        return 2
    state = "added" if is_new else "already there"
    expect = f"expect {added['expected_metric']} {added['expected_direction']}"
    print(f"✓ {state}: {added['intervention_id']} "
          f"({added['event_date']}, {added['manager_id']}, {expect}) in {path}")  # fmt: skip
    print("The next `chatsales run` measures it (mart_interventions).")
    return 0


def cmd_receiver(args: argparse.Namespace) -> int:
    from chatsales.app.receiver import serve

    token = settings().wazzup_webhook_token
    if not token:
        print("✗ set CHATSALES_WAZZUP_WEBHOOK_TOKEN (a long random secret)", file=sys.stderr)
        return 2
    landing = Path(args.landing) if args.landing else landing_dir()
    print(f"Wazzup webhooks on http://{args.host}:{args.port}/wazzup/<token> → {landing}/wazzup")
    try:
        serve(
            landing, args.host, args.port, token.get_secret_value(),
            rotate_seconds=args.rotate_seconds,
        )  # fmt: skip
    except ValueError as exc:
        print(f"✗ wazzup receiver: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from chatsales.app.serve import serve
    from chatsales.app.serve.components import COMPONENTS, ServeOptions

    config = settings()
    without = frozenset(args.without or config.serve_without)
    if unknown := without - set(COMPONENTS):
        print(f"✗ no component {', '.join(sorted(unknown))} (of {', '.join(COMPONENTS)})",
              file=sys.stderr)  # fmt: skip
        return 2
    if "receiver" not in without and not config.wazzup_webhook_token:
        print("✗ set CHATSALES_WAZZUP_WEBHOOK_TOKEN (a long random secret), or "
              "--without receiver", file=sys.stderr)  # fmt: skip
        return 2
    if "superset" not in without:
        from .superset.paths import credentials_path, superset_home, superset_venv

        if not (superset_venv() / "bin" / "gunicorn").exists():
            print(f"✗ no Superset in {superset_venv()}: run scripts/setup_superset.sh, or "
                  "--without superset", file=sys.stderr)  # fmt: skip
            return 2
        if not credentials_path(superset_home()).exists():
            print("! Superset is not set up: run `chatsales superset setup` and `import`",
                  file=sys.stderr)  # fmt: skip
    options = ServeOptions(
        receiver_host=args.receiver_host or config.receiver_host,
        receiver_port=args.receiver_port or config.receiver_port,
        dagster_host=args.dagster_host or config.dagster_ui_host,
        dagster_port=args.dagster_port or config.dagster_ui_port,
        superset_port=args.superset_port or config.superset_port,
        landing=Path(args.landing) if args.landing else landing_dir(),
        rotate_seconds=args.rotate_seconds,
        without=without,
        stop_timeout=config.serve_stop_timeout,
    )
    return serve(options)


def cmd_wazzup_subscribe(args: argparse.Namespace) -> int:
    from ingestion.wazzup.api import WazzupApiError, subscribe_webhook

    api_key = settings().wazzup_api_key
    if not api_key:
        print("✗ set SOURCES__WAZZUP_API__API_KEY (the Wazzup API key)", file=sys.stderr)
        return 2
    try:
        subscribe_webhook(api_key.get_secret_value(), args.url)
    except WazzupApiError as exc:
        print(f"✗ Wazzup refused the subscription: {exc}", file=sys.stderr)
        return 1
    print(f"✓ Wazzup will POST messages, statuses and channel updates to {args.url}")
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    from .docs import main as docs_main

    return docs_main(args.host, args.port, args.no_serve)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chatsales", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="write a simulated company into the landing folder")
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument("--scale", type=float, default=1.0, help="multiply dialog volume")
    demo.add_argument("--months", type=int, default=16)
    demo.add_argument("--landing", help="landing folder (default: CHATSALES_LANDING)")
    demo.set_defaults(handler=cmd_demo)

    init = commands.add_parser(
        "init", help="draft managers.csv from Wazzup and the CRM, check the secrets (safe to rerun)"
    )
    init.add_argument(
        "--public-url", help="the receiver's public https URL: point Wazzup's webhooks at it"
    )
    init.add_argument("--dry-run", action="store_true", help="print, change nothing")
    init.add_argument("--landing", help="landing folder (default: CHATSALES_LANDING)")
    init.set_defaults(handler=cmd_init)

    run = commands.add_parser("run", help="load every source and build the marts via Dagster")
    run.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild incremental models from all history (needed after editing managers.csv)",
    )
    run.set_defaults(handler=cmd_run)

    for name, helping in [
        ("backup", "copy the landing folder, state, Dagster's history and the warehouse into "
                   "a new folder"),
        ("restore", "put a backup back where this machine's settings say (empty places only)"),
    ]:  # fmt: skip
        command = commands.add_parser(name, help=helping)
        command.add_argument("folder")
        command.set_defaults(handler=cmd_backup)

    imported = commands.add_parser(
        "import", help="check a WhatsApp/Telegram chat export and put it in the landing folder"
    )
    imported.add_argument("kind", choices=["whatsapp", "telegram"])
    imported.add_argument("file", help="the .txt (WhatsApp) or result.json (Telegram) export")
    imported.add_argument("--manager", required=True, help="manager_id from managers.csv")
    imported.add_argument("--landing", help="landing folder (default: CHATSALES_LANDING)")
    imported.set_defaults(handler=cmd_import)

    intervention = commands.add_parser(
        "intervention", help="hypotheses: dated events whose effect mart_interventions measures"
    )
    intervention_actions = intervention.add_subparsers(dest="action", required=True)
    add = intervention_actions.add_parser(
        "add", help="add a row to <landing>/interventions.csv (measured by the next run)"
    )
    add.add_argument("--date", required=True, help="YYYY-MM-DD, the first day of the change")
    add.add_argument("--manager", required=True, help="manager_id from managers.csv, or all")
    add.add_argument("--kind", required=True, help="script, training, team_change, campaign, other")
    add.add_argument("--title", required=True, help="one line naming the event")
    add.add_argument("--description", default="", help="optional details")
    add.add_argument(
        "--expected-metric", required=True, help="the metric it should move, e.g. conversion_rate"
    )
    add.add_argument("--expected-direction", required=True, help="up or down")
    add.add_argument("--id", default="", help="intervention_id (default: date_manager_title)")
    add.add_argument("--landing", help="landing folder (default: CHATSALES_LANDING)")
    add.set_defaults(handler=cmd_intervention_add)

    receiver = commands.add_parser(
        "receiver", help="receive Wazzup webhooks into the landing folder (token from env)"
    )
    receiver.add_argument("--host", default="127.0.0.1")
    receiver.add_argument("--port", type=int, default=8000)
    receiver.add_argument("--landing", help="landing folder (default: CHATSALES_LANDING)")
    receiver.add_argument(
        "--rotate-seconds", type=int, default=60, help="publish the open file this often"
    )
    receiver.set_defaults(handler=cmd_receiver)

    served = commands.add_parser(
        "serve",
        help="run the receiver, the Dagster daemon and UI, and Superset; restart what dies",
    )
    served.add_argument("--receiver-host", help="default CHATSALES_RECEIVER_HOST, 127.0.0.1")
    served.add_argument("--receiver-port", type=int, help="default CHATSALES_RECEIVER_PORT, 8000")
    served.add_argument("--dagster-host", help="default CHATSALES_DAGSTER_UI_HOST, 127.0.0.1")
    served.add_argument("--dagster-port", type=int, help="default CHATSALES_DAGSTER_UI_PORT, 3000")
    served.add_argument("--superset-port", type=int, help="default CHATSALES_SUPERSET_PORT, 8088")
    served.add_argument("--landing", help="landing folder (default: CHATSALES_LANDING)")
    served.add_argument(
        "--rotate-seconds", type=int, default=60, help="the receiver publishes its file this often"
    )
    served.add_argument(
        "--without",
        action="append",
        metavar="COMPONENT",
        help="leave out receiver, daemon, webserver or superset (repeatable; default "
        "CHATSALES_SERVE_WITHOUT)",
    )
    served.set_defaults(handler=cmd_serve)

    wazzup = commands.add_parser("wazzup", help="Wazzup API actions")
    wazzup_actions = wazzup.add_subparsers(dest="action", required=True)
    subscribe = wazzup_actions.add_parser("subscribe", help="point Wazzup's webhooks at a URL")
    subscribe.add_argument("--url", required=True, help="public URL of `chatsales receiver`")
    subscribe.set_defaults(handler=cmd_wazzup_subscribe)

    ui = commands.add_parser("ui", help="start the Dagster UI on this project's instance")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(handler=cmd_ui)

    docs = commands.add_parser(
        "docs", help="generate dbt docs (the metric definitions) from the warehouse and serve them"
    )
    docs.add_argument("--host", default="127.0.0.1")
    docs.add_argument("--port", type=int, default=8080)
    docs.add_argument("--no-serve", action="store_true", help="only generate; print the folder")
    docs.set_defaults(handler=cmd_docs)
    add_superset_parser(commands)
    add_spark_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
