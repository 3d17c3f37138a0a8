"""The clock reclio's stores read: a zero-argument callable returning an aware UTC datetime.

Stores take it as a constructor option so tests can move time (lease expiry, feed-request
windows) without sleeping or patching.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""Returns "now" as a timezone-aware datetime."""


def utc_now() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


def require_aware(value: datetime, what: str) -> datetime:
    """Return ``value`` if it is timezone-aware.

    Raises:
        ValueError: ``value`` is naive (reclio compares instants, never local wall times).
    """
    if value.tzinfo is None or value.utcoffset() is None:
        msg = f"{what} must be timezone-aware, got naive {value!r}"
        raise ValueError(msg)
    return value
