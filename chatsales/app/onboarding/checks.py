"""Each configured secret tried against what it opens, and the outcome in words. A check never
prints the secret: the errors it quotes name the request, never the key or the URL's token."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from chatsales.core.settings import Warehouse
from chatsales.core.warehouse import driver_errors, error_line, query
from ingestion.amocrm.client import AmoCrmError
from ingestion.bitrix24.client import Bitrix24Error
from ingestion.wazzup.api import WazzupApiError

# a token shorter than this is guessable by whoever finds the receiver's address
MIN_WEBHOOK_TOKEN = 24
T = TypeVar("T")


@dataclass(frozen=True)
class Check:
    name: str  # the setting, as the operator sets it
    state: str  # works, failed, unset
    detail: str

    def line(self) -> str:
        mark = {"works": "✓", "failed": "✗", "unset": "–"}[self.state]
        return f"  {mark} {self.name}: {self.detail}"


def tried(name: str, call: Callable[[], T], describe: Callable[[T], str]) -> tuple[Check, T | None]:
    """Call what the secret opens: it works when the call answers."""
    try:
        answer = call()
    except (WazzupApiError, AmoCrmError, Bitrix24Error) as exc:
        return Check(name, "failed", str(exc)), None
    return Check(name, "works", describe(answer)), answer


def unset(name: str, consequence: str) -> Check:
    return Check(name, "unset", f"not set: {consequence}")


def webhook_token_check(token: str | None) -> Check:
    name = "CHATSALES_WAZZUP_WEBHOOK_TOKEN"
    if not token:
        make_one = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
        return unset(name, f"the receiver will not start; make one with `{make_one}`")
    if len(token) < MIN_WEBHOOK_TOKEN:
        return Check(name, "failed", f"{len(token)} characters; use at least {MIN_WEBHOOK_TOKEN}")
    return Check(name, "works", f"set ({len(token)} characters)")


def warehouse_check(target: Warehouse) -> Check:
    name = "CHATSALES_WAREHOUSE"
    if target.kind == "duckdb":
        return Check(name, "works", f"{target.display_name} (a file: no password to check)")
    try:
        query("select 1", target)
    except driver_errors(target) as exc:
        return Check(name, "failed", f"{target.display_name}: {error_line(exc)}")
    return Check(name, "works", f"{target.display_name} answers")
