"""User sync end to end on the Trakt adapters, against a local fake Trakt on 127.0.0.1.

The graph comes from the composition root (``bootstrap.build`` with the Trakt source and sink
as overrides, the in-memory store, the local recommender). The fake Trakt enforces one write
per second per user, the account's list limits, and (when asked) answers list reads as they
were before the last write. Only the first test runs at Trakt's real write rate, with two
writes; the others let the fake accept writes 20 times faster so the suite stays quick.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from reclio import bootstrap
from reclio.adapters.local import LocalRecommender, LocalRecommenderConfig
from reclio.adapters.memory import (
    ExactVectorIndex,
    HashingEmbedder,
    InMemoryCatalogSource,
    InMemoryStateStore,
)
from reclio.adapters.trakt import (
    TraktConfig,
    TraktInteractionSource,
    TraktListSink,
    TraktSession,
    TraktWritePacer,
    users_add,
    users_list,
)
from reclio.config import HttpPolicy, ReclioConfig
from reclio.domain import ManagedListKind, TmdbQuerySource, TraktListSource, UserState
from reclio.errors import LeaseHeld
from reclio.sync import ContentSyncConfig, UserSyncConfig
from reclio.testing.trakt_server import FakeTraktServer, Reply
from tests.integration.conftest import make_titles

MOVIES = ManagedListKind.RECOMMENDED_MOVIES
POLICY = HttpPolicy(max_attempts=2, backoff_initial=0.01, backoff_max=2.0)


@attrs.define
class TraktWorld:
    """Every adapter of one installation on the fake Trakt."""

    trakt: FakeTraktServer
    store: InMemoryStateStore
    session: TraktSession
    runtime: bootstrap.Runtime

    @property
    def users(self):
        return self.runtime.jobs.user_sync

    async def state(self, user_id: str) -> UserState:
        state = await self.store.get_user(user_id)
        assert state is not None
        return state

    async def sync(self, user_id: str, **options):
        """Sync once; returns the report and the Trakt requests the sync made."""
        before = len(self.trakt.requests)
        report = await self.users.sync(user_id, **options)
        return report, self.trakt.requests[before:]


@pytest.fixture
async def make_world():
    """Builds worlds on a fake Trakt; closes their sessions after the test."""
    made: list[TraktWorld] = []

    async def build(trakt, **options):
        world = await _world(trakt, **options)
        made.append(world)
        return world

    yield build
    for world in made:
        await world.session.aclose()


async def _world(trakt, *, writes_per_second=20.0, store=None, worker="worker"):
    store = store or InMemoryStateStore()
    config = TraktConfig(
        trakt.client_id,
        trakt.client_secret,
        base_url=trakt.base_url,
        writes_per_second=writes_per_second,
        requests_per_second=500,
    )
    session = TraktSession(
        config, store=store, policy=POLICY, pacer=TraktWritePacer(writes_per_second)
    )
    runtime = bootstrap.build(
        ReclioConfig.embedded_default(),
        store=store,
        catalog=InMemoryCatalogSource(make_titles()),
        interactions=TraktInteractionSource(session),
        recommender=LocalRecommender(LocalRecommenderConfig(refit_fraction=1e9)),
        sink=TraktListSink(session),
        embedder=HashingEmbedder(64),
        index=ExactVectorIndex,
        content_sync=ContentSyncConfig(batch_size=32, worker_id="content"),
        user_sync=UserSyncConfig(
            recommended_count=8,
            because_watched_count=6,
            worker_id=worker,
            list_read_lag=timedelta(minutes=10),
        ),
    )
    await runtime.content_sync.run()
    return TraktWorld(trakt, store, session, runtime)


def seed(trakt, slug, *, plays=12, **account):
    """A user who watched and rated some movies and shows of the test catalog."""
    trakt.add_user(slug, **account)
    now = datetime.now(UTC)
    history = []
    for n in range(plays):
        kind = "movie" if n % 3 else "episode"
        history.append((kind, 1 + n % 40, now - timedelta(days=30, hours=n)))
    trakt.add_history(slug, history)
    trakt.add_rating(slug, "movie", 4, 10, now - timedelta(days=20))
    trakt.add_rating(slug, "show", 3, 9, now - timedelta(days=20))
    trakt.add_watchlist(slug, "movie", 50, now - timedelta(days=3))
    trakt.add_playback(slug, "movie", 7, 40.0, now - timedelta(days=1))


async def connect(world, slug):
    await world.store.put_token(slug, "trakt", world.trakt.oauth_token(slug))


def calls(requests, method=None):
    return [(m, p) for m, p, _ in requests if method is None or m == method]


@pytest.mark.anyio
async def test_free_account_with_four_lists_gets_recommended_movies_at_one_write_a_second(
    make_world,
):
    """Four lists of its own on a free account (five allowed): reclio takes the one free
    slot for Recommended movies, the other rows fall back, no 420 is asked for, and the two
    writes reach Trakt at least a second apart. Unchanged, the next sync is one GET."""
    with FakeTraktServer(write_interval=1.0) as trakt:
        seed(trakt, "alice", own_lists=4)
        world = await make_world(trakt, writes_per_second=1.0)
        await connect(world, "alice")

        report, made = await world.sync("alice")

        assert report.ok, report.errors
        assert trakt.list_names("alice")[4:] == [MOVIES.list_name]
        assert len(trakt.list_titles("alice", MOVIES.list_name)) >= 5
        assert trakt.limit_refusals == 0
        assert trakt.rate_limited_writes == 0
        state = await world.state("alice")
        assert [r.kind for r in state.lists] == [MOVIES]
        record = state.managed_list(MOVIES)
        assert calls(made, "POST") == [
            ("POST", "/users/me/lists"),
            ("POST", f"/users/me/lists/{record.list_id}/items"),
        ]
        assert all(gap >= 1.0 for gap in trakt.write_gaps("alice"))
        assert record.synced_ok
        assert record.item_count == len(trakt.list_titles("alice", MOVIES.list_name))

        feeds = await world.runtime.feed_builder.build("alice")
        by_id = {feed.id: feed for feed in feeds.feeds}
        assert by_id["recommended_movies"].source == TraktListSource(record.list_id)
        assert isinstance(by_id["recommended_shows"].source, TmdbQuerySource)

        report, made = await world.sync("alice")
        assert calls(made) == [("GET", "/sync/last_activities")]
        assert report.api_calls == 1


@pytest.mark.anyio
async def test_a_changed_user_fetches_only_what_changed(make_world):
    """A new play moves only watched_at: one history read from the cursor, no ratings,
    watchlist or playback read; the list diff is written from the sync's own reads."""
    with FakeTraktServer(write_interval=0.05) as trakt:
        seed(trakt, "bea", max_lists=1)
        world = await make_world(trakt)
        await connect(world, "bea")
        await world.sync("bea")

        trakt.add_history("bea", [("movie", 33, datetime.now(UTC) - timedelta(minutes=5))])
        report, made = await world.sync("bea")

        gets = [p for m, p in calls(made, "GET")]
        assert gets[:2] == ["/sync/last_activities", "/sync/history"]
        assert not any(
            p.startswith(("/sync/ratings", "/sync/watchlist", "/sync/playback")) for p in gets
        )
        assert "/users/settings" in gets
        assert report.ok, report.errors
        history_reads = [q for q in trakt.requests[-len(made) :] if q[1] == "/sync/history"]
        assert len(history_reads) == 1
        assert trakt.rate_limited_writes == 0


