"""`TraktWritePacer`: one user's Trakt writes, one at a time, spaced by Trakt's 1 per second."""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Final

import attrs

__all__ = ["TraktWritePacer"]

_IDLE: Final = 60.0
"""Seconds after which a user's idle lane is forgotten (so memory follows active users)."""


@attrs.define
class _Lane:
    lock: asyncio.Lock = attrs.Factory(asyncio.Lock)
    ready_at: float = 0.0


class TraktWritePacer:
    """Spaces each user's writes (POST, PUT, DELETE) as Trakt's ``AUTHED_API_POST_LIMIT`` asks.

    Trakt allows one write per second per user and answers a faster one 429. Each user's
    writes pass one at a time, and the next starts ``1 / writes_per_second`` seconds after
    the previous one's answer came back (not after it was sent): whatever the network
    latency, two writes then reach Trakt at least that far apart. Writes of different users
    do not wait for each other.

    Construct one per process (the composition root) and give it to every
    `TraktListSink`: a user is synced by one worker at a time (its lease), so a per-process
    pacer is all the spacing a user needs. aiolimiter's bucket counts from when a request
    starts, which two back-to-back writes with uneven latency can break; this counts from
    the answer.

    Stability: caller-stable.

    Args:
        writes_per_second: Writes per user per second (Trakt allows 1).
        clock: Monotonic seconds (tests pass a fake).
        sleep: Awaitable sleep (tests pass a fake).
    """

    def __init__(
        self,
        writes_per_second: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if writes_per_second <= 0:
            msg = f"writes_per_second must be positive, got {writes_per_second!r}"
            raise ValueError(msg)
        self.interval = 1.0 / writes_per_second
        self._clock = clock
        self._sleep = sleep
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Lane]] = (
            weakref.WeakKeyDictionary()
        )
        self._pruned_at = clock()

    def __repr__(self) -> str:
        return f"TraktWritePacer(writes_per_second={1.0 / self.interval:g})"

    @asynccontextmanager
    async def slot(self, user_id: str) -> AsyncIterator[None]:
        """Wait for the user's turn, then hold it while one write runs."""
        lane = self._lane(user_id)
        async with lane.lock:
            wait = lane.ready_at - self._clock()
            if wait > 0:
                await self._sleep(wait)
            try:
                yield
            finally:
                lane.ready_at = self._clock() + self.interval

    def _lane(self, user_id: str) -> _Lane:
        # asyncio locks belong to one event loop: the lanes are kept per loop, so a pacer
        # made at start-up also serves a process that runs several asyncio.run calls.
        lanes = self._loops.setdefault(asyncio.get_running_loop(), {})
        lane = lanes.get(user_id)
        if lane is None:
            now = self._clock()
            if now - self._pruned_at > _IDLE:
                self._pruned_at = now
                for idle in [u for u, held in lanes.items() if _idle(held, now)]:
                    del lanes[idle]
            lane = lanes[user_id] = _Lane()
        return lane


def _idle(lane: _Lane, now: float) -> bool:
    return not lane.lock.locked() and lane.ready_at < now - _IDLE
