"""A small, deterministic world of in-memory adapters for end-to-end sync tests.

Every port is wrapped in a ``reclio.testing.faults`` wrapper sharing one ``FaultPlan``, so a
test can count calls per port and make any call fail or crash. The recommender is the real
``LocalRecommender``, wrapped once more to record what it confirmed.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from reclio import bootstrap
from reclio.adapters.local import LocalRecommender, LocalRecommenderConfig
from reclio.adapters.memory import (
    ExactVectorIndex,
    HashingEmbedder,
    InMemoryCatalogSource,
    InMemoryInteractionSource,
    InMemoryListSink,
    InMemoryStateStore,
)
from reclio.adapters.shared_index import IndexSlot
from reclio.config import ReclioConfig
from reclio.domain import (
    Genre,
    Interaction,
    ItemRef,
    ManagedListKind,
    MediaType,
    PlaybackProgress,
    Title,
    UserState,
    WriteResult,
    genre_name,
)
from reclio.ports import Recommender, StateStore
from reclio.sync import ContentSync, ContentSyncConfig, UserSync, UserSyncConfig
from reclio.testing.faults import (
    FaultPlan,
    FlakyCatalogSource,
    FlakyEmbedder,
    FlakyInteractionSource,
    FlakyListSink,
    FlakyRecommender,
    FlakyStateStore,
)

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

# (movie genres, show genres, words) per theme: overviews share words within a theme.
THEMES = (
    ((878, 12), (10765,), "space ship planet crew alien star orbit signal"),
    ((80, 53), (80, 9648), "detective murder city police heist crime gang"),
    ((35, 10749), (35,), "wedding friends love comedy party summer town"),
    ((27, 9648), (9648,), "house ghost night curse dark haunted forest"),
)


@attrs.define
class Clock:
    """A clock tests move by hand."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


class RecordingRecommender(Recommender):
    """Delegates to a recommender and remembers every interaction and item it confirmed."""

    def __init__(self, inner: Recommender) -> None:
        self.inner = inner
        self.confirmed: set[tuple[object, ...]] = set()
        self.items: dict[ItemRef, Title] = {}
        self.confirmed_hashes: set[tuple[ItemRef, str]] = set()
        self.cap_recommend: int | None = None

    async def upsert_items(self, titles: Sequence[Title]) -> WriteResult[ItemRef]:
        result = await self.inner.upsert_items(titles)
        ok = set(result.ok)
        self.items.update({t.ref: t for t in titles if t.ref in ok})
        self.confirmed_hashes.update((t.ref, t.content_hash()) for t in titles if t.ref in ok)
        return result

    async def add_interactions(
        self, interactions: Sequence[Interaction]
    ) -> WriteResult[Interaction]:
        result = await self.inner.add_interactions(interactions)
        self.confirmed.update(i.key for i in result.ok)
        return result

    async def recommend(
        self,
        user_id: str,
        *,
        media_type: MediaType,
        count: int,
        exclude: Collection[ItemRef] = (),
    ) -> Sequence[ItemRef]:
        picks = await self.inner.recommend(
            user_id, media_type=media_type, count=count, exclude=exclude
        )
        return list(picks)[: self.cap_recommend] if self.cap_recommend is not None else picks

    async def similar(
        self,
        ref: ItemRef,
        *,
        count: int,
        media_type: MediaType | None = None,
        target_user: str | None = None,
        exclude: Collection[ItemRef] = (),
    ) -> Sequence[ItemRef]:
        return await self.inner.similar(
            ref, count=count, media_type=media_type, target_user=target_user, exclude=exclude
        )


def make_titles(movies: int = 60, shows: int = 40) -> list[Title]:
    """A deterministic catalog: each title belongs to one theme and uses its words."""
    rng = random.Random(7)  # noqa: S311 - test data, not secrets
    titles = []
    for media, count in ((MediaType.MOVIE, movies), (MediaType.TV, shows)):
        for n in range(1, count + 1):
            theme = THEMES[n % len(THEMES)]
            ids = theme[0] if media is MediaType.MOVIE else theme[1]
            words = theme[2].split()
            overview = " ".join(rng.choice(words) for _ in range(12))
            titles.append(
                Title(
                    ref=ItemRef(media, n),
                    title=f"{media.noun} {n}",
                    overview=overview,
                    genres=[Genre(i, genre_name(media, i) or str(i)) for i in ids],
                    year=1990 + n % 30,
                    vote_average=5 + (n % 5),
                    vote_count=100 * n,
                    popularity=1000 / n,
                )
            )
    return titles


