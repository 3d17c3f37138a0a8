"""The job engine's retry rules: which failures are tried again, and how long to wait."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("procrastinate")

from reclio.domain import SyncReport
from reclio.errors import (
    AccountLimitExceeded,
    AuthenticationError,
    DecodeError,
    LeaseHeld,
    RateLimited,
    SourceError,
    SourceTimeout,
    SourceUnavailable,
    SyncError,
)
from reclio.jobs import WorkerSettings, retry_delay, retryable
from reclio.testing.strategies import source_errors

_TRANSIENT = (SourceUnavailable, SourceTimeout, RateLimited)
_FINAL = (AuthenticationError, AccountLimitExceeded, DecodeError)


def _sync_error(cause: BaseException | None) -> SyncError:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    error = SyncError("state store failed", report=SyncReport("user:ann", at, at))
    error.__cause__ = cause
    return error


@pytest.mark.parametrize("kind", _TRANSIENT)
def test_transient_failures_are_retried(kind: type[SourceError]) -> None:
    """Network, timeouts, 429 and 5xx may pass: retried, bare or as a sync's cause."""
    error = kind("down", service="trakt", operation="activity")
    assert retryable(error)
    assert retryable(_sync_error(error))


@pytest.mark.parametrize("kind", _FINAL)
def test_final_failures_are_not_retried(kind: type[SourceError]) -> None:
    """A revoked token, a full account, a payload that does not decode: never retried."""
    error = kind("no", service="trakt", operation="activity")
    assert not retryable(error)
    assert not retryable(_sync_error(error))


def test_a_held_lease_is_retried_and_bugs_are_not() -> None:
    """Another worker's lease expires, so retry; a plain exception is a bug, raised as is."""
    assert retryable(LeaseHeld("another worker holds user:ann"))
    assert not retryable(ValueError("bug"))
    assert not retryable(_sync_error(None))
    assert not retryable(_sync_error(ValueError("bug")))


@given(error=source_errors())
def test_retryable_is_exactly_the_transient_branch(error: SourceError) -> None:
    """Of every SourceError, exactly the SourceUnavailable branch is retried."""
    assert retryable(error) == isinstance(error, SourceUnavailable)


@given(
    attempt=st.integers(min_value=0, max_value=60),
    initial=st.floats(min_value=0.01, max_value=100),
    ceiling=st.floats(min_value=0.01, max_value=10_000),
    seed=st.integers(),
)
def test_backoff_grows_and_is_capped(
    attempt: int, initial: float, ceiling: float, seed: int
) -> None:
    """Each wait lies in [c/2, c] for c = min(max, initial * 2**attempt): jittered, capped."""
    settings = WorkerSettings(backoff_initial=initial, backoff_max=ceiling)
    bound = min(ceiling, initial * 2.0**attempt)
    wait = retry_delay(attempt, settings, rng=random.Random(seed))  # noqa: S311 - jitter, not secrets
    assert bound / 2 <= wait <= bound
