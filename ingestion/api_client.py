"""HTTP for the API sources (amoCRM, Bitrix24, Wazzup): dlt's retrying requests client, set
up one way.

An answer with a retry status (429 and 5xx unless a source says otherwise) or a dropped
connection is tried again, up to `attempts` tries in all, after the answer's `Retry-After`
(delta-seconds or an HTTP date: dlt's `wait_exponential_retry_after` parses both) or else
after `backoff_seconds` × 1, 2, 4, ...; no wait is longer than `max_delay_seconds`, whatever
the header says, so one request waits at most (attempts − 1) × max_delay_seconds. A 2xx answer
whose body is not JSON (an HTML error page, JSON cut short) is retried the same way. The last
answer is returned for the caller to judge: `failure()` says what was still wrong with it.
CHATSALES_API_BACKOFF_SECONDS and CHATSALES_API_MAX_DELAY_SECONDS override every source's
back-off and cap (`configured`), e.g. to make a test wait milliseconds.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlparse

from dlt.sources.helpers.requests import Client, Response

from chatsales.core.settings import settings

log = logging.getLogger(__name__)

RETRY_STATUSES = (429, *range(500, 600))
TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class RequestPolicy:
    """How a source calls its API: its rate limit and its retries."""

    requests_per_second: float | None = None  # None: no throttle
    attempts: int = 6
    backoff_seconds: float = 1.0
    max_delay_seconds: float = 60.0
    retry_statuses: tuple[int, ...] = RETRY_STATUSES


def configured(policy: RequestPolicy) -> RequestPolicy:
    """The policy with the back-off and cap the settings override, if they do."""
    config = settings()
    if config.api_backoff_seconds is not None:
        policy = replace(policy, backoff_seconds=config.api_backoff_seconds)
    if config.api_max_delay_seconds is not None:
        policy = replace(policy, max_delay_seconds=config.api_max_delay_seconds)
    return policy


def body_problem(response: Response) -> str | None:
    """What is wrong with a 2xx answer's body for a JSON API (None: JSON, or no body)."""
    if not 200 <= response.status_code < 300 or not response.content:
        return None
    text = response.content.decode("utf-8", errors="replace")
    try:
        json.loads(text)
    except ValueError as error:
        if text.lstrip().startswith("<"):
            return "HTML instead of JSON"
        cut_short = getattr(error, "pos", 0) >= len(text.rstrip()) or "Unterminated" in str(error)
        return "truncated JSON" if cut_short else "malformed JSON"
    return None


class Throttle:
    """At most `per_second` calls a second: `wait()` sleeps until the next one may start."""

    def __init__(self, per_second: float | None):
        self.interval = 1 / per_second if per_second else 0.0
        self._next_at = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            delay = self._next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._next_at = time.monotonic() + self.interval


def request_path(response: Response) -> str:
    """`on GET /api/v4/leads`: the request without host or query (never a secret)."""
    return f"on {response.request.method} {urlparse(response.url).path}"


class ApiClient:
    """Throttled requests through `dlt.sources.helpers.requests.Client`.

    Args:
        name: The source, for log lines.
        policy: Rate limit and retries.
        headers: Sent with every request (e.g. the bearer token; never logged).
        describe: What a retry log line says about an answer after its status (default
            `on GET /path`); it must not name secrets.
    """

    def __init__(
        self,
        name: str,
        policy: RequestPolicy,
        headers: dict[str, str] | None = None,
        describe: Callable[[Response], str] = request_path,
    ):
        self.name = name
        self.policy = policy
        self.headers = headers or {}
        self.describe = describe
        self.throttle = Throttle(policy.requests_per_second)
        self.client = Client(
            request_timeout=TIMEOUT_SECONDS,
            raise_for_status=False,
            status_codes=(),  # judged by `_should_retry`, which logs the answer
            request_max_attempts=policy.attempts,
            retry_condition=self._should_retry,
            request_backoff_factor=policy.backoff_seconds,
            request_max_retry_delay=policy.max_delay_seconds,
            respect_retry_after_header=True,
        )

    def _should_retry(self, response: Response | None, exception: BaseException | None) -> bool:
        cause = self.retry_cause(response)
        if cause is None:
            return False
        retry_after = response.headers.get("Retry-After", "none")
        log.warning("%s: %s %s, retrying (Retry-After: %s)", self.name, cause,
                    self.describe(response), retry_after)  # fmt: skip
        return True

    def retry_cause(self, response: Response | None) -> str | None:
        """Why the answer is worth another try: a retry status or a body that is not JSON."""
        if response is None:
            return None
        if response.status_code in self.policy.retry_statuses:
            status = response.status_code
            return "rate limited (429)" if status == 429 else f"HTTP {status}"
        return body_problem(response)

    def failure(self, response: Response) -> str | None:
        """After `request`: what was still wrong with the last answer, e.g. `truncated JSON
        after 6 attempts` (None: nothing worth a retry)."""
        cause = self.retry_cause(response)
        return f"{cause} after {self.policy.attempts} attempts" if cause else None

    def request(self, method: str, url: str, **kwargs: Any) -> Response:
        """One request, retried as the policy says; the throttle spaces calls (a retry
        waits its back-off instead)."""
        self.throttle.wait()
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.request(method, url, headers=headers, **kwargs)
