"""The in-memory adapters pass every contract suite, plus what only they promise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from reclio.adapters.memory import (
    ExactVectorIndex,
    HashingEmbedder,
    InMemoryCatalogSource,
    InMemoryInteractionSource,
    InMemoryListSink,
    InMemoryStateStore,
)
from reclio.domain import (
    AccountLimits,
    ActivityStamp,
    Genre,
    ItemRef,
    ListDiff,
    MediaType,
    PlaybackProgress,
    Title,
)
from reclio.errors import AccountLimitExceeded, SourceUnavailable
from reclio.ports import (
    CandidateList,
    CatalogSource,
    Embedder,
    InteractionSource,
    ListSink,
    StateStore,
    VectorIndex,
)
from reclio.testing.contracts.catalog import CatalogSourceContract
from reclio.testing.contracts.embedder import EmbedderContract
from reclio.testing.contracts.interactions import InteractionSourceContract
from reclio.testing.contracts.lists import ListSinkContract
from reclio.testing.contracts.state import ManualClock, StateStoreContract
from reclio.testing.contracts.vectors import VectorIndexContract
from reclio.testing.faults import FaultPlan, FlakyCatalogSource, FlakyStateStore

T0 = datetime(2026, 3, 1, 20, tzinfo=UTC)
DOWN = SourceUnavailable("down", service="memory", operation="test")


def _title(ref: ItemRef, *, popularity: float = 1.0, votes: int = 500, avg: float = 7.0) -> Title:
    return Title(
        ref,
        f"Title {ref}",
        genres=(Genre(18, "Drama"),),
        year=2000 + ref.tmdb_id % 20,
        vote_average=avg,
        vote_count=votes,
        popularity=popularity,
    )


def _catalog(clock: ManualClock) -> InMemoryCatalogSource:
    titles = [_title(ItemRef.movie(n), popularity=float(n)) for n in range(1, 31)]
    titles += [_title(ItemRef.tv(n), popularity=float(n)) for n in range(1, 6)]
    return InMemoryCatalogSource(titles, clock=clock)


class TestInMemoryStateStore(StateStoreContract):
    @pytest.fixture
    def store(self, clock: ManualClock) -> StateStore:
        return InMemoryStateStore(clock=clock)


class TestInMemoryCatalogSource(CatalogSourceContract):
    @pytest.fixture
    def source(self) -> CatalogSource:
        return _catalog(ManualClock(T0))

    @pytest.fixture
    def known_movie(self) -> ItemRef:
        return ItemRef.movie(30)


class TestInMemoryInteractionSource(InteractionSourceContract):
    @pytest.fixture
    def source(self, user_id: str) -> InteractionSource:
        source = InMemoryInteractionSource(clock=ManualClock(T0))
        for n in range(1, 5):
            source.add_view(user_id, ItemRef.movie(n), T0 - timedelta(days=n))
        source.add_view(user_id, ItemRef.tv(9), T0 - timedelta(hours=3))
        source.add_rating(user_id, ItemRef.movie(1), 9, T0 - timedelta(days=1))
        source.add_rating(user_id, ItemRef.movie(2), 2, T0 - timedelta(days=2))
        source.add_bookmark(user_id, ItemRef.movie(77), T0 - timedelta(days=5))
        source.set_playback(user_id, PlaybackProgress(ItemRef.movie(5), 42.0, T0))
        source.add_view("someone-else", ItemRef.movie(1), T0)
        return source


class TestInMemoryListSink(ListSinkContract):
    @pytest.fixture
    def sink(self) -> ListSink:
        return InMemoryListSink(limits=AccountLimits(max_lists=3, max_items_per_list=20))


class TestExactVectorIndex(VectorIndexContract):
    @pytest.fixture
    def index(self) -> VectorIndex:
        return ExactVectorIndex()


class TestHashingEmbedder(EmbedderContract):
    @pytest.fixture
    def embedder(self) -> Embedder:
        return HashingEmbedder()


# -- beyond the contracts ------------------------------------------------------------------


@pytest.mark.anyio
async def test_catalog_pages_and_derived_ranking() -> None:
    """Derived popular lists are paged by page_size in descending popularity."""
    source = _catalog(ManualClock(T0))
    page1 = await source.candidates(CandidateList.POPULAR, MediaType.MOVIE, page=1)
    page2 = await source.candidates(CandidateList.POPULAR, MediaType.MOVIE, page=2)
    assert page1 == [ItemRef.movie(n) for n in range(30, 10, -1)]
    assert page2 == [ItemRef.movie(n) for n in range(10, 0, -1)]
    assert await source.candidates(CandidateList.POPULAR, MediaType.MOVIE, page=3) == []


@pytest.mark.anyio
async def test_catalog_top_rated_needs_votes() -> None:
    """Top rated ranks well-voted titles first, whatever the average of a barely voted one."""
    source = InMemoryCatalogSource(
        [
            _title(ItemRef.movie(1), avg=9.9, votes=3),
            _title(ItemRef.movie(2), avg=8.0, votes=5000),
            _title(ItemRef.movie(3), avg=8.5, votes=900),
        ]
    )
    ranked = await source.candidates(CandidateList.TOP_RATED, MediaType.MOVIE)
    assert ranked == [ItemRef.movie(3), ItemRef.movie(2), ItemRef.movie(1)]


@pytest.mark.anyio
async def test_catalog_explicit_candidates_and_changes() -> None:
    """set_candidates fixes a ranking; changed_since reads the change log."""
    clock = ManualClock(T0)
    source = _catalog(clock)
    source.set_candidates(CandidateList.TRENDING, MediaType.TV, [ItemRef.tv(3), ItemRef.tv(1)])
    assert await source.candidates(CandidateList.TRENDING, MediaType.TV) == [
        ItemRef.tv(3),
        ItemRef.tv(1),
    ]
    source.add_title(_title(ItemRef.tv(2)), changed_at=T0 + timedelta(hours=2))
    assert await source.changed_since(MediaType.TV, T0 + timedelta(hours=1)) == [ItemRef.tv(2)]
    assert await source.changed_since(MediaType.MOVIE, T0 + timedelta(hours=1)) == []
    with pytest.raises(ValueError, match="other media types"):
        source.set_candidates(CandidateList.TRENDING, MediaType.TV, [ItemRef.movie(1)])


@pytest.mark.anyio
async def test_planned_failure_then_heals() -> None:
    """A fault wrapper makes the named operation raise the given error, then stops."""
    plan = FaultPlan()
    source = FlakyCatalogSource(_catalog(ManualClock(T0)), plan)
    plan.fail("catalog.get_title", DOWN, times=2)
    assert await source.candidates(CandidateList.POPULAR, MediaType.MOVIE)
    for _ in range(2):
        with pytest.raises(SourceUnavailable):
            await source.get_title(ItemRef.movie(1))
    assert await source.get_title(ItemRef.movie(1)) is not None
    assert (plan.count("catalog.candidates"), plan.count("catalog.get_title")) == (1, 3)


@pytest.mark.anyio
async def test_planned_failure_until_cleared() -> None:
    """times=None fails every matching call of every operation until the plan is cleared."""
    plan = FaultPlan()
    store = FlakyStateStore(InMemoryStateStore(), plan)
    plan.fail("store.*", DOWN, times=None)
    for _ in range(3):
        with pytest.raises(SourceUnavailable):
            await store.get_user("ann")
    with pytest.raises(SourceUnavailable):
        await store.user_ids()
    plan.clear()
    assert await store.get_user("ann") is None


@pytest.mark.anyio
async def test_activity_moves_on_every_change() -> None:
    """Each addition moves its category's stamp forward, even with a clock standing still."""
    source = InMemoryInteractionSource(clock=ManualClock(T0))
    assert await source.activity("ann") == ActivityStamp()
    source.add_view("ann", ItemRef.movie(1), T0 - timedelta(days=300))
    first = await source.activity("ann")
    assert first.watched_at == T0
    source.add_view("ann", ItemRef.movie(2), T0 - timedelta(days=400))
    second = await source.activity("ann")
    assert second.watched_at is not None
    assert second.watched_at > T0
    assert second.changed_since(first) == frozenset({"watched_at"})
    source.add_bookmark("ann", ItemRef.movie(3), T0)
    assert (await source.activity("ann")).changed_since(second) == frozenset({"watchlisted_at"})