@attrs.define
class World:
    """Every adapter of one embedded-default installation, wrapped for fault injection."""

    clock: Clock
    plan: FaultPlan
    catalog: InMemoryCatalogSource
    source: InMemoryInteractionSource
    recorder: RecordingRecommender
    sink: InMemoryListSink
    store: StateStore
    slot: IndexSlot
    content: ContentSync
    users: UserSync

    async def state(self, user_id: str) -> UserState:
        state = await self.store.get_user(user_id)
        assert state is not None
        return state

    async def list_items(self, user_id: str, kind: ManagedListKind) -> list[ItemRef]:
        for handle in self.sink.lists(user_id):
            if handle.name == kind.list_name:
                return list(await self.sink.items(user_id, handle.list_id))
        return []

    async def all_lists(self, user_id: str) -> dict[str, list[ItemRef]]:
        return {
            handle.name: list(await self.sink.items(user_id, handle.list_id))
            for handle in self.sink.lists(user_id)
        }


def seed_activity(source: InMemoryInteractionSource, users: int = 12) -> None:
    """Users who each like one theme: views, a few ratings, a bookmark, a paused title."""
    titles = make_titles()
    by_theme: dict[int, list[Title]] = {}
    for title in titles:
        by_theme.setdefault(title.ref.tmdb_id % len(THEMES), []).append(title)
    for u in range(users):
        user_id = f"user{u}"
        rng = random.Random(u)  # noqa: S311 - test data, not secrets
        liked = by_theme[u % len(THEMES)]
        picked = rng.sample(liked, 8)
        for k, title in enumerate(picked):
            at = START - timedelta(days=30 - k)
            source.add_view(user_id, title.ref, at)
            if k % 3 == 0:
                source.add_rating(user_id, title.ref, 10 - k % 4, at + timedelta(hours=1))
        source.add_bookmark(user_id, liked[-1].ref, START - timedelta(days=2))
        if u % 2 == 0:
            source.set_playback(
                user_id, PlaybackProgress(liked[-2].ref, 40.0, START - timedelta(days=1))
            )


WorldFactory = Callable[..., World]


@pytest.fixture
def make_world() -> WorldFactory:
    """Build a fresh world; keyword options go to the sync configs."""

    def build(
        *,
        user_config: UserSyncConfig | None = None,
        content_config: ContentSyncConfig | None = None,
        users: int = 12,
        store: StateStore | None = None,
    ) -> World:
        clock = Clock()
        plan = FaultPlan()
        catalog = InMemoryCatalogSource(make_titles(), clock=clock)
        source = InMemoryInteractionSource(clock=clock)
        seed_activity(source, users)
        # Refits only when asked: picks then depend on interactions, not on when a fit ran.
        recorder = RecordingRecommender(
            LocalRecommender(LocalRecommenderConfig(refit_fraction=1e9))
        )
        sink = InMemoryListSink()
        store = store or InMemoryStateStore(clock=clock)
        # The graph comes from the composition root, with every adapter overridden.
        runtime = bootstrap.build(
            ReclioConfig.embedded_default(),
            store=FlakyStateStore(store, plan),
            catalog=FlakyCatalogSource(catalog, plan),
            interactions=FlakyInteractionSource(source, plan),
            recommender=FlakyRecommender(recorder, plan),
            sink=FlakyListSink(sink, plan),
            embedder=FlakyEmbedder(HashingEmbedder(64), plan),
            index=ExactVectorIndex,
            clock=clock,
            content_sync=content_config or ContentSyncConfig(batch_size=16, worker_id="content"),
            user_sync=user_config
            or UserSyncConfig(recommended_count=12, because_watched_count=10, worker_id="worker"),
        )
        jobs = runtime.jobs
        return World(
            clock,
            plan,
            catalog,
            source,
            recorder,
            sink,
            store,
            jobs.index,
            jobs.content_sync,
            jobs.user_sync,
        )

    return build
