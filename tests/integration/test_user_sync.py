"""UserSync end to end on the in-memory adapters: DESIGN section 5, step by step."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from datetime import timedelta

import attrs
import pytest

from reclio.adapters.sqlite import SqliteStateStore
from reclio.domain import (
    AccountLimits,
    ActivityStamp,
    CadenceTier,
    ItemRef,
    ListDiff,
    ManagedListKind,
    MediaType,
    PlaybackProgress,
    Preferences,
    UserState,
    WriteResult,
)
from reclio.errors import LeaseHeld, SourceUnavailable, SyncError
from reclio.ports import InteractionSource
from reclio.sync import UserSync, UserSyncConfig
from reclio.sync._plan import blend

DOWN = SourceUnavailable("down", service="test", operation="injected")
KINDS = (
    ManagedListKind.RECOMMENDED_MOVIES,
    ManagedListKind.RECOMMENDED_SHOWS,
    ManagedListKind.BECAUSE_WATCHED_MOVIES,
    ManagedListKind.BECAUSE_WATCHED_SHOWS,
    ManagedListKind.CONTINUE_WATCHING,
)


async def ready(world, users: Sequence[str] = ()):
    """Content synced, every seeded user synced once, the model fitted."""
    await world.content.run()
    for user_id in users or world.source.user_ids:
        await world.users.sync(user_id)
    await world.recorder.inner.fit()
    world.plan.calls.clear()


@pytest.mark.anyio
async def test_first_sync_pushes_history_and_writes_every_list(make_world):
    """A new user's history reaches the recommender and all five lists are written."""
    world = make_world()
    await world.content.run()
    report = await world.users.sync("user0")
    state = await world.state("user0")

    everything = [
        *await world.source.history("user0"),
        *await world.source.ratings("user0"),
        *await world.source.watchlist("user0"),
    ]
    assert {i.key for i in everything} <= world.recorder.confirmed
    assert report.ok
    assert report.pushed == len(everything)
    assert state.history_cursor == max(i.at for i in everything)
    for kind in KINDS:
        record = state.managed_list(kind)
        assert record is not None, kind
        assert record.synced_ok
        items = await world.list_items("user0", kind)
        assert record.item_count == len(items) > 0
    assert len(await world.list_items("user0", ManagedListKind.RECOMMENDED_MOVIES)) == 12
    byw = state.managed_list(ManagedListKind.BECAUSE_WATCHED_MOVIES)
    assert state.last_watched_movie is not None
    assert byw is not None
    assert byw.anchor == state.last_watched_movie.ref
    assert state.last_watched_movie.title == f"Movies {state.last_watched_movie.ref.tmdb_id}"
    assert state.movies_watched + state.shows_watched == 8
    assert state.taste.movie_genres[0].score == 1.0
    assert {g.genre_id for g in state.taste.movie_genres} <= {878, 12, 10765}


@pytest.mark.anyio
async def test_history_keeps_views_ratings_and_the_watchlist(make_world):
    """The user's history in the store: newest view per title, ratings, watchlist; one write."""
    world = make_world()
    await world.content.run()
    world.plan.calls.clear()
    await world.users.sync("user0")

    history = await world.store.get_history("user0")
    assert history is not None
    views = {}
    for view in await world.source.history("user0"):
        views[view.ref] = max(view.at, views.get(view.ref, view.at))
    assert dict(history.views) == views
    assert {r: (v.value, v.at) for r, v in history.ratings.items()} == {
        i.ref: (i.value, i.at) for i in await world.source.ratings("user0")
    }
    assert dict(history.bookmarks) == {i.ref: i.at for i in await world.source.watchlist("user0")}
    assert len(history.bookmarks) == 1
    # State and history are recorded together, and nothing goes to the cursors any more.
    assert world.plan.count("store.save_user") == 1
    assert world.plan.count("store.set_cursor") == 0
    assert await world.store.get_cursor("ledger:user0") is None


