"""`chatsales init`: from the APIs to a drafted `managers.csv`, checked secrets and, given the
receiver's public URL, Wazzup's webhooks pointed at it. Safe to run again: it adds, it never
undoes what a person decided in the file (managers_file.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import dlt

from chatsales.core.settings import reporting_timezone, secret_value, settings, state_dir
from ingestion.wazzup.api import BASE_URL, WazzupApi

from . import accounts, checks
from .managers_file import Merge, merge, read_proposed, read_rows, write_proposed, write_rows
from .matching import Draft, draft

WEBHOOK_PATH = "/wazzup/"


@dataclass
class InitReport:
    managers_path: Path
    checks: list[checks.Check] = field(default_factory=list)
    draft: Draft | None = None
    merge: Merge | None = None
    subscription: checks.Check | None = None


def redacted_webhook_url(public_url: str) -> str:
    return f"{public_url.rstrip('/')}{WEBHOOK_PATH}<CHATSALES_WAZZUP_WEBHOOK_TOKEN>"


def initialize(landing: Path, public_url: str | None = None, dry_run: bool = False) -> InitReport:
    config = settings()
    report = InitReport(landing / "managers.csv")
    token = secret_value(config.wazzup_webhook_token)
    report.checks += [
        checks.warehouse_check(config.warehouse),
        checks.webhook_token_check(token),
    ]
    api, wazzup_users, channels = _wazzup(report, secret_value(config.wazzup_api_key))
    crm_users = _amocrm_users(report, landing) + _bitrix24_users(report, landing)
    webhooks = accounts.landed(landing)
    channels += webhooks.channels(channels)
    report.draft = draft(crm_users, wazzup_users, channels, webhooks.authors)

    ledger = state_dir() / "init" / "proposed.json"
    header, rows = read_rows(report.managers_path)
    report.merge = merge(rows, report.draft.people, read_proposed(ledger), reporting_timezone())
    if not dry_run:
        if report.merge.changed:
            landing.mkdir(parents=True, exist_ok=True)
            write_rows(report.managers_path, header, report.merge.rows)
        write_proposed(ledger, report.merge.proposed)
    if public_url:
        report.subscription = _subscribe(api, token, public_url, dry_run)
    return report


def _wazzup(report: InitReport, key: str | None):
    name = "SOURCES__WAZZUP_API__API_KEY"
    if not key:
        report.checks.append(checks.unset(name, "Wazzup's users and channels are not read"))
        return None, [], []
    api = WazzupApi(key, dlt.config.get("sources.wazzup_api.base_url") or BASE_URL)
    check, answer = checks.tried(
        name,
        lambda: (accounts.wazzup_users(api), accounts.wazzup_channels(api)),
        lambda got: f"works ({len(got[1])} channels, {len(got[0])} users)",
    )
    report.checks.append(check)
    return (api, *answer) if answer else (None, [], [])


def _amocrm_users(report: InitReport, landing: Path) -> list[accounts.UserAccount]:
    base_url = dlt.config.get("sources.amocrm.base_url")
    token = dlt.secrets.get("sources.amocrm.access_token")
    if not (base_url and token):
        return accounts.amocrm_users(accounts.amocrm_pages(None, None, landing))  # saved pages
    check, users = checks.tried(
        "SOURCES__AMOCRM__ACCESS_TOKEN",
        lambda: accounts.amocrm_users(accounts.amocrm_pages(base_url, token, landing)),
        lambda got: f"works ({len(got)} users)",
    )
    report.checks.append(check)
    return users or []


def _bitrix24_users(report: InitReport, landing: Path) -> list[accounts.UserAccount]:
    webhook_url = dlt.secrets.get("sources.bitrix24.webhook_url")
    if not webhook_url:
        return accounts.bitrix24_users(accounts.bitrix24_pages(None, landing))  # saved pages
    check, users = checks.tried(
        "SOURCES__BITRIX24__WEBHOOK_URL",
        lambda: accounts.bitrix24_users(accounts.bitrix24_pages(webhook_url, landing)),
        lambda got: f"works ({len(got)} users)",
    )
    report.checks.append(check)
    return users or []


def _subscribe(api: WazzupApi | None, token: str | None, public_url: str, dry_run: bool):
    name = "--public-url"
    shown = redacted_webhook_url(public_url)
    if api is None or not token:
        return checks.Check(name, "failed", "needs a working Wazzup API key and a webhook token")
    if dry_run:
        return checks.Check(name, "unset", f"dry run: would point Wazzup's webhooks at {shown}")
    check, _ = checks.tried(
        name,
        lambda: api.subscribe_webhook(f"{public_url.rstrip('/')}{WEBHOOK_PATH}{token}"),
        lambda _: f"Wazzup posts messages, statuses and channel updates to {shown}",
    )  # Wazzup's refusal may quote the URL back: never print the token in it
    detail = check.detail.replace(token, "<CHATSALES_WAZZUP_WEBHOOK_TOKEN>")
    return checks.Check(name, check.state, detail)
