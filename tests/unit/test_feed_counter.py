"""FeedRequestCounter: counting on the request path is memory only; writes go in batches."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reclio.errors import SourceUnavailable
from reclio.feeds import FeedRequestCounter

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 11, 1, tzinfo=UTC)


class Log:
    """A FeedLog that records each batch, and fails while ``down``."""

    def __init__(self) -> None:
        self.batches: list[list[tuple[str, datetime]]] = []
        self.down = False

    async def record_feed_requests(self, requests: Sequence[tuple[str, datetime]]) -> None:
        if self.down:
            raise SourceUnavailable("down", service="test", operation="record_feed_requests")
        self.batches.append(list(requests))

    async def feed_requests_since(self, user_id: str, since: datetime) -> int:
        return sum(1 for batch in self.batches for u, at in batch if u == user_id and at >= since)


async def test_counts_wait_in_memory_then_go_in_one_batch() -> None:
    """count() writes nothing; flush() writes every pending count in one call."""
    log = Log()
    counter = FeedRequestCounter(log, clock=lambda: T0)
    for user in ("ann", "bo", "ann"):
        counter.count(user)
    assert log.batches == []
    assert counter.pending == 3
    assert await counter.flush() == 3
    assert log.batches == [[("ann", T0), ("bo", T0), ("ann", T0)]]
    assert counter.pending == 0
    assert await counter.flush() == 0
    assert len(log.batches) == 1


async def test_a_failed_flush_keeps_the_counts_for_the_next() -> None:
    """Nothing is lost while the store is down; the next flush writes everything."""
    log = Log()
    counter = FeedRequestCounter(log, clock=lambda: T0)
    counter.count("ann")
    log.down = True
    assert await counter.flush() == 0
    counter.count("bo")
    log.down = False
    assert await counter.flush() == 2
    assert [u for u, _ in log.batches[0]] == ["ann", "bo"]


@given(st.integers(1, 30), st.integers(1, 10))
def test_memory_stays_bounded_while_the_store_is_down(requests: int, bound: int) -> None:
    """At most ``max_pending`` counts are held; the newest survive."""
    log = Log()
    log.down = True
    counter = FeedRequestCounter(log, clock=lambda: T0, max_pending=bound)
    for n in range(requests):
        counter.count(f"u{n}")
        asyncio.run(counter.flush())
    assert counter.pending == min(requests, bound)
    log.down = False
    asyncio.run(counter.flush())
    written = [u for batch in log.batches for u, _ in batch]
    assert written == [f"u{n}" for n in range(requests)][-bound:]


async def test_run_flushes_on_a_timer_and_once_more_when_cancelled() -> None:
    """The runtime's flusher writes every interval, and what is left when it stops."""
    log = Log()
    counter = FeedRequestCounter(log, clock=lambda: T0)
    task = asyncio.create_task(counter.run(0.01))
    counter.count("ann")
    await asyncio.sleep(0.05)
    assert log.batches == [[("ann", T0)]]
    counter.count("bo")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert log.batches[-1] == [("bo", T0)]
