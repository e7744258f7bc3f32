"""HTTP for the API sources (amoCRM, Bitrix24, Wazzup): dlt's retrying requests client, set
up one way.

An answer with a retry status (429 and 5xx unless a source says otherwise) or a dropped
connection is tried again, up to `attempts` tries in all, after the answer's `Retry-After`
(delta-seconds or an HTTP date: dlt's `wait_exponential_retry_after` parses both) or else
after `backoff_seconds` × 1, 2, 4, ...; no wait is longer than `max_delay_seconds`, whatever
the header says. The last answer is returned for the caller to judge: `gave_up()` tells
whether it still had a retry status.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from dlt.sources.helpers.requests import Client, Response

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
        if not self.gave_up(response):
            return False
        log.warning("%s: HTTP %s %s, retrying (Retry-After: %s)", self.name,
                    response.status_code, self.describe(response),
                    response.headers.get("Retry-After", "none"))  # fmt: skip
        return True

    def gave_up(self, response: Response | None) -> bool:
        """Whether the answer has a retry status (after the last attempt: the call failed)."""
        return response is not None and response.status_code in self.policy.retry_statuses

    def request(self, method: str, url: str, **kwargs: Any) -> Response:
        """One request, retried as the policy says; the throttle spaces calls (a retry
        waits its back-off instead)."""
        self.throttle.wait()
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.request(method, url, headers=headers, **kwargs)