@pytest.mark.anyio
async def test_watchlist_changes_replace_the_bookmarks(make_world):
    """A title taken off the watchlist leaves the history; a new one joins it."""
    world = make_world()
    await ready(world, ["user0"])
    before = await world.store.get_history("user0")
    assert before is not None
    (old,) = before.bookmarks
    world.clock.advance(timedelta(hours=2))
    world.source.remove_bookmark("user0", old)
    world.source.add_bookmark("user0", ItemRef.tv(3), world.clock.now)
    await world.users.sync("user0")
    history = await world.store.get_history("user0")
    assert history is not None
    assert dict(history.bookmarks) == {ItemRef.tv(3): world.clock.now}


@pytest.mark.anyio
async def test_watched_titles_are_never_picked(make_world):
    """No list but Continue Watching holds a title the user watched or rated."""
    world = make_world()
    await ready(world)
    seen = {i.ref for i in await world.source.history("user0")}
    seen |= {i.ref for i in await world.source.ratings("user0")}
    for kind in KINDS[:4]:
        assert not set(await world.list_items("user0", kind)) & seen, kind


@pytest.mark.anyio
async def test_no_new_activity_costs_one_call_and_no_writes(make_world):
    """A user whose activity did not move costs one interaction-source call, zero writes."""
    world = make_world()
    await ready(world)
    lists_before = await world.all_lists("user0")

    report = await world.users.sync("user0")

    assert world.plan.count("interactions.*") == 1
    assert world.plan.count("recommender.*") == 0
    assert world.plan.count("sink.*") == 0
    assert (report.api_calls, report.writes, report.skipped) == (1, 0, 1)
    assert await world.all_lists("user0") == lists_before
    state = await world.state("user0")
    assert state.next_sync_at is not None
    assert state.next_sync_at > world.clock.now


@pytest.mark.anyio
async def test_incremental_fetch_pushes_only_what_is_new(make_world):
    """Only interactions from the cursor minus the overlap are fetched, each pushed once."""
    world = make_world()
    await ready(world)
    cursor = (await world.state("user0")).history_cursor
    assert cursor is not None
    world.clock.advance(timedelta(days=1))
    new = world.source.add_view("user0", ItemRef.movie(3), world.clock.now)

    report = await world.users.sync("user0")

    overlap = world.users.config.overlap
    everything = [
        *await world.source.history("user0"),
        *await world.source.ratings("user0"),
        *await world.source.watchlist("user0"),
    ]
    in_window = {i.key for i in everything if i.at >= cursor - overlap}
    # Only history moved: ratings and the watchlist were not read again.
    assert world.plan.count("interactions.ratings") == 0
    assert report.fetched == len(in_window & {i.key for i in await world.source.history("user0")})
    assert new.key in world.recorder.confirmed
    state = await world.state("user0")
    assert state.history_cursor == new.at
    assert state.last_watched_movie is not None
    assert state.last_watched_movie.ref == ItemRef.movie(3)
    byw = state.managed_list(ManagedListKind.BECAUSE_WATCHED_MOVIES)
    assert byw is not None
    assert byw.anchor == ItemRef.movie(3)


@pytest.mark.anyio
async def test_recommender_down_loses_nothing(make_world):
    """With the recommender down the cursor stays; the next sync pushes what was missed."""
    world = make_world()
    await ready(world)
    before = await world.state("user0")
    world.clock.advance(timedelta(hours=2))
    new = world.source.add_view("user0", ItemRef.movie(5), world.clock.now)
    world.plan.fail("recommender.*", DOWN, times=None)

    report = await world.users.sync("user0")

    assert not report.ok
    assert new.key not in world.recorder.confirmed
    during = await world.state("user0")
    assert during.history_cursor == before.history_cursor
    assert during.activity == before.activity  # so the next poll sees the change again
    assert during.next_sync_at == world.clock.now + timedelta(hours=1)
    # The previous picks keep serving.
    assert during.managed_list(ManagedListKind.RECOMMENDED_MOVIES) == before.managed_list(
        ManagedListKind.RECOMMENDED_MOVIES
    )

    world.plan.clear()
    world.clock.advance(timedelta(hours=1))
    assert (await world.users.sync("user0")).ok
    assert new.key in world.recorder.confirmed
    assert (await world.state("user0")).history_cursor == new.at


