"""Bitrix24 REST settings: rate limit and retries."""

from __future__ import annotations

from ..api_client import RequestPolicy

# Bitrix24 allows 2 requests a second per portal and answers 503 QUERY_LIMIT_EXCEEDED
# beyond that (without a Retry-After header): back off 1, 2, 4, ... s.
REQUEST_POLICY = RequestPolicy(requests_per_second=2, attempts=6, backoff_seconds=1.0,
                               max_delay_seconds=60.0)  # fmt: skip
