"""What the HTTP notifiers share: which answers are worth retrying, and `Retry-After`."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
"""Answers that another attempt may change."""
MAX_RETRY_AFTER_SECS = 3600.0


def is_transient(status: int) -> bool:
    return status in TRANSIENT_STATUSES or status >= 500


def retry_after_secs(response: httpx.Response) -> float | None:
    """`Retry-After` as seconds (a number or an HTTP date), None when absent or unreadable."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_SECS)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, min((when - datetime.now(UTC)).total_seconds(), MAX_RETRY_AFTER_SECS))