@pytest.mark.anyio
async def test_partly_confirmed_push_holds_the_cursor_before_the_failure(make_world):
    """When one interaction of a batch is refused, the cursor stops before it."""
    world = make_world()
    await ready(world)
    world.clock.advance(timedelta(hours=2))
    first = world.source.add_view("user0", ItemRef.movie(5), world.clock.now)
    world.clock.advance(timedelta(minutes=1))
    world.source.add_view("user0", ItemRef.movie(9), world.clock.now)
    refused = first

    original = world.recorder.inner.add_interactions

    async def refuse(interactions):
        result = await original([i for i in interactions if i.key != refused.key])
        failed = tuple((i, "refused") for i in interactions if i.key == refused.key)
        return WriteResult(ok=result.ok, failed=failed)

    world.recorder.inner.add_interactions = refuse
    report = await world.users.sync("user0")
    assert report.failed == 1
    cursor = (await world.state("user0")).history_cursor
    assert cursor is not None
    assert cursor < refused.at

    del world.recorder.inner.add_interactions
    world.clock.advance(timedelta(hours=1))
    await world.users.sync("user0")
    assert refused.key in world.recorder.confirmed


@pytest.mark.anyio
async def test_failed_list_write_never_empties_and_is_retried(make_world):
    """A failed apply leaves the list as it was, marks it not OK, and the next sync fixes it."""
    world = make_world()
    await ready(world)
    before = await world.list_items("user0", ManagedListKind.BECAUSE_WATCHED_MOVIES)
    world.clock.advance(timedelta(hours=2))
    world.source.add_view("user0", ItemRef.movie(7), world.clock.now)
    world.plan.fail("sink.apply", DOWN, times=None)

    await world.users.sync("user0")

    assert await world.list_items("user0", ManagedListKind.BECAUSE_WATCHED_MOVIES) == before
    record = (await world.state("user0")).managed_list(ManagedListKind.BECAUSE_WATCHED_MOVIES)
    assert record is not None
    assert not record.synced_ok
    world.plan.clear()
    world.clock.advance(timedelta(hours=1))
    await world.users.sync("user0")
    record = (await world.state("user0")).managed_list(ManagedListKind.BECAUSE_WATCHED_MOVIES)
    assert record is not None
    assert record.synced_ok
    assert record.anchor == ItemRef.movie(7)


@pytest.mark.anyio
async def test_empty_computation_never_empties_a_list(make_world):
    """A recommender that suddenly returns nothing leaves the Recommended lists as they are."""
    world = make_world()
    await ready(world)
    state = await world.state("user0")
    before = await world.all_lists("user0")
    world.recorder.cap_recommend = 0
    world.slot.build([])  # no vector neighbours either: nothing to fall back on

    report = await world.users.sync("user0", force=True)

    assert report.ok
    after = await world.all_lists("user0")
    for kind in (ManagedListKind.RECOMMENDED_MOVIES, ManagedListKind.RECOMMENDED_SHOWS):
        assert after[kind.list_name] == before[kind.list_name]
        assert (await world.state("user0")).managed_list(kind) == state.managed_list(kind)