@pytest.mark.anyio
async def test_a_new_user_with_3000_plays_is_read_completely(make_world):
    """3,000 plays on 12 pages of 250: every one reaches the recommender."""
    with FakeTraktServer(write_interval=0.05) as trakt:
        seed(trakt, "cat", plays=0, max_lists=1)
        start = datetime.now(UTC) - timedelta(days=400)
        trakt.add_history(
            "cat",
            [
                ("movie" if n % 2 else "episode", 1 + n % 40, start + timedelta(minutes=7 * n))
                for n in range(3000)
            ],
        )
        world = await make_world(trakt)
        await connect(world, "cat")

        report, made = await world.sync("cat")

        assert report.ok, report.errors
        assert calls(made).count(("GET", "/sync/history")) == 12
        # Every play is a distinct (title, time): all 3,000 views, 2 ratings, 1 bookmark.
        assert (report.fetched, report.pushed) == (3003, 3003)


@pytest.mark.anyio
async def test_a_failure_in_the_middle_of_a_diff_never_empties_and_the_next_sync_converges(
    make_world,
):
    """The user reshuffled the managed list by hand, so the diff takes three writes; the
    second fails: the list is part of the way (never empty, only titles of before or
    after), and the next sync reaches the target, after which nothing is written."""
    with FakeTraktServer(write_interval=0.05) as trakt:
        seed(trakt, "dan", max_lists=1)
        world = await make_world(trakt)
        await connect(world, "dan")
        await world.sync("dan")
        target = trakt.list_titles("dan", MOVIES.list_name)
        top = [tuple(t.split(":")) for t in target[:2]]
        trakt.edit_list(
            "dan",
            MOVIES.list_name,
            remove=[(kind, int(tmdb)) for kind, tmdb in top],
            add=[("movie", 58), ("movie", 59)],
        )
        before = trakt.list_titles("dan", MOVIES.list_name)
        trakt.fail("POST", "/users/me/lists/*", Reply(503), skip=1, times=POLICY.max_attempts)

        report, made = await world.sync("dan", force=True)

        assert not report.ok
        middle = trakt.list_titles("dan", MOVIES.list_name)
        assert middle
        assert set(middle) <= set(before) | set(target)
        assert not (await world.state("dan")).managed_list(MOVIES).synced_ok

        report, made = await world.sync("dan", force=True)
        assert report.ok, report.errors
        assert trakt.list_titles("dan", MOVIES.list_name) == target
        assert (await world.state("dan")).managed_list(MOVIES).synced_ok

        report, made = await world.sync("dan", force=True)
        assert calls(made, "POST") == []


