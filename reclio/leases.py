"""Holding a lease while work runs: `hold` takes it, renews it, and gives it back.

A lease lives in the state store (`reclio.ports.LeaseStore`), so it works across processes
and machines; one that is not renewed expires after its ``ttl``, so a worker that dies never
blocks the work for longer than that.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import timedelta

from reclio.errors import LeaseHeld, SourceError
from reclio.ports import LeaseStore

__all__ = ["hold"]

_log = logging.getLogger("reclio.leases")


@asynccontextmanager
async def hold(
    store: LeaseStore, key: str, *, owner: str, ttl: timedelta, what: str | None = None
) -> AsyncIterator[None]:
    """Hold the lease ``key`` for the ``async with`` block, renewing it every ``ttl / 3``.

    Args:
        store: Where leases live.
        key: The lease, e.g. ``"user:alice"``.
        owner: Who holds it (unique per worker and task).
        ttl: How long the lease outlives its holder's last renewal.
        what: The work, for the `LeaseHeld` message (default: the key).

    Raises:
        LeaseHeld: someone else holds an unexpired lease on ``key``.
        SourceError: the store failed while taking the lease.
    """
    if not await store.acquire_lease(key, owner, ttl):
        raise LeaseHeld(f"another worker holds {what or key!r}; try again later")
    renewer = asyncio.create_task(_renew(store, key, owner, ttl), name=f"lease:{key}")
    try:
        yield
    finally:
        renewer.cancel()
        try:
            # asyncio.wait, not `await renewer`: the renewer's CancelledError stays in it,
            # while a cancellation of this task (while it cleans up) still propagates.
            await asyncio.wait([renewer])
        finally:
            # An unreleased lease expires after ttl; nothing else depends on this.
            with suppress(SourceError):
                await store.release_lease(key, owner)


async def _renew(store: LeaseStore, key: str, owner: str, ttl: timedelta) -> None:
    interval = ttl.total_seconds() / 3
    while True:
        await asyncio.sleep(interval)
        try:
            if not await store.acquire_lease(key, owner, ttl):
                _log.warning("lease %s was taken by another worker while %s held it", key, owner)
                return
        except SourceError as exc:
            _log.warning("could not renew lease %s: %s", key, exc)