@pytest.mark.anyio
async def test_finished_playback_stops_continue_watching_without_emptying_it(make_world):
    """Nothing paused any more: the list is left alone and no longer served."""
    world = make_world()
    await ready(world)
    before = await world.list_items("user0", ManagedListKind.CONTINUE_WATCHING)
    assert before
    for ref in before:
        world.source.remove_playback("user0", ref)

    await world.users.sync("user0")

    assert await world.list_items("user0", ManagedListKind.CONTINUE_WATCHING) == before
    record = (await world.state("user0")).managed_list(ManagedListKind.CONTINUE_WATCHING)
    assert record is not None
    assert not record.synced_ok
    # ... and that is settled: the next poll without activity is the cheap one.
    world.plan.calls.clear()
    assert (await world.users.sync("user0")).skipped == 1
    assert world.plan.count("interactions.*") == 1


@pytest.mark.anyio
async def test_continue_watching_is_newest_first_without_finished(make_world):
    """Paused titles, newest first; one past the finished threshold is left out."""
    world = make_world()
    await ready(world)
    now = world.clock.now
    world.source.set_playback("user0", PlaybackProgress(ItemRef.tv(2), 10, now))
    world.source.set_playback("user0", PlaybackProgress(ItemRef.movie(2), 99, now))

    await world.users.sync("user0")

    items = await world.list_items("user0", ManagedListKind.CONTINUE_WATCHING)
    assert items[0] == ItemRef.tv(2)
    assert ItemRef.movie(2) not in items


@pytest.mark.anyio
async def test_cold_start_fills_from_the_highest_rated_title(make_world):
    """Fewer than 5 recommender picks: neighbours of the best-rated title, not the last watched."""
    world = make_world()
    await ready(world)
    world.recorder.cap_recommend = 2
    state = await world.state("user0")
    seed = state.highest_rated_movie
    assert seed is not None
    assert state.last_watched_movie is not None
    assert seed.ref != state.last_watched_movie.ref

    await world.users.sync("user0", force=True)

    picks = await world.list_items("user0", ManagedListKind.RECOMMENDED_MOVIES)
    own = await world.recorder.recommend("user0", media_type=MediaType.MOVIE, count=22)
    seen = {i.ref for i in await world.source.history("user0")}
    seen |= {i.ref for i in await world.source.ratings("user0")}
    neighbours = [
        ref
        for ref, _ in world.slot.nearest(seed.ref, k=40, media_type=MediaType.MOVIE, exclude=seen)
        if ref not in own
    ]
    assert picks[:2] == [ref for ref in own if ref not in seen][:2]
    assert picks[2:] == neighbours[: len(picks) - 2]
    assert len(picks) == 12


@pytest.mark.anyio
async def test_because_you_watched_is_a_weighted_blend(make_world):
    """The list interleaves item-to-item and vector neighbours 60/40, watched titles excluded."""
    world = make_world()
    await ready(world)
    state = await world.state("user0")
    anchor = state.last_watched_movie
    assert anchor is not None
    seen = {i.ref for i in await world.source.history("user0")}
    seen |= {i.ref for i in await world.source.ratings("user0")}
    similar = await world.recorder.similar(
        anchor.ref, count=20, media_type=MediaType.MOVIE, target_user="user0"
    )
    vectors = [
        ref
        for ref, _ in world.slot.nearest(anchor.ref, k=20, media_type=MediaType.MOVIE, exclude=seen)
    ]
    expected = blend(similar, vectors, size=10, weight=0.6, exclude=seen | {anchor.ref})

    await world.users.sync("user0", force=True)
    picks = await world.list_items("user0", ManagedListKind.BECAUSE_WATCHED_MOVIES)

    # The exact 60/40 interleave is property-tested on the planner; here the wiring: the list
    # is the planner's blend of the recommender's item-to-item and the vector neighbours.
    assert tuple(picks) == expected.items
    assert expected.from_primary > 0
    assert expected.from_secondary > 0


