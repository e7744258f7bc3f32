"""A throwaway PostgreSQL 15 server for the test session (or `TEST_PG_URL` when set).

TCP connections need a password (scram-sha-256), as on a real server: the session URL carries
the superuser's, and it holds the characters a URL must quote, so every PostgreSQL test
exercises how the project passes a password on. The socket stays `trust`, for nobody here."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(*command: str) -> list[str]:
    # initdb refuses to run as root; the Debian package creates the postgres user.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


class PostgresServer:
    """A fresh server: initdb into a temp dir, random port, socket in that dir. `stop` and
    `start` take it down and bring it back on the same port and data (the fault tests)."""

    def __init__(self) -> None:
        if not (PG_BIN / "initdb").exists():
            raise RuntimeError(
                f"PostgreSQL 15 binaries not found in {PG_BIN}: run scripts/test.sh (installs "
                "Debian's postgresql) or set TEST_PG_URL"
            )
        self.root = Path(tempfile.mkdtemp(prefix="chatsales-pg-", dir="/tmp"))
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        self.data, self.log, self.port = self.root / "data", self.root / "server.log", free_port()
        password = f"{secrets.token_urlsafe(12)}@/:%#"
        pwfile = self.root / "pwfile"
        pwfile.write_text(password + "\n")
        if os.geteuid() == 0:
            shutil.chown(pwfile, "postgres")
        try:
            subprocess.run(
                _as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                             f"--pwfile={pwfile}", "--auth-local=trust",
                             "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync"),
                check=True, capture_output=True,
            )  # fmt: skip
        finally:
            pwfile.unlink()
        self.url = (
            f"postgresql://postgres:{quote(password, safe='')}@127.0.0.1:{self.port}/postgres"
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c password_encryption=scram-sha-256"
        )
        subprocess.run(
            _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                         "-w", "-o", options, "start"),
            check=True, capture_output=True,
        )  # fmt: skip

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server; `fast` as an administrator's restart, `immediate` as a crash."""
        subprocess.run(
            _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"),
            capture_output=True,
        )

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """Yield a URL of a fresh server (or `TEST_PG_URL` when set)."""
    if url := os.environ.get("TEST_PG_URL"):
        yield url
        return
    server = PostgresServer()
    server.start()
    try:
        yield server.url
    finally:
        server.remove()


def fresh_database(server_url: str, name: str) -> str:
    """The URL of database `name` on the server of `server_url`, dropped and created empty."""
    import psycopg2

    from chatsales.core.settings import Warehouse

    server = Warehouse(server_url)
    admin = psycopg2.connect(**server.postgres, connect_timeout=10)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f"drop database if exists {name} with (force)")
            cursor.execute(f"create database {name}")
    finally:
        admin.close()
    return server.postgres_url(database=name)