@pytest.mark.anyio
async def test_rating_replaces_and_unknown_user_is_empty() -> None:
    """Re-rating a title keeps one rating; a user without activity has empty lists."""
    source = InMemoryInteractionSource(clock=ManualClock(T0))
    source.add_rating("ann", ItemRef.movie(1), 3, T0 - timedelta(days=1))
    source.add_rating("ann", ItemRef.movie(1), 10, T0)
    (rating,) = await source.ratings("ann")
    assert rating.value == 1.0
    assert await source.history("bo") == []
    assert await source.playback("bo") == []
    source.remove_bookmark("ann", ItemRef.movie(1))
    assert await source.watchlist("ann") == []


@pytest.mark.anyio
async def test_list_ids_unique_across_users_and_per_user_limits() -> None:
    """List ids never repeat across users; per-user limits override the default."""
    sink = InMemoryListSink(per_user_limits={"free": AccountLimits(1, 2)})
    a = await sink.ensure_list("ann", "X")
    b = await sink.ensure_list("bo", "X")
    assert a.list_id != b.list_id
    assert await sink.limits("free") == AccountLimits(1, 2)
    free = await sink.ensure_list("free", "X")
    await sink.apply("free", free.list_id, ListDiff(add=(ItemRef.movie(1), ItemRef.movie(2))))
    assert [h.item_count for h in sink.lists("free")] == [2]


