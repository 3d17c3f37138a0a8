"""One service's request budget, shared by every task of the process: rate, concurrency, pauses."""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import attrs
from aiolimiter import AsyncLimiter

__all__ = ["RateLimiter"]


@attrs.define
class _LoopState:
    """The asyncio primitives of one event loop (they may not be shared across loops)."""

    rate: AsyncLimiter
    gate: asyncio.Semaphore


class RateLimiter:
    """The request budget of one service (``"tmdb"``, ``"trakt"``), shared process-wide.

    Construct one per service in the composition root and hand the same object to every
    adapter of that service: every request of every task then passes through it.

    * **Rate**: ``requests_per_second`` requests start per second, evenly spaced; up to
      ``burst`` may start back to back (by default a tenth of a second's worth), which also
      makes up for timer wake-ups that come late, so the long-run rate is the configured
      one. The leaky bucket is ``aiolimiter``'s.
    * **Concurrency**: at most ``max_concurrency`` requests are in flight at once.
    * **Pauses**: when the service answers 429 with ``Retry-After``, `pause` stops every
      request of the process (not only the one that was refused) until the time is up;
      aiolimiter has no such notion, so this class keeps the deadline itself.

    The asyncio primitives are created per event loop, so a limiter made once at start-up
    also serves a process that runs several ``asyncio.run`` calls one after another.

    Stability: internal to reclio's adapters (the composition root constructs it).

    Args:
        service: The service name, for reprs and errors.
        requests_per_second: The steady rate.
        max_concurrency: Requests in flight at once.
        burst: Requests that may start back to back before the rate applies (default:
            ``requests_per_second / 10``, at least 1).
        clock: Monotonic seconds (tests pass a fake).
        sleep: Awaitable sleep (tests pass a fake).
    """

    def __init__(
        self,
        service: str,
        *,
        requests_per_second: float,
        max_concurrency: int,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if requests_per_second <= 0:
            msg = f"requests_per_second must be positive, got {requests_per_second!r}"
            raise ValueError(msg)
        if burst is None:
            burst = max(1, round(requests_per_second / 10))
        if max_concurrency < 1 or burst < 1:
            msg = f"max_concurrency and burst must be at least 1, got {max_concurrency}, {burst}"
            raise ValueError(msg)
        self.service = service
        self.requests_per_second = float(requests_per_second)
        self.max_concurrency = max_concurrency
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._paused_until = 0.0
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = (
            weakref.WeakKeyDictionary()
        )

    def __repr__(self) -> str:
        return (
            f"RateLimiter({self.service!r}, requests_per_second={self.requests_per_second:g},"
            f" max_concurrency={self.max_concurrency})"
        )

    def pause(self, seconds: float) -> None:
        """Hold back every request that has not started yet for ``seconds`` from now."""
        self._paused_until = max(self._paused_until, self._clock() + max(seconds, 0.0))

    @property
    def paused_for(self) -> float:
        """Seconds left of the current pause (0 when not paused)."""
        return max(self._paused_until - self._clock(), 0.0)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Wait for a free slot and a token, then hold the slot while the body runs."""
        state = self._state()
        async with state.gate:
            while (wait := self.paused_for) > 0:
                await self._sleep(wait)
            await state.rate.acquire()
            yield

    def _state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is None:
            # aiolimiter lets `burst` requests through at once and then one every
            # 1 / requests_per_second seconds: the bucket holds `burst` and drains at the rate.
            rate = AsyncLimiter(self.burst, self.burst / self.requests_per_second)
            state = self._loops[loop] = _LoopState(rate, asyncio.Semaphore(self.max_concurrency))
        return state
