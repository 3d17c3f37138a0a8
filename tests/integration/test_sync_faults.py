"""Fault injection at every call: the sync invariants hold whatever fails, wherever it crashes.

Each test first runs a scenario uninterrupted to learn its calls. Then, for every call in
turn, a fresh identical world runs the scenario with that call failing (a ``SourceError``)
or crashing (an exception no reclio code catches, standing for the process dying). After
checking what the failed run left behind, the failure is cleared and the sync run again:
the result must equal the uninterrupted run's.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

import attrs
import pytest

from reclio.domain import ItemRef, PlaybackProgress
from reclio.errors import SourceUnavailable, SyncError
from reclio.testing.faults import Crash

DOWN = SourceUnavailable("down", service="test", operation="injected")


async def user_scenario(world):
    """Content and every user synced, then user0 watches, rates and pauses something new."""
    await world.content.run()
    for user_id in world.source.user_ids:
        await world.users.sync(user_id)
    await world.recorder.inner.fit()
    world.clock.advance(timedelta(days=1))
    now = world.clock.now
    world.source.add_view("user0", ItemRef.movie(3), now - timedelta(hours=3))
    world.source.add_view("user0", ItemRef.tv(6), now - timedelta(hours=2))
    world.source.add_rating("user0", ItemRef.tv(6), 9, now - timedelta(hours=1))
    world.source.add_bookmark("user0", ItemRef.movie(11), now - timedelta(minutes=30))
    world.source.set_playback("user0", PlaybackProgress(ItemRef.movie(3), 50, now))
    world.plan.calls.clear()


async def source_interactions(world, user_id):
    return [
        *await world.source.history(user_id),
        *await world.source.ratings(user_id),
        *await world.source.watchlist(user_id),
    ]


async def user_outcome(world):
    state = await world.state("user0")
    return state, await world.all_lists("user0")


async def user_reference(make_world):
    world = make_world()
    await user_scenario(world)
    await world.users.sync("user0")
    calls = len(world.plan.calls)
    return calls, await user_outcome(world)


async def check_user_invariants(world, before_lists):
    """What a failed or crashed sync may leave behind."""
    after = await world.all_lists("user0")
    for name, items in before_lists.items():
        assert after[name], f"{name} was emptied"
        assert len(after[name]) >= len(items), f"{name} shrank"
    state = await world.store.get_user("user0")
    if state is not None and state.history_cursor is not None:
        for interaction in await source_interactions(world, "user0"):
            if interaction.key not in world.recorder.confirmed:
                assert state.history_cursor < interaction.at, "cursor passed an unconfirmed one"


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["fail", "crash"])
async def test_user_sync_survives_a_fault_at_every_call(make_world, kind):
    """No interaction lost, no list emptied or shrunk, and a rerun converges."""
    calls, expected = await user_reference(make_world)
    assert calls > 15  # the scenario exercises every port
    for number in range(1, calls + 1):
        world = make_world()
        await user_scenario(world)
        before = await world.all_lists("user0")
        error = DOWN if kind == "fail" else Crash(f"died at call {number}")
        world.plan.fail_call(number, error)
        with contextlib.suppress(SyncError, Crash):
            await world.users.sync("user0")
        failed_call = world.plan.calls[number - 1]
        await check_user_invariants(world, before)

        world.plan.clear()
        await world.users.sync("user0")

        assert await user_outcome(world) == expected, f"{kind} at call {number}: {failed_call}"
        everything = {i.key for i in await source_interactions(world, "user0")}
        assert everything <= world.recorder.confirmed, f"lost after {kind} at {failed_call}"


async def content_scenario(world):
    """A first content run, then a popularity change, a new overview and a new title."""
    await world.content.run()
    world.clock.advance(timedelta(hours=1))
    titles = {t.ref: t for t in world.catalog.titles}
    world.catalog.add_title(attrs.evolve(titles[ItemRef.movie(1)], popularity=1.0))
    world.catalog.add_title(attrs.evolve(titles[ItemRef.tv(2)], overview="a brand new story"))
    world.catalog.add_title(attrs.evolve(titles[ItemRef.tv(3)], ref=ItemRef.tv(300)))
    world.clock.advance(timedelta(hours=1))
    world.plan.calls.clear()


async def content_outcome(world):
    records = []
    async for batch in world.store.iter_titles():
        records.extend(batch)
    probe = [world.slot.nearest(ItemRef.tv(n), k=5) for n in (2, 3, 300)]
    return records, len(world.slot), probe, dict(world.recorder.items)


def check_content_invariants(world, records):
    """No title is marked synced with a hash the recommender did not confirm.

    The store may lag behind the recommender (a confirmed write whose mark failed is pushed
    again), never run ahead of it.
    """
    for record in records:
        if record.synced_hash is not None:
            confirmed = (record.title.ref, record.synced_hash)
            assert confirmed in world.recorder.confirmed_hashes, f"{confirmed} never confirmed"


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["fail", "crash"])
async def test_content_sync_survives_a_fault_at_every_call(make_world, kind):
    """No title marked synced without a confirmed write, and a rerun converges."""
    reference = make_world()
    await content_scenario(reference)
    await reference.content.run()
    calls = len(reference.plan.calls)
    expected = await content_outcome(reference)
    assert calls > 10
    for number in range(1, calls + 1):
        world = make_world()
        await content_scenario(world)
        error = DOWN if kind == "fail" else Crash(f"died at call {number}")
        world.plan.fail_call(number, error)
        with contextlib.suppress(SyncError, Crash):
            await world.content.run()
        failed_call = world.plan.calls[number - 1]
        records, *_ = await content_outcome(world)
        check_content_invariants(world, records)

        world.plan.clear()
        await world.content.run()

        assert await content_outcome(world) == expected, f"{kind} at {failed_call}"
