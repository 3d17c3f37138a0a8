"""The StateStore contract: what every state store must do, as a pytest suite to subclass.

Subclass `StateStoreContract` in a test module and override the ``store`` fixture so
it builds a fresh, empty store that reads time from the given ``clock``::

    class TestMyStore(StateStoreContract):
        @pytest.fixture
        def store(self, clock: ManualClock) -> StateStore:
            return MyStore(clock=clock)

The suite needs pytest, hypothesis and anyio's pytest plugin (``@pytest.mark.anyio``).

Stability: testing (may change between minor versions).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone

import attrs
import pytest
from hypothesis import HealthCheck, given, settings

from reclio.domain import (
    Anchor,
    CadenceTier,
    CatalogRecord,
    Genre,
    ItemRef,
    ManagedList,
    ManagedListKind,
    Preferences,
    Title,
    UserState,
)
from reclio.ports import StateStore
from reclio.testing import strategies as rst

__all__ = ["ManualClock", "StateStoreContract"]

_START = datetime(2026, 1, 1, 12, tzinfo=UTC)
_PREFERENCES = Preferences(
    excluded_movie_genres=frozenset((27, 53)),
    family_safe=True,
    era=0,
)


@attrs.define
class ManualClock:
    """A clock that only moves when told to: pass it as a store's ``clock``.

    Attributes:
        now: The time it reports.
    """

    now: datetime = _START

    def __call__(self) -> datetime:
        """The current (manual) time."""
        return self.now

    def advance(self, delta: timedelta) -> None:
        """Move time forward by ``delta``."""
        self.now += delta


def _title(ref: ItemRef, name: str = "A Title") -> Title:
    return Title(
        ref,
        name,
        overview="Two friends cross a desert.",
        genres=(Genre(18, "Drama"),),
        year=2001,
        vote_average=7.25,
        vote_count=1200,
        popularity=33.5,
        cast=("Ann Lee", "Bo Kim"),
        director="Cy Dee",
        runtime=121,
    )


async def _all_titles(store: StateStore, batch_size: int) -> list[list[CatalogRecord]]:
    return [list(batch) async for batch in store.iter_titles(batch_size=batch_size)]


async def _all_vectors(
    store: StateStore, batch_size: int
) -> list[Sequence[tuple[ItemRef, Sequence[float]]]]:
    return [batch async for batch in store.iter_embeddings(batch_size=batch_size)]


class StateStoreContract:
    """Behaviour every `StateStore` must have.

    Override ``store``: a fresh, empty store whose leases read time from ``clock``.
    """

    @pytest.fixture
    def clock(self) -> ManualClock:
        """The time the store under test reads; tests move it."""
        return ManualClock()

    @pytest.fixture
    def store(self, clock: ManualClock) -> StateStore:
        """A fresh, empty store using ``clock``; subclasses must override this."""
        raise NotImplementedError

    # -- users -------------------------------------------------------------------------------

    @pytest.mark.anyio
    async def test_unknown_user_is_none(self, store: StateStore) -> None:
        """A user the store has never seen reads as None, not an error."""
        assert await store.get_user("nobody") is None

    @pytest.mark.anyio
    async def test_full_user_round_trips(self, store: StateStore) -> None:
        """A user with every field set reads back equal to what was written."""
        state = UserState(
            "ann",
            last_watched_movie=Anchor(ItemRef.movie(603), "The Matrix"),
            highest_rated_show=Anchor(ItemRef.tv(1399), "Game of Thrones"),
            movies_watched=3,
            preferences=_PREFERENCES,
            lists=(
                ManagedList(
                    ManagedListKind.BECAUSE_WATCHED_MOVIES,
                    41,
                    12,
                    synced_ok=True,
                    synced_at=_START,
                    anchor=ItemRef.movie(603),
                ),
            ),
            history_cursor=_START - timedelta(days=1),
            cadence=CadenceTier.HOT,
            next_sync_at=_START + timedelta(hours=1),
        )
        await store.put_user(state)
        assert await store.get_user("ann") == state

    @pytest.mark.anyio
    async def test_put_user_replaces(self, store: StateStore) -> None:
        """Writing a user again replaces the earlier state."""
        await store.put_user(UserState("ann", movies_watched=1))
        await store.put_user(UserState("ann", movies_watched=2))
        stored = await store.get_user("ann")
        assert stored is not None
        assert stored.movies_watched == 2
        assert await store.user_ids() == ["ann"]

    @pytest.mark.anyio
    @settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(state=rst.user_states())
    async def test_any_user_state_round_trips(self, store: StateStore, state: UserState) -> None:
        """Any valid UserState reads back equal to what was written."""
        await store.put_user(state)
        assert await store.get_user(state.user_id) == state

    @pytest.mark.anyio
    async def test_user_ids_sorted(self, store: StateStore) -> None:
        """user_ids lists every user once, sorted."""
        for user_id in ("cy", "ann", "bo"):
            await store.put_user(UserState(user_id))
        assert await store.user_ids() == ["ann", "bo", "cy"]

    @pytest.mark.anyio
    async def test_due_users_order(self, store: StateStore) -> None:
        """Never-scheduled users come first, then the most overdue; future users are left out."""
        now = _START
        await store.put_user(UserState("later", next_sync_at=now + timedelta(minutes=1)))
        await store.put_user(UserState("recent", next_sync_at=now - timedelta(minutes=5)))
        await store.put_user(UserState("exact", next_sync_at=now))
        await store.put_user(UserState("old", next_sync_at=now - timedelta(days=2)))
        await store.put_user(UserState("zed-new"))
        await store.put_user(UserState("abe-new"))
        assert await store.due_users(now) == ["abe-new", "zed-new", "old", "recent", "exact"]

    @pytest.mark.anyio
    async def test_due_users_compares_instants(self, store: StateStore) -> None:
        """next_sync_at given in another UTC offset is compared as the same instant."""
        plus_two = datetime(2026, 1, 1, 13, tzinfo=UTC).astimezone(timezone(timedelta(hours=2)))
        await store.put_user(UserState("ann", next_sync_at=plus_two))  # 13:00 UTC
        assert await store.due_users(_START) == []  # 12:00 UTC
        assert await store.due_users(_START + timedelta(hours=1)) == ["ann"]

    @pytest.mark.anyio
    async def test_rescheduling_moves_user_out_of_due(self, store: StateStore) -> None:
        """Replacing a user with a later next_sync_at takes them off the due list."""
        await store.put_user(UserState("ann", next_sync_at=_START - timedelta(hours=1)))
        await store.put_user(UserState("ann", next_sync_at=_START + timedelta(hours=1)))
        assert await store.due_users(_START) == []

    # -- feed requests -----------------------------------------------------------------------

    @pytest.mark.anyio
    async def test_feed_requests_counted_since(self, store: StateStore) -> None:
        """feed_requests_since counts the user's requests at or after the bound."""
        for hours in (0, 1, 2, 3):
            await store.record_feed_request("ann", _START + timedelta(hours=hours))
        await store.record_feed_request("bo", _START + timedelta(hours=3))
        assert await store.feed_requests_since("ann", _START + timedelta(hours=1)) == 3
        assert await store.feed_requests_since("ann", _START - timedelta(days=1)) == 4
        assert await store.feed_requests_since("ann", _START + timedelta(hours=4)) == 0
        assert await store.feed_requests_since("nobody", _START) == 0

    # -- leases ------------------------------------------------------------------------------

    @pytest.mark.anyio
    async def test_lease_is_exclusive(self, store: StateStore) -> None:
        """While one owner holds a lease, another cannot take it."""
        assert await store.acquire_lease("user:ann", "w1", timedelta(minutes=5))
        assert not await store.acquire_lease("user:ann", "w2", timedelta(minutes=5))
        assert await store.acquire_lease("user:bo", "w2", timedelta(minutes=5))

    @pytest.mark.anyio
    async def test_lease_expires(self, store: StateStore, clock: ManualClock) -> None:
        """An expired lease can be taken by another owner."""
        assert await store.acquire_lease("user:ann", "w1", timedelta(minutes=5))
        clock.advance(timedelta(minutes=4, seconds=59))
        assert not await store.acquire_lease("user:ann", "w2", timedelta(minutes=5))
        clock.advance(timedelta(seconds=1))
        assert await store.acquire_lease("user:ann", "w2", timedelta(minutes=5))
        assert not await store.acquire_lease("user:ann", "w1", timedelta(minutes=5))

    @pytest.mark.anyio
    async def test_reacquire_extends(self, store: StateStore, clock: ManualClock) -> None:
        """Re-acquiring a lease one holds succeeds and pushes its expiry out."""
        assert await store.acquire_lease("user:ann", "w1", timedelta(minutes=5))
        clock.advance(timedelta(minutes=4))
        assert await store.acquire_lease("user:ann", "w1", timedelta(minutes=5))
        clock.advance(timedelta(minutes=4))  # 8 minutes after the first acquire
        assert not await store.acquire_lease("user:ann", "w2", timedelta(minutes=5))

    @pytest.mark.anyio
    async def test_release_frees_lease(self, store: StateStore) -> None:
        """After its owner releases a lease, another owner can take it at once."""
        assert await store.acquire_lease("user:ann", "w1", timedelta(minutes=5))
        await store.release_lease("user:ann", "w1")
        assert await store.acquire_lease("user:ann", "w2", timedelta(minutes=5))

    @pytest.mark.anyio
    async def test_release_by_non_owner_is_noop(self, store: StateStore) -> None:
        """Releasing someone else's lease (or an absent one) changes nothing."""
        await store.release_lease("user:nobody", "w1")
        assert await store.acquire_lease("user:ann", "w1", timedelta(minutes=5))
        await store.release_lease("user:ann", "w2")
        assert not await store.acquire_lease("user:ann", "w2", timedelta(minutes=5))

    # -- cursors -----------------------------------------------------------------------------

    @pytest.mark.anyio
    async def test_cursors(self, store: StateStore) -> None:
        """A cursor is None until set, then reads back its latest value."""
        assert await store.get_cursor("content") is None
        await store.set_cursor("content", "2026-01-01T00:00:00+00:00")
        await store.set_cursor("content", "2026-01-02T00:00:00+00:00")
        await store.set_cursor("other", "x")
        assert await store.get_cursor("content") == "2026-01-02T00:00:00+00:00"

    # -- catalog -----------------------------------------------------------------------------

    @pytest.mark.anyio
    async def test_catalog_records_round_trip(self, store: StateStore) -> None:
        """Stored records read back equal, in the order asked, unknown refs left out."""
        movie = CatalogRecord.of(_title(ItemRef.movie(603), "The Matrix"))
        show = CatalogRecord(_title(ItemRef.tv(603), "A Show"), "h1", "h1", "t1")
        await store.put_titles([movie, show])
        got = await store.get_titles([ItemRef.tv(603), ItemRef.movie(9), ItemRef.movie(603)])
        assert list(got) == [show, movie]

    @pytest.mark.anyio
    @settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(title=rst.titles())
    async def test_any_title_round_trips(self, store: StateStore, title: Title) -> None:
        """Any valid Title is stored and read back unchanged."""
        record = CatalogRecord.of(title)
        await store.put_titles([record])
        assert list(await store.get_titles([title.ref])) == [record]

    @pytest.mark.anyio
    async def test_put_titles_replaces(self, store: StateStore) -> None:
        """Putting a record again replaces the earlier one."""
        ref = ItemRef.movie(1)
        await store.put_titles([CatalogRecord(_title(ref, "Old"), "h1", "h1")])
        new = CatalogRecord.of(_title(ref, "New"))
        await store.put_titles([new])
        assert list(await store.get_titles([ref])) == [new]

    @pytest.mark.anyio
    async def test_mark_synced(self, store: StateStore) -> None:
        """mark_synced sets the synced hash of known records only."""
        record = CatalogRecord.of(_title(ItemRef.movie(7)))
        await store.put_titles([record])
        assert record.needs_push
        await store.mark_synced({ItemRef.movie(7): record.content_hash, ItemRef.movie(8): "x"})
        (stored,) = await store.get_titles([ItemRef.movie(7)])
        assert stored.synced_hash == record.content_hash
        assert not stored.needs_push
        assert await store.get_titles([ItemRef.movie(8)]) == []

    @pytest.mark.anyio
    @pytest.mark.parametrize("batch_size", [1, 3, 500])
    async def test_iter_titles_covers_all_in_order(
        self, store: StateStore, batch_size: int
    ) -> None:
        """iter_titles yields every record once, ordered by ref, in batches of batch_size."""
        refs = [ItemRef.movie(n) for n in (10, 9, 100, 2)] + [ItemRef.tv(n) for n in (3, 1)]
        await store.put_titles([CatalogRecord.of(_title(ref)) for ref in refs])
        batches = await _all_titles(store, batch_size)
        assert all(0 < len(batch) <= batch_size for batch in batches)
        seen = [record.title.ref for batch in batches for record in batch]
        assert seen == sorted(refs)

    @pytest.mark.anyio
    async def test_iter_titles_empty(self, store: StateStore) -> None:
        """An empty catalog yields no batches."""
        assert await _all_titles(store, 10) == []

    # -- embeddings --------------------------------------------------------------------------

    @pytest.mark.anyio
    async def test_embeddings_round_trip_float32(self, store: StateStore) -> None:
        """Vectors read back as the float32 rounding of what was written, ordered by ref."""
        vectors = {
            ItemRef.tv(5): [0.1, -0.2, 0.3],
            ItemRef.movie(50): [1.0, 0.0, -1.0],
            ItemRef.movie(6): [1 / 3, 2 / 3, 0.0],
        }
        await store.put_embeddings([(ref, "t", vec) for ref, vec in vectors.items()])
        batches = await _all_vectors(store, 2)
        assert [len(batch) for batch in batches] == [2, 1]
        flat = [(ref, list(vec)) for batch in batches for ref, vec in batch]
        assert [ref for ref, _ in flat] == sorted(vectors)
        for ref, got in flat:
            want = [_float32(x) for x in vectors[ref]]
            assert got == want

    @pytest.mark.anyio
    async def test_put_embeddings_sets_embedded_hash(self, store: StateStore) -> None:
        """Storing a vector records its text hash on the title's record, replacing the vector."""
        title = _title(ItemRef.movie(3))
        await store.put_titles([CatalogRecord.of(title)])
        await store.put_embeddings([(title.ref, "old", [1.0, 0.0])])
        await store.put_embeddings([(title.ref, title.text_hash(), [0.0, 1.0])])
        (record,) = await store.get_titles([title.ref])
        assert record.embedded_hash == title.text_hash()
        (batch,) = await _all_vectors(store, 10)
        assert [(ref, list(vec)) for ref, vec in batch] == [(title.ref, [0.0, 1.0])]


def _float32(value: float) -> float:
    return float(struct.unpack("<f", struct.pack("<f", value))[0])
