"""Notifications: a short sentence per anomaly, failed check or failed run, POSTed to a webhook.

Settings come from the environment (through chatsales.core.settings) and are read when an
alert is about to be sent, so a sensor picks up a changed value on its next tick (secrets live
only in the environment):

- `CHATSALES_ALERT_WEBHOOK_URL`: where a generic JSON alert is POSTed (`json` format). Unset,
  and no Telegram bot configured: nothing is sent, the text goes to the Dagster log only.
- `CHATSALES_ALERT_FORMAT`: `json` (default) or `telegram`.
- `CHATSALES_TELEGRAM_BOT_TOKEN`, `CHATSALES_TELEGRAM_CHAT_ID`: the bot and chat of the
  `telegram` format; `CHATSALES_TELEGRAM_API_URL` (default https://api.telegram.org) for a
  Bot API server of your own (or a test's). The token is never logged.
- `CHATSALES_ALERT_KINDS`: comma list of mart_anomalies kinds to alert (default: all).
- `CHATSALES_ALERT_GRAINS`: comma list of grains, `day`, `week` and/or `month` (default
  `month`: the steadier reading, see doc block metric_anomalies in dbt_project/models/docs;
  `day` compares a working day with the one before, for "answered slowly today").
- `CHATSALES_ALERT_LOOKBACK_DAYS` (default 62): only anomalies whose period starts at most
  this many days before the last day with data in the marts. Measured from the data, not the
  clock, so a historical (demo) warehouse alerts its last two months once, not every month
  since the start, and not nothing.
- `CHATSALES_ALERT_LANGUAGE`: `en` (default) or `ru`, the language of the anomaly sentence.
- `CHATSALES_ALERT_CHECK_SEVERITY`: `error` (default) alerts failed blocking checks only;
  `warn` adds warnings (data_issues rows recur every run and would repeat).
- `CHATSALES_ALERT_CHECK_LOOKBACK_HOURS` (default 24): on the sensor's first tick, failed
  checks of this many hours back are alerted; later ticks read on from where they stopped.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlparse

from chatsales.core.settings import Settings, secret_value

ANOMALY_KINDS = (
    "too_few_messages",
    "too_many_messages",
    "slow_response",
    "overload",
    "slowdown",
    "conversion_drop",
)
GRAINS = ("day", "week", "month")
TELEGRAM_API_URL = "https://api.telegram.org"
TELEGRAM_TEXT_LIMIT = 4096
TIMEOUT_S = 10


class AlertConfigError(ValueError):
    """A CHATSALES_ALERT_* / CHATSALES_TELEGRAM_* variable has a value we cannot use."""


class AlertDeliveryError(RuntimeError):
    """The webhook did not accept the alert (no answer, non-2xx, or Telegram's ok: false)."""


@dataclass(frozen=True)
class AlertSettings:
    webhook_url: str | None = None
    format: str = "json"
    telegram_token: str | None = field(default=None, repr=False)
    telegram_chat_id: str | None = None
    telegram_api_url: str = TELEGRAM_API_URL
    kinds: frozenset[str] = frozenset(ANOMALY_KINDS)
    grains: frozenset[str] = frozenset({"month"})
    lookback_days: int = 62
    language: str = "en"
    check_severity: str = "error"
    check_lookback_hours: int = 24

    @property
    def configured(self) -> bool:
        """Whether alerts are sent anywhere, or only logged."""
        if self.format == "telegram":
            return bool(self.telegram_token and self.telegram_chat_id)
        return bool(self.webhook_url)

    @property
    def post_url(self) -> str:
        if self.format == "telegram":
            return f"{self.telegram_api_url.rstrip('/')}/bot{self.telegram_token}/sendMessage"
        return self.webhook_url or ""

    @property
    def destination(self) -> str:
        """Where alerts go, for log lines: no token, no webhook path (it is often a secret)."""
        if not self.configured:
            return "the log only (no webhook configured)"
        if self.format == "telegram":
            return f"Telegram chat {self.telegram_chat_id}"
        parsed = urlparse(self.webhook_url)
        return f"webhook {parsed.scheme}://{parsed.netloc}"


def _choice_list(name: str, raw: str | None, allowed: tuple[str, ...], default) -> frozenset:
    if not raw or not raw.strip():
        return frozenset(default)
    values = frozenset(v.strip() for v in raw.split(",") if v.strip())
    unknown = sorted(values - set(allowed))
    if unknown:
        raise AlertConfigError(f"{name}: unknown {unknown}; expected some of {list(allowed)}")
    return values


def _choice(name: str, raw: str | None, allowed: tuple[str, ...]) -> str:
    value = (raw or allowed[0]).strip().lower()
    if value not in allowed:
        raise AlertConfigError(f"{name}={raw!r}: expected one of {list(allowed)}")
    return value


def _positive_int(name: str, raw: str | None, default: int) -> int:
    try:
        value = int(raw) if raw and raw.strip() else default
    except ValueError:
        raise AlertConfigError(f"{name}={raw!r}: expected a whole number") from None
    if value <= 0:
        raise AlertConfigError(f"{name}={raw!r}: expected a positive number")
    return value


def alert_settings(environ: Mapping[str, str] | None = None) -> AlertSettings:
    """Settings from the environment (or `environ`), checked: a typo fails loudly instead of
    silencing alerts."""
    config = Settings.from_environ(environ)
    settings = AlertSettings(
        webhook_url=secret_value(config.alert_webhook_url),
        format=_choice("CHATSALES_ALERT_FORMAT", config.alert_format, ("json", "telegram")),
        telegram_token=secret_value(config.telegram_bot_token),
        telegram_chat_id=config.telegram_chat_id,
        telegram_api_url=config.telegram_api_url or TELEGRAM_API_URL,
        kinds=_choice_list(
            "CHATSALES_ALERT_KINDS", config.alert_kinds, ANOMALY_KINDS, ANOMALY_KINDS
        ),
        grains=_choice_list("CHATSALES_ALERT_GRAINS", config.alert_grains, GRAINS, {"month"}),
        lookback_days=_positive_int(
            "CHATSALES_ALERT_LOOKBACK_DAYS", config.alert_lookback_days, 62
        ),
        language=_choice("CHATSALES_ALERT_LANGUAGE", config.alert_language, ("en", "ru")),
        check_severity=_choice(
            "CHATSALES_ALERT_CHECK_SEVERITY", config.alert_check_severity, ("error", "warn")
        ),
        check_lookback_hours=_positive_int(
            "CHATSALES_ALERT_CHECK_LOOKBACK_HOURS", config.alert_check_lookback_hours, 24
        ),
    )
    for name, url in (
        ("CHATSALES_ALERT_WEBHOOK_URL", settings.webhook_url),
        ("CHATSALES_TELEGRAM_API_URL", settings.telegram_api_url),
    ):  # the value is not echoed: a webhook path is often a secret
        if url and urlparse(url).scheme not in ("http", "https"):
            raise AlertConfigError(f"{name}: expected an http:// or https:// URL")
    if settings.format == "telegram" and bool(settings.telegram_token) != bool(
        settings.telegram_chat_id
    ):
        raise AlertConfigError(
            "CHATSALES_ALERT_FORMAT=telegram needs both CHATSALES_TELEGRAM_BOT_TOKEN and "
            "CHATSALES_TELEGRAM_CHAT_ID"
        )
    return settings


@dataclass(frozen=True)
class Alert:
    """One notification: `text` is what a person reads; `fields` go along in the JSON format."""

    event: str  # anomaly, check_failed or run_failed
    text: str
    fields: dict = field(default_factory=dict)


def request_body(alert: Alert, settings: AlertSettings) -> dict:
    if settings.format == "telegram":  # Bot API sendMessage; plain text, nothing to escape
        return {
            "chat_id": settings.telegram_chat_id,
            "text": alert.text[:TELEGRAM_TEXT_LIMIT],
            "disable_web_page_preview": True,
        }
    # "text" first: Slack- and Mattermost-style incoming webhooks show exactly that field.
    return {"text": alert.text, "source": "chatsales", "event": alert.event, **alert.fields}


def send_alert(alert: Alert, settings: AlertSettings, timeout: float = TIMEOUT_S) -> None:
    """POST one alert; raises AlertDeliveryError, naming the destination but never the token."""
    body = json.dumps(request_body(alert, settings), ensure_ascii=False, default=str).encode()
    request = urllib.request.Request(
        settings.post_url,
        data=body,
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    where = settings.destination
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = response.read()
    except urllib.error.HTTPError as error:
        detail = _telegram_description(error.read()) or error.reason
        raise AlertDeliveryError(f"{where} answered HTTP {error.code}: {detail}") from None
    except ValueError:  # a malformed URL; its text would carry the bot token
        raise AlertDeliveryError(f"{where}: the URL is not valid") from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise AlertDeliveryError(f"{where} not reachable: {reason}") from None
    if settings.format == "telegram":
        try:
            ok = json.loads(answer).get("ok") is True
        except (ValueError, AttributeError):
            ok = False
        if not ok:
            detail = _telegram_description(answer) or answer[:200].decode(errors="replace")
            raise AlertDeliveryError(f"{where} refused the message: {detail}")


def deliver(alert: Alert, settings: AlertSettings, log) -> bool:
    """Send (or, with no webhook, log) one alert. False when the webhook refused it: the caller
    keeps it unsent and tries again on its next tick."""
    if not settings.configured:
        log.info(f"Alert (log only, no webhook configured): {alert.text}")
        return True
    try:
        send_alert(alert, settings)
    except AlertDeliveryError as error:
        log.warning(f"Alert not sent, will retry: {error}. Text: {alert.text}")
        return False
    log.info(f"Alert sent to {settings.destination}: {alert.text}")
    return True


def _telegram_description(answer: bytes) -> str | None:
    try:
        return json.loads(answer).get("description")
    except (ValueError, AttributeError):
        return None


PERIOD_WORDS = {
    "en": {"day": "day", "week": "week of", "month": "month of", "all": "Team"},
    "ru": {"day": "день", "week": "неделя с", "month": "месяц с", "all": "Команда"},
}


def anomaly_alert(row: dict, language: str = "en") -> Alert:
    """'Сергей Новиков (m05), month of 2025-10-01, too_few_messages: 3.0 messages per dialog…'

    `row` is a mart_anomalies row plus manager_name from dim_managers."""
    words = PERIOD_WORDS[language]
    manager_id = row["manager_id"]
    if manager_id == "all":
        who = words["all"]
    else:
        name = row.get("manager_name")
        who = f"{name} ({manager_id})" if name and name != manager_id else manager_id
    reason = row[f"reason_{language}"] or row["reason_en"]
    period = f"{words[row['grain']]} {row['period_start']}"
    text = f"{who}, {period}, {row['kind']}: {reason}"
    return Alert("anomaly", text, {k: row.get(k) for k in ANOMALY_FIELDS})


ANOMALY_FIELDS = (
    "kind",
    "grain",
    "period_start",
    "manager_id",
    "manager_name",
    "metric",
    "value",
    "reason_en",
    "reason_ru",
)