@pytest.mark.anyio
async def test_apply_refusal_leaves_list_unchanged() -> None:
    """A diff over the item limit changes nothing, not even its removals."""
    sink = InMemoryListSink(limits=AccountLimits(5, 3))
    handle = await sink.ensure_list("ann", "X")
    start = (ItemRef.movie(1), ItemRef.movie(2), ItemRef.movie(3))
    await sink.apply("ann", handle.list_id, ListDiff(add=start))
    over = ListDiff(add=(ItemRef.movie(4), ItemRef.movie(5)), remove=(ItemRef.movie(1),))
    with pytest.raises(AccountLimitExceeded, match="may hold 3 items"):
        await sink.apply("ann", handle.list_id, over)
    assert tuple(await sink.items("ann", handle.list_id)) == start


def test_vector_index_save_uses_exact_path(tmp_path: Path) -> None:
    """save() writes the path given (NumPy would append .npz) and load() reads it back."""
    index = ExactVectorIndex()
    index.build([(ItemRef.movie(1), [1.0, 0.0]), (ItemRef.tv(1), [0.0, 2.0])])
    path = tmp_path / "vectors.idx"
    index.save(path)
    assert path.exists()
    assert not (tmp_path / "vectors.idx.npz").exists()
    fresh = ExactVectorIndex()
    fresh.load(path)
    assert len(fresh) == 2
    assert fresh.dimension == 2
    assert fresh.nearest([0.0, 1.0], k=1)[0][0] == ItemRef.tv(1)


def test_vector_index_rejects_mixed_dimensions() -> None:
    """Vectors of different lengths cannot share an index."""
    with pytest.raises(ValueError, match="one dimension"):
        ExactVectorIndex().build([(ItemRef.movie(1), [1.0]), (ItemRef.movie(2), [1.0, 0.0])])


@pytest.mark.anyio
async def test_hashing_embedder_is_stable_across_versions() -> None:
    """The hashing embedder's output is pinned: BLAKE2b, not the per-process hash()."""
    vector = (await HashingEmbedder(dimension=8).embed(["space pilots"]))[0]
    nonzero = {int(i): round(float(vector[i]), 4) for i in np.flatnonzero(vector)}
    assert nonzero == PINNED_SPACE_PILOTS


PINNED_SPACE_PILOTS = {0: 0.5774, 1: -0.5774, 4: 0.5774}
