"""`chatsales superset setup|start|stop|serve|import|export|status`."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import time
from pathlib import Path

from chatsales.app.daemons import stop_daemon
from chatsales.core.settings import LANGUAGES, REPO_ROOT, settings

from . import server
from .language import MissingTranslations
from .paths import credentials, credentials_path, log_path, pid_path

BUNDLE_DIR = REPO_ROOT / "superset_exports"
LANGUAGE_NAMES = {"ru": "Russian", "en": "English"}


def _print_users(env: dict[str, str]) -> None:
    home = Path(env["SUPERSET_HOME"])
    stored = json.loads(credentials_path(home).read_text())
    admin_password = "(CHATSALES_SUPERSET_ADMIN_PASSWORD)"
    if not settings().superset_admin_password:
        admin_password = env["CHATSALES_SUPERSET_ADMIN_PASSWORD"]
    print(f"  {env['CHATSALES_SUPERSET_ADMIN_USER']:<8} Admin       {admin_password}")
    for username, password in stored.get("users", {}).items():
        role = "Sales head" if username == server.HEAD_USER else "Manager"
        print(f"  {username:<8} {role:<11} {password}")
    print(f"  (kept in {credentials_path(home)})")


def _running_pid(env: dict[str, str]) -> int | None:
    """The pid in the pidfile if that process is still our gunicorn."""
    path = pid_path(Path(env["SUPERSET_HOME"]))
    with contextlib.suppress(FileNotFoundError, ValueError):
        pid = int(path.read_text())
        with contextlib.suppress(FileNotFoundError):
            if b"gunicorn" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return pid
    return None


def cmd_setup(env: dict[str, str], args: argparse.Namespace) -> int:
    started = time.monotonic()
    print(f"Setting up Superset in {env['SUPERSET_HOME']}…", flush=True)
    users = server.setup(env)
    print(f"✓ metadata database migrated, roles and {len(users)} users provisioned "
          f"in {time.monotonic() - started:.0f}s:")  # fmt: skip
    _print_users(env)
    if len(users) == 2:
        print("  No managers yet (marts.dim_managers is empty or not built): run the pipeline,")
        print("  then `chatsales superset setup` again to add their users.")
    return 0


def cmd_start(env: dict[str, str], args: argparse.Namespace) -> int:
    url = env["CHATSALES_SUPERSET_URL"]
    if (pid := _running_pid(env)) and server.is_healthy(url):
        print(f"Superset is already running (pid {pid}) at {url}")
        return 0
    log, pidfile = log_path(), pid_path(Path(env["SUPERSET_HOME"]))
    proc = server.start(env, log)
    pidfile.write_text(str(proc.pid))
    try:
        seconds = server.wait_healthy(url, timeout=args.timeout, proc=proc)
    except (RuntimeError, TimeoutError) as exc:
        server.stop(proc)
        pidfile.unlink(missing_ok=True)
        print(f"✗ {exc}; see {log}")
        return 1
    print(f"✓ Superset at {url} (pid {proc.pid}, healthy in {seconds:.0f}s; log {log})")
    return 0


def cmd_stop(env: dict[str, str], args: argparse.Namespace) -> int:
    pid = _running_pid(env)
    if pid is None:
        print("Superset is not running")
    else:
        stop_daemon(pid)
        print(f"✓ stopped Superset (pid {pid})")
    pid_path(Path(env["SUPERSET_HOME"])).unlink(missing_ok=True)
    return 0


def cmd_serve(env: dict[str, str], args: argparse.Namespace) -> int:
    proc = server.start(env, None)
    print(f"Superset on {env['CHATSALES_SUPERSET_URL']} (Ctrl-C stops it)", flush=True)

    def stop_and_exit(signum, frame):
        server.stop(proc)
        raise SystemExit(0)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop_and_exit)
    return proc.wait()


def cmd_status(env: dict[str, str], args: argparse.Namespace) -> int:
    url, pid = env["CHATSALES_SUPERSET_URL"], _running_pid(env)
    healthy = server.is_healthy(url)
    state = "healthy" if healthy else "not answering"
    print(f"Superset at {url}: {state}" + (f" (pid {pid})" if pid else ""))
    print(f"  home {env['SUPERSET_HOME']}, users in {credentials_path(Path(env['SUPERSET_HOME']))}")
    return 0 if healthy else 1


def cmd_import(env: dict[str, str], args: argparse.Namespace) -> int:
    from .client import import_bundle

    if not (args.bundle / "metadata.yaml").exists():
        print(f"✗ {args.bundle} holds no export bundle (metadata.yaml)")
        return 2
    admin = env["CHATSALES_SUPERSET_ADMIN_USER"], env["CHATSALES_SUPERSET_ADMIN_PASSWORD"]
    language = args.language or settings().language
    started = time.monotonic()
    reader_password = credentials(Path(env["SUPERSET_HOME"]))["reader_password"]
    try:
        result = import_bundle(env["CHATSALES_SUPERSET_URL"], *admin, args.bundle,
                               env["CHATSALES_WAREHOUSE"], language,
                               reader_password=reader_password)  # fmt: skip
    except MissingTranslations as missing:
        print(f"✗ {missing}")
        return 2
    print(f"✓ imported {args.bundle} in {LANGUAGE_NAMES[language]} in "
          f"{time.monotonic() - started:.1f}s: "
          f"{len(result['dashboards'])} dashboards, {result['charts']} charts")  # fmt: skip
    for slug in result["dashboards"]:
        print(f"  {env['CHATSALES_SUPERSET_URL']}/superset/dashboard/{slug}/")
    print(f"  row-level security (Manager sees own manager_id) on "
          f"{len(result['rls_datasets'])} datasets")  # fmt: skip
    return 0


def cmd_export(env: dict[str, str], args: argparse.Namespace) -> int:
    from .client import export_bundle

    admin = env["CHATSALES_SUPERSET_ADMIN_USER"], env["CHATSALES_SUPERSET_ADMIN_PASSWORD"]
    try:
        files = export_bundle(env["CHATSALES_SUPERSET_URL"], *admin, args.out)
    except MissingTranslations as missing:
        print(f"✗ the export is not all in one language: {missing}")
        return 2
    print(
        f"✓ exported {len(files)} files into {args.out} in English (database URI back to "
        "the placeholder)"
    )
    return 0


ACTIONS = {
    "setup": (cmd_setup, "migrate Superset's metadata DB, provision roles and users"),
    "start": (cmd_start, "start Superset in the background (pidfile, log in data/logs)"),
    "stop": (cmd_stop, "stop the background Superset"),
    "serve": (cmd_serve, "run Superset in the foreground"),
    "import": (cmd_import, "import superset_exports/ in a language, apply row-level security"),
    "export": (cmd_export, "export every dashboard into superset_exports/ (in English)"),
    "status": (cmd_status, "is Superset answering, and where"),
}


def add_parser(commands) -> None:
    parser = commands.add_parser("superset", help="the Superset dashboards (own virtualenv)")
    actions = parser.add_subparsers(dest="action", required=True)
    for name, (handler, help_text) in ACTIONS.items():
        action = actions.add_parser(name, help=help_text)
        action.set_defaults(handler=run, superset_handler=handler)
        if name == "start":
            action.add_argument("--timeout", type=float, default=180)
        if name == "import":
            action.add_argument("--bundle", type=Path, default=BUNDLE_DIR)
            action.add_argument(
                "--language",
                choices=LANGUAGES,
                help="the dashboards' language (default CHATSALES_LANGUAGE, else ru)",
            )
        if name == "export":
            action.add_argument("--out", type=Path, default=BUNDLE_DIR)


def run(args: argparse.Namespace) -> int:
    import requests

    from .client import SupersetError

    env = server.superset_env()
    try:
        return args.superset_handler(env, args)
    except requests.ConnectionError:
        print(f"✗ nothing answers at {env['CHATSALES_SUPERSET_URL']}: `chatsales superset start`")
    except (SupersetError, RuntimeError) as exc:
        print(f"✗ {exc}")
    return 1