@pytest.mark.anyio
async def test_existing_list_with_the_same_name_is_adopted(make_world):
    """A list named like a managed one is reused (its items replaced), never duplicated."""
    world = make_world()
    await world.content.run()
    handle = await world.sink.ensure_list("user0", ManagedListKind.RECOMMENDED_MOVIES.list_name)
    await world.sink.apply("user0", handle.list_id, ListDiff(add=(ItemRef.movie(999),)))

    await world.users.sync("user0")

    names = [h.name for h in world.sink.lists("user0")]
    assert names.count(ManagedListKind.RECOMMENDED_MOVIES.list_name) == 1
    record = (await world.state("user0")).managed_list(ManagedListKind.RECOMMENDED_MOVIES)
    assert record is not None
    assert record.list_id == handle.list_id
    assert ItemRef.movie(999) not in await world.sink.items("user0", handle.list_id)


@pytest.mark.anyio
async def test_account_limits_are_respected(make_world):
    """A free account gets only the lists and items it may hold; the rest fall back."""
    world = make_world()
    world.sink.set_limits("user0", AccountLimits(max_lists=2, max_items_per_list=5))
    await world.content.run()

    report = await world.users.sync("user0")

    assert report.ok
    assert len(world.sink.lists("user0")) == 2
    state = await world.state("user0")
    assert {r.kind for r in state.lists} == set(KINDS[:2])
    for handle in world.sink.lists("user0"):
        assert handle.item_count == 5


@pytest.mark.anyio
async def test_excluded_genres_never_reach_the_lists(make_world):
    """Titles in a genre the user excluded are filtered out of every pick list."""
    world = make_world()
    await ready(world)
    state = await world.state("user0")
    await world.store.put_user(
        attrs.evolve(state, preferences=Preferences(excluded_movie_genres={35}))
    )

    await world.users.sync("user0", force=True)

    titles = {t.ref: t for t in world.catalog.titles}
    for kind in (ManagedListKind.RECOMMENDED_MOVIES, ManagedListKind.BECAUSE_WATCHED_MOVIES):
        for ref in await world.list_items("user0", kind):
            assert 35 not in {g.id for g in titles[ref].genres}


@pytest.mark.anyio
async def test_lease_held_by_another_worker(make_world):
    """A user another worker is syncing is not synced twice."""
    world = make_world()
    await world.store.acquire_lease("user:user0", "someone-else", timedelta(minutes=5))
    with pytest.raises(LeaseHeld):
        await world.users.sync("user0")
    world.clock.advance(timedelta(minutes=6))  # the other worker died: its lease expires
    assert (await world.users.sync("user0")).pushed > 0


@pytest.mark.anyio
async def test_store_failure_is_a_sync_error_and_records_nothing(make_world):
    """Without the store nothing is recorded; the error carries the report."""
    world = make_world()
    await world.content.run()
    world.plan.fail("store.save_user", DOWN)
    with pytest.raises(SyncError) as caught:
        await world.users.sync("user0")
    assert caught.value.report.pushed > 0
    assert await world.store.get_user("user0") is None
    assert (await world.users.sync("user0")).ok


@pytest.mark.anyio
async def test_cadence_follows_feed_requests_and_real_activity(make_world):
    """Many feed requests make a user hot; Trakt activity a month old makes them dormant."""
    world = make_world()
    await ready(world)
    await world.store.record_feed_requests(
        [("user0", world.clock.now - timedelta(hours=n)) for n in range(14)]
    )
    await world.users.sync("user0")
    state = await world.state("user0")
    assert state.cadence is CadenceTier.HOT
    assert state.next_sync_at == world.clock.now + timedelta(hours=1)

    # Polling does not count as activity: a month later, with polls in between, dormant.
    for _ in range(5):
        world.clock.advance(timedelta(days=7))
        await world.users.sync("user1")
    state = await world.state("user1")
    assert state.activity_moved_at is not None
    assert state.activity_moved_at < world.clock.now - timedelta(days=30)
    assert state.cadence is CadenceTier.DORMANT
    assert state.next_sync_at == world.clock.now + timedelta(days=7)


