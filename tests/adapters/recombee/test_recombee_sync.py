"""Content and user sync on Recombee, with the local Recombee failing mid-batch.

ContentSync and UserSync are built directly: in-memory catalog, interactions, lists, state
and vectors, and a RecombeeRecommender on the local Recombee. Whatever fails and wherever:
nothing is lost, nothing is marked synced that Recombee does not hold, the history cursor
never passes an interaction Recombee did not store, and a rerun converges. While Recombee
is down the Recommended rows fall back to the top-genres discover query; they come back
when it does.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from reclio.adapters.memory import (
    ExactVectorIndex,
    HashingEmbedder,
    InMemoryCatalogSource,
    InMemoryInteractionSource,
    InMemoryListSink,
    InMemoryStateStore,
)
from reclio.adapters.recombee import RecombeeRecommender
from reclio.adapters.recombee._wire import item_values
from reclio.adapters.shared_index import IndexSlot
from reclio.domain import Genre, Interaction, InteractionKind, ItemRef, MediaType, Title, genre_name
from reclio.feeds import FeedBuilder
from reclio.ports import CandidateList
from reclio.sync import ContentSync, ContentSyncConfig, UserSync, UserSyncConfig

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
THEMES = (((878, 12), (10765,)), ((80, 53), (80, 9648)), ((35, 10749), (35,)))
KINDS = {
    InteractionKind.VIEW: "detailviews",
    InteractionKind.RATING: "ratings",
    InteractionKind.BOOKMARK: "bookmarks",
}


@attrs.define
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now


def make_titles() -> list[Title]:
    titles = []
    for media, count in ((MediaType.MOVIE, 45), (MediaType.TV, 30)):
        for n in range(1, count + 1):
            movie_genres, show_genres = THEMES[n % len(THEMES)]
            ids = movie_genres if media is MediaType.MOVIE else show_genres
            titles.append(
                Title(
                    ItemRef(media, n),
                    f"{media.noun} {n}",
                    overview=f"theme {n % len(THEMES)} story",
                    genres=[Genre(i, genre_name(media, i) or str(i)) for i in ids],
                    year=1990 + n % 30,
                    vote_count=100 * n,
                    popularity=1000 / n,
                )
            )
    return titles


def seed(source: InMemoryInteractionSource, users: int) -> None:
    titles = make_titles()
    for u in range(users):
        rng = random.Random(u)  # noqa: S311 - test data
        liked = [t for t in titles if t.ref.tmdb_id % len(THEMES) == u % len(THEMES)]
        for k, title in enumerate(rng.sample(liked, 10)):
            at = START - timedelta(days=30 - k)
            source.add_view(f"user{u}", title.ref, at)
            if k % 3 == 0:
                source.add_rating(f"user{u}", title.ref, 9 - k % 4, at + timedelta(hours=1))
        source.add_bookmark(f"user{u}", liked[-1].ref, START - timedelta(days=2))


@attrs.define
class World:
    server: object
    database: str
    clock: Clock
    recombee: RecombeeRecommender
    store: InMemoryStateStore
    source: InMemoryInteractionSource
    content: ContentSync
    users: UserSync

    def on_server(self, interaction: Interaction) -> bool:
        table = self.server.interactions(self.database, KINDS[interaction.kind])
        key = (interaction.user_id, interaction.ref.item_id, interaction.at.timestamp())
        return key in table

    async def interactions(self, user_id: str) -> list[Interaction]:
        return [
            *await self.source.history(user_id),
            *await self.source.ratings(user_id),
            *await self.source.watchlist(user_id),
        ]

    async def records(self):
        out = []
        async for batch in self.store.iter_titles():
            out.extend(batch)
        return out


@pytest.fixture
async def world(make_config, server, database):
    clock = Clock()
    recombee = RecombeeRecommender(make_config(batch_size=4))
    store = InMemoryStateStore(clock=clock)
    source = InMemoryInteractionSource(clock=clock)
    seed(source, users=6)
    slot = IndexSlot(ExactVectorIndex)
    content = ContentSync(
        catalog=InMemoryCatalogSource(make_titles(), clock=clock),
        recommender=recombee,
        embedder=HashingEmbedder(32),
        store=store,
        index=slot,
        config=ContentSyncConfig(
            pages={CandidateList.POPULAR: 5}, batch_size=16, worker_id="content"
        ),
        clock=clock,
    )
    users = UserSync(
        interactions=source,
        recommender=recombee,
        sink=InMemoryListSink(),
        store=store,
        index=slot,
        config=UserSyncConfig(
            push_batch_size=10, recommended_count=12, because_watched_count=10, worker_id="w"
        ),
        clock=clock,
    )
    yield World(server, database, clock, recombee, store, source, content, users)
    await recombee.aclose()


async def check_content(world: World) -> set[ItemRef]:
    """Every title marked synced is in Recombee with the values of its synced version."""
    marked = set()
    for record in await world.records():
        if record.synced_hash is None:
            continue
        marked.add(record.title.ref)
        values = world.server.item_values(world.database, record.title.ref.item_id)
        assert values is not None, f"{record.title.ref} marked synced but missing"
        if record.synced_hash == record.content_hash:
            assert values == item_values(record.title), record.title.ref
    return marked


# -- content sync ---------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("after", [0, 2, 3, 5, 9, 14])
async def test_content_sync_survives_recombee_failing_mid_batch(world, server, after):
    """Recombee down from its ``after``-th request on: nothing wrongly synced; rerun heals."""
    server.fail_requests(503, after=after)
    report = await world.content.run()
    server.clear_faults()
    marked = await check_content(world)
    assert report.pushed == len(marked)
    assert report.failed == len(make_titles()) - len(marked)
    assert report.failed > 0
    again = await world.content.run()
    assert again.failed == 0
    assert await check_content(world) == {t.ref for t in make_titles()}


@pytest.mark.anyio
async def test_content_sync_with_refused_members_marks_only_the_written(world, server):
    """Every fourth member refused: exactly the rest are marked synced; a rerun pushes those."""
    await world.recombee.ensure_schema()
    server.fail_members(500, every=4)
    report = await world.content.run()
    server.clear_faults()
    marked = await check_content(world)
    assert report.failed == len(make_titles()) - len(marked) > 0
    assert await check_content(world) == marked
    await world.content.run()
    assert await check_content(world) == {t.ref for t in make_titles()}


# -- user sync ------------------------------------------------------------------------------


async def check_cursor(world: World, user_id: str) -> None:
    """The cursor never passes an interaction Recombee does not hold."""
    state = await world.store.get_user(user_id)
    if state is None or state.history_cursor is None:
        return
    for interaction in await world.interactions(user_id):
        if not world.on_server(interaction):
            assert state.history_cursor < interaction.at, f"cursor passed {interaction}"


@pytest.mark.anyio
@pytest.mark.parametrize("fault", ["down after 1", "down after 2", "down after 4", "members"])
async def test_user_sync_survives_recombee_failing_mid_batch(world, server, fault):
    """Pushes fail part-way: the cursor holds before the first loss; a rerun stores all."""
    await world.content.run()
    server.reset_counters()
    if fault == "members":
        server.fail_members(503, every=3)
    else:
        server.fail_requests(503, after=int(fault.rsplit(" ", 1)[1]))
    report = await world.users.sync("user0")
    server.clear_faults()
    interactions = await world.interactions("user0")
    stored = [i for i in interactions if world.on_server(i)]
    assert report.failed > 0
    assert len(stored) < len(interactions)
    await check_cursor(world, "user0")

    world.clock.now += timedelta(hours=2)
    second = await world.users.sync("user0")
    assert second.failed == 0, second.errors
    assert all(world.on_server(i) for i in interactions), "an interaction was lost"
    state = await world.store.get_user("user0")
    assert state.history_cursor == max(i.at for i in interactions)


@pytest.mark.anyio
async def test_user_sync_requests(world, server):
    """A first user sync pushes in batches of at most batch_size requests, then four reads."""
    await world.content.run()
    server.reset_counters()
    await world.users.sync("user1")
    paths = [r.path for r in server.requests]
    assert paths.count("/recomms/users/user1/items/") == 2
    assert all(r.members <= 4 for r in server.requests)
    assert len([p for p in paths if p.startswith("/recomms/items/")]) == 2


# -- feeds ----------------------------------------------------------------------------------


def served_by(response, feed_id: str) -> str:
    feed = next(f for f in response.feeds if f.id == feed_id)
    return next(a.link for a in feed.provenance if a.outcome.value == "served")


@pytest.mark.anyio
async def test_recommended_rows_fall_back_while_recombee_is_down_and_come_back(world, server):
    """Down: a new user's Recommended rows are the cold start (vector neighbours of their
    highest-rated title, which needs no recommender) or, without one, the top-genres
    discover query. Up again: the recommender's lists."""
    await world.content.run()
    server.fail_requests(503)
    report = await world.users.sync("user2")
    assert any("recommend" in line for line in report.errors)
    feeds = FeedBuilder(world.store)
    down = await feeds.build("user2")
    assert len(down.feeds) == 10
    state = await world.store.get_user("user2")
    rows = {MediaType.MOVIE: "recommended_movies", MediaType.TV: "recommended_shows"}
    served = {media: served_by(down, feed_id) for media, feed_id in rows.items()}
    for media, feed_id in rows.items():
        expected = "top_genres_discover"
        if state.highest_rated(media) is not None:
            expected = f"managed_list:{feed_id}"
        assert served[media] == expected
    assert state.history_cursor is None  # nothing was confirmed, nothing is skipped later

    server.clear_faults()
    world.clock.now += timedelta(hours=2)
    healed = await world.users.sync("user2")
    assert healed.failed == 0, healed.errors
    up = await feeds.build("user2")
    assert served_by(up, "recommended_movies") == "managed_list:recommended_movies"
    assert served_by(up, "recommended_shows") == "managed_list:recommended_shows"
