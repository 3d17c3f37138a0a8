"""hold: a lease for the length of a block, given back after, never swallowing a cancel."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from reclio.adapters.memory import InMemoryStateStore
from reclio.errors import LeaseHeld
from reclio.leases import hold

pytestmark = pytest.mark.anyio

TTL = timedelta(minutes=5)


async def test_a_held_lease_keeps_others_out_and_is_given_back() -> None:
    """Inside the block nobody else can take the lease; after it, anyone can."""
    store = InMemoryStateStore()
    async with hold(store, "job", owner="one", ttl=TTL):
        assert not await store.acquire_lease("job", "two", TTL)
        with pytest.raises(LeaseHeld, match="content sync"):
            async with hold(store, "job", owner="two", ttl=TTL, what="content sync"):
                pytest.fail("two held the lease one holds")
    assert await store.acquire_lease("job", "two", TTL)


async def test_a_failing_block_gives_the_lease_back() -> None:
    """An exception in the block propagates, and the lease is released."""
    store = InMemoryStateStore()
    with pytest.raises(RuntimeError, match="boom"):
        async with hold(store, "job", owner="one", ttl=TTL):
            raise RuntimeError("boom")
    assert await store.acquire_lease("job", "two", TTL)


async def test_a_cancel_during_the_cleanup_is_not_swallowed() -> None:
    """A task cancelled while hold stops its renewer ends cancelled (it once finished
    normally, so a scheduler's loop never stopped), and the lease is still given back."""
    store = InMemoryStateStore()

    async def work() -> None:
        async with hold(store, "job", owner="one", ttl=TTL):
            pass  # the cleanup starts at once: it waits for the renewer to stop

    task = asyncio.create_task(work())
    await asyncio.sleep(0)  # the task runs up to that wait
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()
    assert await store.acquire_lease("job", "two", TTL)