@pytest.mark.anyio
async def test_due_and_sweep(make_world):
    """Due users are swept; after the sweep nobody is due until their interval passes."""
    world = make_world()
    await world.content.run()
    for user_id in world.source.user_ids:
        await world.store.put_user(UserState(user_id))
    assert list(await world.users.due()) == sorted(world.source.user_ids)

    sweep = await world.users.sweep(concurrency=3)

    assert sweep.ok
    assert len(sweep.reports) == len(world.source.user_ids)
    assert await world.users.due() == []
    world.clock.advance(timedelta(days=2))
    assert len(await world.users.due()) == len(world.source.user_ids)


class GaugedSource(InteractionSource):
    """Counts activity polls in flight, to observe the sweep's concurrency."""

    def __init__(self, inner: InteractionSource) -> None:
        self.inner = inner
        self.in_flight = 0
        self.peak = 0

    async def activity(self, user_id: str) -> ActivityStamp:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        await asyncio.sleep(0.001)
        self.in_flight -= 1
        return await self.inner.activity(user_id)

    async def history(self, user_id, *, since=None):
        return await self.inner.history(user_id, since=since)

    async def ratings(self, user_id):
        return await self.inner.ratings(user_id)

    async def watchlist(self, user_id):
        return await self.inner.watchlist(user_id)

    async def playback(self, user_id):
        return await self.inner.playback(user_id)


@pytest.mark.anyio
async def test_sweep_concurrency_is_bounded(make_world):
    """At most ``concurrency`` users are synced at once, and more than one is."""
    world = make_world()
    await world.content.run()
    gauge = GaugedSource(world.source)
    users = UserSync(
        interactions=gauge,
        recommender=world.recorder,
        sink=world.sink,
        store=world.store,
        index=world.slot,
        config=UserSyncConfig(recommended_count=12, because_watched_count=10),
        clock=world.clock,
    )
    sweep = await users.sweep(users=world.source.user_ids, concurrency=3)
    assert len(sweep.reports) == len(world.source.user_ids)
    assert 1 < gauge.peak <= 3


@pytest.mark.anyio
async def test_sweep_skips_a_user_whose_lease_is_held(make_world):
    """A held lease is reported, not fatal, and the other users are synced."""
    world = make_world()
    await world.content.run()
    await world.store.acquire_lease("user:user1", "someone-else", timedelta(minutes=5))
    sweep = await world.users.sweep(users=["user0", "user1", "user2"])
    assert sweep.lease_held == ("user1",)
    assert sorted(r.job for r in sweep.reports) == ["user:user0", "user:user2"]


@pytest.mark.anyio
async def test_runs_on_the_sqlite_store(make_world, tmp_path):
    """The embedded default's store: state, history and lists survive a reopened file."""
    path = tmp_path / "state.db"
    world = make_world(store=SqliteStateStore(path))
    await ready(world, ["user0", "user1"])
    world.clock.advance(timedelta(hours=1))
    world.source.add_view("user0", ItemRef.movie(3), world.clock.now)
    await world.users.sync("user0")
    state = await world.state("user0")

    reopened = SqliteStateStore(path)
    assert await reopened.get_user("user0") == state
    assert state.movies_watched + state.shows_watched == 9
    for kind in KINDS:
        record = state.managed_list(kind)
        assert record is not None
        assert record.synced_ok
    await reopened.aclose()
    await world.store.aclose()


@pytest.mark.anyio
async def test_a_future_dated_view_never_hides_later_views(make_world):
    """A view stamped 3 days ahead (a skewed device clock) is pushed, but the cursor stays at
    the sync's clock, so a real view an hour later is still read by the next sync."""
    world = make_world()
    await ready(world)
    future = world.source.add_view("user0", ItemRef.movie(1), world.clock.now + timedelta(days=3))
    world.clock.advance(timedelta(minutes=1))
    await world.users.sync("user0")
    state = await world.state("user0")
    assert future.key in world.recorder.confirmed
    assert state.history_cursor is not None
    assert state.history_cursor <= world.clock.now

    world.clock.advance(timedelta(hours=1))
    later = world.source.add_view("user0", ItemRef.movie(2), world.clock.now)
    await world.users.sync("user0")
    assert later.key in world.recorder.confirmed


