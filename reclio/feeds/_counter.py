"""Counting ``/feeds`` requests without a write on the request path.

`FeedRequestCounter.count` only appends to a list in memory; `flush` writes the pending
counts to the store's `FeedLog` in one batch, off the request path (the runtime flushes on
a timer and when it closes). A crash loses at most one flush interval of counts: they only
tune how often a user is synced, so a lost count costs a slightly later sync, never data.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from reclio._clock import Clock, utc_now
from reclio.errors import SourceError
from reclio.ports import FeedLog

__all__ = ["FeedRequestCounter"]

_log = logging.getLogger("reclio.feeds.counter")


class FeedRequestCounter:
    """Buffers feed-request counts in memory and writes them to a `FeedLog` in batches.

    Stability: caller-stable.

    Args:
        log: Where counts go.
        clock: Stamps each request.
        max_pending: Counts held at most while the store is failing; the oldest are
            dropped past it (bounded memory, one WARNING per flush that had to drop).
    """

    def __init__(self, log: FeedLog, *, clock: Clock = utc_now, max_pending: int = 100_000) -> None:
        self._log = log
        self._clock = clock
        self._max_pending = max_pending
        self._pending: list[tuple[str, datetime]] = []
        self._dropped = 0
        self._flushing = asyncio.Lock()

    def count(self, user_id: str) -> None:
        """Count one request of ``user_id`` now; never blocks, never raises."""
        self._pending.append((user_id, self._clock()))
        if len(self._pending) > self._max_pending:
            del self._pending[0]
            self._dropped += 1

    @property
    def pending(self) -> int:
        """Counts not written yet."""
        return len(self._pending)

    async def flush(self) -> int:
        """Write every pending count in one batch.

        Returns:
            How many counts were written (0 when the store failed: they stay pending).
        """
        async with self._flushing:
            batch, self._pending = self._pending, []
            if not batch:
                return 0
            try:
                await self._log.record_feed_requests(batch)
            except SourceError as exc:
                _log.warning("could not write %d feed-request counts: %s", len(batch), exc)
                kept = batch + self._pending
                self._dropped += max(0, len(kept) - self._max_pending)
                self._pending = kept[-self._max_pending :]
                return 0
            if self._dropped:
                _log.warning("dropped %d feed-request counts over max_pending", self._dropped)
                self._dropped = 0
            return len(batch)

    async def run(self, interval: float) -> None:
        """Flush every ``interval`` seconds until cancelled (then flush once more)."""
        try:
            while True:
                await asyncio.sleep(interval)
                await self.flush()
        finally:
            await asyncio.shield(self.flush())
