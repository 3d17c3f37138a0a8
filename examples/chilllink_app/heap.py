"""Short garbage-collector pauses for the loop that serves ``/feeds``.

CPython's collector walks every tracked object in a full (oldest-generation) pass, holding
the interpreter lock throughout, whichever thread started it: a worker thread decoding
rows stalls the event loop as surely as the loop itself. An app process holds hundreds of
thousands of long-lived objects (the state store's decoded users, the reused ``/feeds``
bodies' states, the catalog, the local engine's interactions), and a jobs run makes enough
new ones to start a full pass every few seconds: with 10,000 users, each pass took 200 ms.

`HeapFreezer` moves what has lived a while out of the collector's view (`gc.freeze`)
every few seconds, after a young collection (so young cyclic garbage is not frozen), so a
full pass only walks the objects of the last few seconds. Frozen objects are still freed
as soon as nothing refers to them (reference counting); only a reference cycle that became
garbage after its freeze escapes the collector (none was found in a whole jobs run:
content sync of 3,000 titles and a sweep of 10,000 users). So that none can pile up in a
process that runs for weeks, every ``reclaim_interval`` (an hour) the freezer unfreezes
everything and runs one full collection: one long pause an hour instead of one every few
seconds during jobs, and no garbage cycle outlives the hour. `aclose` does the same.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Final

__all__ = ["FREEZE_INTERVAL", "RECLAIM_INTERVAL", "HeapFreezer"]

FREEZE_INTERVAL: Final = 5.0
"""Seconds between two freezes of the app's long-lived objects."""

RECLAIM_INTERVAL: Final = 3600.0
"""Seconds between two full collections of everything, frozen objects included."""


class HeapFreezer:
    """Freezes the process's long-lived objects now and every ``interval`` seconds.

    Args:
        interval: Seconds between freezes.
        reclaim_interval: Seconds between full collections of every object, frozen ones
            included (`reclaim`).
    """

    def __init__(
        self, interval: float = FREEZE_INTERVAL, *, reclaim_interval: float = RECLAIM_INTERVAL
    ) -> None:
        if interval <= 0 or reclaim_interval <= 0:
            msg = f"the freeze intervals must be positive, got {interval}, {reclaim_interval}"
            raise ValueError(msg)
        self._interval = interval
        self._reclaim_interval = reclaim_interval
        self._task: asyncio.Task[None] | None = None
        self.reclaims = 0
        """How many full collections `reclaim` ran."""

    @staticmethod
    def freeze() -> None:
        """Collect the young generations, then freeze every object still tracked."""
        gc.collect(1)
        gc.freeze()

    def reclaim(self) -> None:
        """Unfreeze everything and collect it all once (frees cycles that died frozen)."""
        gc.unfreeze()
        gc.collect()
        self.reclaims += 1

    def start(self) -> None:
        """Freeze now (the startup's objects), then every ``interval`` seconds."""
        self.freeze()
        self._task = asyncio.create_task(self._run(), name="reclio-heap-freezer")

    async def aclose(self) -> None:
        """Stop freezing and give every frozen object back to the collector."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self.reclaim()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        reclaim_at = loop.time() + self._reclaim_interval
        while True:
            await asyncio.sleep(self._interval)
            if loop.time() >= reclaim_at:
                self.reclaim()
                reclaim_at = loop.time() + self._reclaim_interval
            self.freeze()
