"""Where Superset lives and what it is called with: home, virtualenv, port, secrets."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from chatsales.core.settings import secret_value, settings, state_dir

HOST = "127.0.0.1"
PACKAGE_DIR = Path(__file__).resolve().parent
CONFIG_PATH = PACKAGE_DIR / "superset_config.py"
PROVISION_SCRIPT = PACKAGE_DIR / "provision.py"


def superset_venv() -> Path:
    return settings().superset_venv


def superset_home() -> Path:
    return state_dir() / "superset"


def superset_port() -> int:
    return settings().superset_port


def base_url(port: int | None = None) -> str:
    return f"http://{HOST}:{port or superset_port()}"


def log_path() -> Path:
    return state_dir() / "logs" / "superset.log"


def pid_path(home: Path | None = None) -> Path:
    return (home or superset_home()) / "superset.pid"


def credentials_path(home: Path) -> Path:
    return home / "credentials.json"


def credentials(home: Path, usernames: tuple[str, ...] = ()) -> dict:
    """The secret key, the admin's, the demo users' and the PostgreSQL reader's passwords.

    The env vars win; whatever they leave unset is generated once and kept in
    `<home>/credentials.json` (mode 600), so restarts keep sessions and passwords.
    """
    config = settings()
    path = credentials_path(home)
    stored = json.loads(path.read_text()) if path.exists() else {}
    before = json.dumps(stored, sort_keys=True)
    if not config.superset_secret_key:
        stored.setdefault("secret_key", secrets.token_urlsafe(42))
    if not config.superset_admin_password:
        stored.setdefault("admin_password", secrets.token_urlsafe(12))
    stored.setdefault("reader_password", secrets.token_urlsafe(24))
    users = stored.setdefault("users", {})
    for username in usernames:
        users.setdefault(username, secrets.token_urlsafe(9))
    if json.dumps(stored, sort_keys=True) != before:
        home.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(json.dumps(stored, indent=2) + "\n")
    return {
        "secret_key": secret_value(config.superset_secret_key) or stored["secret_key"],
        "admin_user": config.superset_admin_user,
        "admin_password": secret_value(config.superset_admin_password) or stored["admin_password"],
        "users": users,
        "reader_password": stored["reader_password"],
    }
