"""The four components `chatsales serve` supervises, in the order they stop: the receiver
first (it publishes its open file; nothing it acknowledged is lost), then the Dagster daemon
(it launches runs), the Dagster webserver, and Superset."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from chatsales.app.superset.paths import HOST as SUPERSET_HOST
from chatsales.core.settings import REPO_ROOT, Settings

from .health import DaemonHeartbeats, http_ok
from .supervisor import ChildSpec

COMPONENTS = ("receiver", "daemon", "webserver", "superset")
WORKSPACE = REPO_ROOT / "workspace.yaml"
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class ServeOptions:
    receiver_host: str
    receiver_port: int
    dagster_host: str
    dagster_port: int
    superset_port: int
    landing: Path
    rotate_seconds: int
    without: frozenset[str]
    stop_timeout: float

    @property
    def components(self) -> list[str]:
        return [name for name in COMPONENTS if name not in self.without]

    def addresses(self) -> dict[str, str]:
        """Where each chosen component answers (the receiver's token left out)."""
        every = {
            "receiver": f"http://{self.receiver_host}:{self.receiver_port}/wazzup/<token>",
            "webserver": f"http://{self.dagster_host}:{self.dagster_port}",
            "superset": f"http://{SUPERSET_HOST}:{self.superset_port}",
        }
        return {name: url for name, url in every.items() if name in self.components}


def _probe_host(host: str) -> str:
    """Where this machine reaches a server listening on `host`."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)


def _url(host: str, port: int, path: str) -> str:
    host = _probe_host(host)
    return f"http://{f'[{host}]' if ':' in host else host}:{port}{path}"


def receiver(options: ServeOptions) -> ChildSpec:
    command = [
        sys.executable, "-m", "chatsales.app.cli", "receiver",
        "--host", options.receiver_host, "--port", str(options.receiver_port),
        "--landing", str(options.landing), "--rotate-seconds", str(options.rotate_seconds),
    ]  # fmt: skip
    health = _url(options.receiver_host, options.receiver_port, "/health")
    return ChildSpec(
        "receiver", command, dict(os.environ), REPO_ROOT,
        healthy=lambda _: http_ok(health), start_grace=60, stop_timeout=options.stop_timeout,
    )  # fmt: skip


def dagster_env(config: Settings) -> dict[str, str]:
    """As `chatsales ui` runs Dagster: the locations named, dbt on PATH (dagster-dbt looks
    for it there), the storage password in its variable (ensure_dagster_home set it)."""
    env = {**os.environ, **config.locations()}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def daemon(options: ServeOptions, config: Settings) -> ChildSpec:
    command = [str(BIN / "dagster-daemon"), "run", "-w", str(WORKSPACE)]
    return ChildSpec(
        "daemon", command, dagster_env(config), REPO_ROOT,
        healthy=DaemonHeartbeats(config.dagster_home), start_grace=240, check_every=5,
        stop_timeout=options.stop_timeout,
    )  # fmt: skip


def webserver(options: ServeOptions, config: Settings) -> ChildSpec:
    command = [
        str(BIN / "dagster-webserver"), "-w", str(WORKSPACE),
        "-h", options.dagster_host, "-p", str(options.dagster_port),
    ]  # fmt: skip
    health = _url(options.dagster_host, options.dagster_port, "/server_info")
    return ChildSpec(
        "webserver", command, dagster_env(config), REPO_ROOT,
        healthy=lambda _: http_ok(health), start_grace=240, stop_timeout=options.stop_timeout,
    )  # fmt: skip


def superset(options: ServeOptions) -> ChildSpec:
    from chatsales.app.superset import server

    env = server.superset_env(port=options.superset_port)
    return ChildSpec(
        "superset", server.gunicorn_command(env), env, Path(env["SUPERSET_HOME"]),
        healthy=lambda _: server.is_healthy(env["CHATSALES_SUPERSET_URL"]), start_grace=300,
        failed_checks=5,
        stop_timeout=options.stop_timeout,
    )  # fmt: skip


def child_specs(options: ServeOptions, config: Settings) -> list[ChildSpec]:
    """The specs of the chosen components, in stop order."""
    make = {
        "receiver": lambda: receiver(options),
        "daemon": lambda: daemon(options, config),
        "webserver": lambda: webserver(options, config),
        "superset": lambda: superset(options),
    }
    return [make[name]() for name in options.components]


def secrets(config: Settings, specs: list[ChildSpec]) -> list[str]:
    """Every secret a component gets: the settings' own, the warehouse's and the Dagster
    storage's passwords, and Superset's generated keys and passwords (from its env)."""
    values = [
        field.get_secret_value()
        for field in vars(config).values()
        if hasattr(field, "get_secret_value") and field is not None
    ]
    if config.warehouse.kind == "postgres":
        values.append(config.warehouse.postgres["password"])
    for spec in specs:
        values += [v for k, v in spec.env.items() if _is_secret_name(k)]
    return values


def _is_secret_name(name: str) -> bool:
    name = name.upper()
    return any(word in name for word in ("PASSWORD", "SECRET", "TOKEN", "API_KEY", "WEBHOOK_URL"))