@pytest.mark.anyio
async def test_an_empty_recompute_still_makes_the_user_fresh(make_world):
    """After a recompute that found nothing for one media type (or nothing at all), an
    unchanged user costs exactly one interaction-source call again."""
    world = make_world()
    await ready(world)
    world.recorder.cap_recommend = 0
    world.slot.build([])
    world.clock.advance(timedelta(days=2))  # the lists are due a periodic recompute
    await world.users.sync("user0")
    world.clock.advance(timedelta(hours=1))
    world.plan.calls.clear()

    report = await world.users.sync("user0")

    assert world.plan.count("interactions.*") == 1
    assert world.plan.count("recommender.*") == 0
    assert world.plan.count("sink.*") == 0
    assert report.api_calls == 1


@pytest.mark.anyio
async def test_a_user_with_nothing_to_recommend_costs_one_call(make_world):
    """No lists at all (nothing to recommend): the next unchanged poll is still one call."""
    world = make_world()
    await world.content.run()
    world.recorder.cap_recommend = 0
    world.slot.build([])
    world.source.set_playback("user1", PlaybackProgress(ItemRef.movie(9), 99.0, world.clock.now))
    await world.users.sync("user1")
    state = await world.state("user1")
    world.plan.calls.clear()

    await world.users.sync("user1")

    assert world.plan.count("interactions.*") == 1, world.plan.calls
    assert world.plan.count("recommender.*") == 0
    assert state.picks_computed_at is not None


@pytest.mark.anyio
async def test_a_failed_read_of_a_list_keeps_its_record_as_the_last_write_left_it(make_world):
    """A failed account read and a failed list read follow one rule: a record says whether
    the last write succeeded, so a read that failed changes nothing in it."""
    world = make_world()
    await ready(world)
    before = (await world.state("user0")).lists
    for operation in ("sink.account", "sink.snapshot"):
        world.plan.fail(operation, DOWN, times=None)
        report = await world.users.sync("user0", force=True)
        world.plan.clear()
        assert not report.ok
        after = (await world.state("user0")).lists
        assert {(r.kind, r.list_id, r.synced_ok, r.item_count) for r in after} == {
            (r.kind, r.list_id, r.synced_ok, r.item_count) for r in before
        }, operation


@pytest.mark.anyio
async def test_cold_start_needs_no_recommender_for_a_new_user(make_world):
    """The recommender is down for a brand-new user: Recommended still comes from the vector
    neighbours of their highest-rated title."""
    world = make_world()
    await world.content.run()
    world.plan.fail("recommender.recommend", DOWN, times=None)
    await world.users.sync("user0")
    state = await world.state("user0")
    assert state.highest_rated_movie is not None
    picks = await world.list_items("user0", ManagedListKind.RECOMMENDED_MOVIES)
    assert len(picks) >= 5
    record = state.managed_list(ManagedListKind.RECOMMENDED_MOVIES)
    assert record is not None
    assert record.synced_ok


@pytest.mark.anyio
async def test_vector_queries_run_off_the_event_loop(make_world, monkeypatch):
    """Because You Watched and cold start read the vector index in a worker thread: a query
    (a matrix product that may wait on busy BLAS threads) never holds up the loop."""
    world = make_world()
    await ready(world, ["user0"])
    threads = []
    nearest = world.slot.nearest

    def spy(query, **options):
        threads.append(threading.get_ident())
        return nearest(query, **options)

    monkeypatch.setattr(world.slot, "nearest", spy)
    world.recorder.cap_recommend = 2  # cold start reads the index too
    await world.users.sync("user0", force=True)
    picks = await world.list_items("user0", ManagedListKind.BECAUSE_WATCHED_MOVIES)
    assert picks
    assert len(threads) >= 3  # both anchors, and the cold start's seed
    assert threading.get_ident() not in threads
