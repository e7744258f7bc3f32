"""Where Superset lives and what it is called with: home, virtualenv, port, secrets."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from chatsales.settings import REPO_ROOT, state_dir

HOST = "127.0.0.1"
DEFAULT_PORT = 8088
PACKAGE_DIR = Path(__file__).resolve().parent
CONFIG_PATH = PACKAGE_DIR / "superset_config.py"
PROVISION_SCRIPT = PACKAGE_DIR / "provision.py"


def superset_venv() -> Path:
    raw = os.environ.get("CHATSALES_SUPERSET_VENV")
    return Path(raw) if raw else REPO_ROOT / ".venv-superset"


def superset_home() -> Path:
    return state_dir() / "superset"


def superset_port() -> int:
    return int(os.environ.get("CHATSALES_SUPERSET_PORT") or DEFAULT_PORT)


def base_url(port: int | None = None) -> str:
    return f"http://{HOST}:{port or superset_port()}"


def log_path() -> Path:
    return state_dir() / "logs" / "superset.log"


def pid_path(home: Path | None = None) -> Path:
    return (home or superset_home()) / "superset.pid"


def credentials_path(home: Path) -> Path:
    return home / "credentials.json"


def credentials(home: Path, usernames: tuple[str, ...] = ()) -> dict:
    """The secret key, the admin and the demo users' passwords.

    The env vars win; whatever they leave unset is generated once and kept in
    `<home>/credentials.json` (mode 600), so restarts keep sessions and passwords.
    """
    path = credentials_path(home)
    stored = json.loads(path.read_text()) if path.exists() else {}
    before = json.dumps(stored, sort_keys=True)
    if not os.environ.get("CHATSALES_SUPERSET_SECRET_KEY"):
        stored.setdefault("secret_key", secrets.token_urlsafe(42))
    if not os.environ.get("CHATSALES_SUPERSET_ADMIN_PASSWORD"):
        stored.setdefault("admin_password", secrets.token_urlsafe(12))
    users = stored.setdefault("users", {})
    for username in usernames:
        users.setdefault(username, secrets.token_urlsafe(9))
    if json.dumps(stored, sort_keys=True) != before:
        home.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(json.dumps(stored, indent=2) + "\n")
    return {
        "secret_key": os.environ.get("CHATSALES_SUPERSET_SECRET_KEY") or stored["secret_key"],
        "admin_user": os.environ.get("CHATSALES_SUPERSET_ADMIN_USER") or "admin",
        "admin_password": (
            os.environ.get("CHATSALES_SUPERSET_ADMIN_PASSWORD") or stored["admin_password"]
        ),
        "users": users,
    }