@pytest.mark.anyio
async def test_reads_that_lag_a_write_are_never_planned_from(make_world):
    """Right after a write Trakt's reads show the list as it was (here: not yet created):
    the next sync neither creates a second list nor rewrites from the stale read; once the
    reads catch up, it writes again."""
    with FakeTraktServer(write_interval=0.05) as trakt:
        seed(trakt, "eve", max_lists=2)
        world = await make_world(trakt)
        await connect(world, "eve")
        await world.sync("eve")
        names = trakt.list_names("eve")
        records = (await world.state("eve")).lists

        trakt.read_lag = 60.0  # every list was written less than a minute ago
        report, made = await world.sync("eve", force=True)

        assert trakt.list_names("eve") == names
        assert calls(made, "POST") == []
        assert any("lag" in error for error in report.errors)
        assert (await world.state("eve")).lists == records

        trakt.read_lag = 0.0
        report, made = await world.sync("eve", force=True)
        assert report.ok, report.errors
        assert trakt.list_names("eve") == names


@pytest.mark.anyio
async def test_a_revoked_user_is_marked_keeps_serving_and_costs_nothing_until_reconnected(
    make_world,
):
    """Trakt revoked the token (another app connected): the refresh is refused, the user is
    marked reconnect-needed, their lists keep serving, later syncs make no request; stored
    new tokens connect them again."""
    with FakeTraktServer(write_interval=0.05) as trakt:
        seed(trakt, "fay", max_lists=1)
        world = await make_world(trakt)
        await connect(world, "fay")
        await world.sync("fay")
        lists = (await world.state("fay")).lists

        trakt.revoke("fay")
        _, made = await world.sync("fay")

        state = await world.state("fay")
        assert state.reconnect_needed is not None
        assert "trakt login fay" in state.reconnect_needed
        assert state.lists == lists
        assert calls(made) == [("GET", "/sync/last_activities"), ("POST", "/oauth/token")]
        feeds = await world.runtime.feed_builder.build("fay")
        served = {f.id: f for f in feeds.feeds}["recommended_movies"].source
        assert served == TraktListSource(lists[0].list_id)
        text, code = await users_list(world.store)
        assert code == 0
        assert "fay: reconnect-needed" in text

        _, made = await world.sync("fay")
        assert made == []

        fresh = trakt.login("fay")  # fay connects again (e.g. through the host's web flow)
        _, code = await users_add(
            world.store,
            "fay",
            access_token=fresh.access_token,
            refresh_token=fresh.refresh_token,
            expires_at=fresh.expires_at.isoformat(),
        )
        assert code == 0
        _, made = await world.sync("fay")
        assert calls(made)[0] == ("GET", "/sync/last_activities")
        assert (await world.state("fay")).reconnect_needed is None
        text, _ = await users_list(world.store)
        assert "fay: connected" in text


@pytest.mark.anyio
async def test_two_workers_never_refresh_one_users_token_twice(make_world):
    """Two workers (their own sessions and user syncs, one store) sync the same user whose
    token is about to expire, at once: one syncs and refreshes once, the other is told the
    user is leased; a second round finds the fresh token."""
    with FakeTraktServer(write_interval=0.05) as trakt:
        seed(trakt, "gus", max_lists=1)
        store = InMemoryStateStore()
        one = await make_world(trakt, store=store, worker="one")
        two = await make_world(trakt, store=store, worker="two")
        issued = trakt.oauth_token("gus")  # a day's token, 5 minutes from its end:
        aged = attrs.evolve(issued, created_at=issued.created_at - timedelta(hours=23, minutes=55))
        await store.put_token("gus", "trakt", aged)

        results = await asyncio.gather(
            one.users.sync("gus"), two.users.sync("gus"), return_exceptions=True
        )

        assert sum(isinstance(r, LeaseHeld) for r in results) == 1
        assert trakt.refreshes["gus"] == 1
        await two.users.sync("gus")
        assert trakt.refreshes["gus"] == 1
