"""amoCRM / Kommo API v4 settings: page size, rate limit and retries."""

from __future__ import annotations

from ..api_client import RequestPolicy

PAGE_SIZE = 250
# amoCRM allows 7 requests a second per account and answers 429 beyond that.
REQUEST_POLICY = RequestPolicy(requests_per_second=7, attempts=6, backoff_seconds=1.0,
                               max_delay_seconds=60.0)  # fmt: skip
