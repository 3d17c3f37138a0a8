"""The StateStore contract: what every state store must do, as a pytest suite to subclass.

It covers every state role (`reclio.ports.UserStore`, `HistoryStore`, `CredentialStore`,
`AddonTokenStore`, `FeedLog`, `LeaseStore`, `CursorStore`, `CatalogStore`,
`EmbeddingStore`) through the port alone, so any store (SQLite, PostgreSQL, in memory)
runs it unchanged.

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

import asyncio
import contextlib
import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone

import attrs
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reclio.domain import (
    Anchor,
    CadenceTier,
    CatalogRecord,
    Genre,
    Interaction,
    ItemRef,
    ManagedList,
    ManagedListKind,
    OAuthToken,
    Preferences,
    Rating,
    Title,
    UserHistory,
    UserState,
    Vector,
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
) -> list[Sequence[tuple[ItemRef, Vector]]]:
    return [batch async for batch in store.iter_embeddings(batch_size=batch_size)]


async def _all_interactions(store: StateStore, batch_size: int) -> list[list[Interaction]]:
    return [list(batch) async for batch in store.iter_interactions(batch_size=batch_size)]


def _vector(*values: float) -> Vector:
    return np.array(values, dtype=np.float32)


_HISTORY = UserHistory(
    views={ItemRef.movie(603): _START, ItemRef.tv(1399): _START - timedelta(days=3)},
    ratings={
        ItemRef.movie(603): Rating(1.0, _START + timedelta(hours=1)),
        ItemRef.movie(11): Rating(-0.5555555555555556, _START - timedelta(days=40)),
    },
    bookmarks={ItemRef.tv(66732): _START - timedelta(hours=5)},
)

_HASH_A, _HASH_B, _HASH_C = ("a" * 64, "b" * 64, "c" * 64)
"""Addon token hashes (SHA-256 hex digests in real use; the store treats them as text)."""
_RUNS = itertools.count()

_TOKEN = OAuthToken(
    access_token="access-1f0c-SECRET",  # noqa: S106 - a made-up token: the test looks for it
    refresh_token="refresh-77ab-SECRET",  # noqa: S106
    created_at=_START,
    expires_in=timedelta(days=90),
    scope="public",
)


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

    @pytest.mark.anyio
    async def test_delete_user_removes_everything(self, store: StateStore) -> None:
        """delete_user forgets state, history, credentials, addon token and feed log.

        Other users stay.
        """
        for user_id in ("ann", "bo"):
            await store.save_user(UserState(user_id, movies_watched=2), history=_HISTORY)
            await store.put_token(user_id, "trakt", _TOKEN)
            await store.put_token(user_id, "other", _TOKEN)
            await store.set_addon_token(user_id, _HASH_A if user_id == "ann" else _HASH_B)
            await store.record_feed_requests([(user_id, _START)])
        assert await store.delete_user("ann")
        assert await store.addon_token_owner(_HASH_A) is None
        assert await store.addon_token_owner(_HASH_B) == "bo"
        assert await store.get_user("ann") is None
        assert await store.get_history("ann") is None
        assert await store.get_token("ann", "trakt") is None
        assert await store.get_token("ann", "other") is None
        assert await store.feed_requests_since("ann", _START) == 0
        assert await store.user_ids() == ["bo"]
        users = {i.user_id for batch in await _all_interactions(store, 100) for i in batch}
        assert users == {"bo"}
        assert await store.get_history("bo") == _HISTORY
        assert await store.get_token("bo", "trakt") == _TOKEN
        assert await store.feed_requests_since("bo", _START) == 1
        assert not await store.delete_user("ann")
        assert not await store.delete_user("nobody")

    @pytest.mark.anyio
    async def test_delete_user_with_only_credentials(self, store: StateStore) -> None:
        """A user known only by a stored token is known: delete_user removes it, True."""
        await store.put_token("ann", "trakt", _TOKEN)
        assert await store.delete_user("ann")
        assert await store.get_token("ann", "trakt") is None

    # -- history -----------------------------------------------------------------------------

    @pytest.mark.anyio
    async def test_unknown_history_is_none(self, store: StateStore) -> None:
        """A user whose history was never saved has None, even when their state exists."""
        assert await store.get_history("nobody") is None
        await store.put_user(UserState("ann"))
        assert await store.get_history("ann") is None

    @pytest.mark.anyio
    async def test_history_round_trips(self, store: StateStore) -> None:
        """save_user writes state and history; both read back equal."""
        state = UserState("ann", movies_watched=2, shows_watched=1)
        await store.save_user(state, history=_HISTORY)
        assert await store.get_user("ann") == state
        assert await store.get_history("ann") == _HISTORY

    @pytest.mark.anyio
    async def test_empty_history_is_not_none(self, store: StateStore) -> None:
        """A saved empty history reads back empty, not as None."""
        await store.save_user(UserState("ann"), history=UserHistory())
        assert await store.get_history("ann") == UserHistory()

    @pytest.mark.anyio
    @settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(history=rst.user_histories(), user_id=rst.user_ids())
    async def test_any_history_round_trips(
        self, store: StateStore, history: UserHistory, user_id: str
    ) -> None:
        """Any valid UserHistory reads back equal to what was saved (it replaces the old one)."""
        await store.save_user(UserState(user_id), history=history)
        assert await store.get_history(user_id) == history

    @pytest.mark.anyio
    async def test_history_merge_round_trips(self, store: StateStore) -> None:
        """A history merged with new activity and saved again reads back merged, not added."""
        await store.save_user(UserState("ann"), history=_HISTORY)
        stored = await store.get_history("ann")
        assert stored is not None
        later = _START + timedelta(days=1)
        merged = (
            stored.with_views(
                [
                    Interaction.view("ann", ItemRef.movie(603), later),  # newer view wins
                    Interaction.view("ann", ItemRef.tv(1399), _START - timedelta(days=9)),
                    Interaction.view("ann", ItemRef.movie(5), later),
                ]
            )
            .with_ratings([Interaction.rating("ann", ItemRef.tv(1399), 8, later)])
            .with_bookmarks([])
        )
        await store.save_user(UserState("ann", movies_watched=3), history=merged)
        got = await store.get_history("ann")
        assert got == merged
        assert got is not None
        assert dict(got.views) == {
            ItemRef.movie(603): later,
            ItemRef.tv(1399): _START - timedelta(days=3),
            ItemRef.movie(5): later,
        }
        assert set(got.ratings) == {ItemRef.tv(1399)}
        assert got.bookmarks == {}

    @pytest.mark.anyio
    async def test_put_user_and_save_user_without_history_keep_it(self, store: StateStore) -> None:
        """Writing only the state (put_user, or save_user without history) keeps the history."""
        await store.save_user(UserState("ann"), history=_HISTORY)
        await store.put_user(UserState("ann", movies_watched=7))
        await store.save_user(UserState("ann", movies_watched=8))
        assert await store.get_history("ann") == _HISTORY
        stored = await store.get_user("ann")
        assert stored is not None
        assert stored.movies_watched == 8

    @pytest.mark.anyio
    async def test_save_user_is_all_or_nothing_when_cancelled(self, store: StateStore) -> None:
        """A save_user cancelled at any point has written both state and history, or neither."""
        await store.save_user(UserState("ann", movies_watched=1), history=UserHistory())
        for delay in range(8):
            new_state = UserState("ann", movies_watched=100 + delay)
            new_history = UserHistory(views={ItemRef.movie(100 + delay): _START})
            task = asyncio.ensure_future(store.save_user(new_state, history=new_history))
            for _ in range(delay):
                await asyncio.sleep(0)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            # A later write is ordered after whatever the cancelled one left running.
            await store.set_cursor("barrier", str(delay))
            state, history = await store.get_user("ann"), await store.get_history("ann")
            assert state is not None
            assert history is not None
            wrote_state = state == new_state
            wrote_history = history == new_history
            assert wrote_state == wrote_history, f"half a save_user after {delay} steps"

    @pytest.mark.anyio
    @pytest.mark.parametrize("batch_size", [1, 4, 1000])
    async def test_iter_interactions_is_complete_and_ordered(
        self, store: StateStore, batch_size: int
    ) -> None:
        """Every recorded interaction comes once: by user, then as UserHistory orders them."""
        histories = {
            "cy": _HISTORY,
            "ann": UserHistory(
                views={ItemRef.tv(2): _START, ItemRef.movie(9): _START},
                bookmarks={ItemRef.movie(9): _START + timedelta(hours=1)},
            ),
            "bo": UserHistory(),
            "abe": UserHistory(ratings={ItemRef.movie(1): Rating(0.0, _START)}),
        }
        for user_id, history in histories.items():
            await store.save_user(UserState(user_id), history=history)
        await store.put_user(UserState("no-history"))
        batches = await _all_interactions(store, batch_size)
        assert all(0 < len(batch) <= batch_size for batch in batches)
        expected = [i for u in sorted(histories) for i in histories[u].interactions(u)]
        assert [i for batch in batches for i in batch] == expected
        assert len(expected) == 9
        if batch_size < len(expected):
            assert len(batches) > 1

    @pytest.mark.anyio
    async def test_iter_interactions_empty(self, store: StateStore) -> None:
        """A store without histories yields no batches."""
        await store.put_user(UserState("ann"))
        assert await _all_interactions(store, 10) == []

    # -- credentials -------------------------------------------------------------------------

    @pytest.mark.anyio
    async def test_token_round_trips_per_service(self, store: StateStore) -> None:
        """A token reads back equal, per (user, service); unknown ones are None."""
        assert await store.get_token("ann", "trakt") is None
        await store.put_token("ann", "trakt", _TOKEN)
        other = attrs.evolve(_TOKEN, access_token="other-access", scope="private")  # noqa: S106
        await store.put_token("ann", "simkl", other)
        assert await store.get_token("ann", "trakt") == _TOKEN
        assert await store.get_token("ann", "simkl") == other
        assert await store.get_token("bo", "trakt") is None

    @pytest.mark.anyio
    async def test_token_replaced_then_deleted(self, store: StateStore) -> None:
        """put_token replaces (refresh tokens are single use); delete_token forgets one."""
        await store.put_token("ann", "trakt", _TOKEN)
        renewed = attrs.evolve(
            _TOKEN,
            access_token="access-2",  # noqa: S106
            refresh_token="refresh-2",  # noqa: S106
            created_at=_START + timedelta(days=80),
        )
        await store.put_token("ann", "trakt", renewed)
        assert await store.get_token("ann", "trakt") == renewed
        await store.delete_token("ann", "trakt")
        await store.delete_token("ann", "trakt")  # already gone: a no-op
        assert await store.get_token("ann", "trakt") is None

    @pytest.mark.anyio
    @settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(token=rst.oauth_tokens())
    async def test_any_token_round_trips(self, store: StateStore, token: OAuthToken) -> None:
        """Any valid token reads back equal, its expiry included."""
        await store.put_token("ann", "trakt", token)
        got = await store.get_token("ann", "trakt")
        assert got == token
        assert got is not None
        assert got.expires_at == token.expires_at

    @pytest.mark.anyio
    async def test_tokens_keep_secrets_out_of_repr(self, store: StateStore) -> None:
        """Neither a stored token nor the store shows a secret in its repr."""
        await store.put_token("ann", "trakt", _TOKEN)
        got = await store.get_token("ann", "trakt")
        for text in (repr(got), str(got), repr(store), repr(await store.get_user("ann"))):
            assert "SECRET" not in text

    @pytest.mark.anyio
    async def test_tokens_are_not_user_state(self, store: StateStore) -> None:
        """A token never shows up in the user's state or history."""
        await store.save_user(UserState("ann"), history=_HISTORY)
        await store.put_token("ann", "trakt", _TOKEN)
        assert "SECRET" not in repr(await store.get_user("ann"))
        assert await store.get_history("ann") == _HISTORY

    # -- addon tokens ------------------------------------------------------------------------

    @pytest.mark.anyio
    async def test_addon_token_owner(self, store: StateStore) -> None:
        """A set hash names its user; an unknown hash names nobody."""
        assert await store.addon_token_owner(_HASH_A) is None
        await store.set_addon_token("ann", _HASH_A)
        await store.set_addon_token("bo", _HASH_B)
        assert await store.addon_token_owner(_HASH_A) == "ann"
        assert await store.addon_token_owner(_HASH_B) == "bo"
        assert await store.addon_token_owner(_HASH_C) is None

    @pytest.mark.anyio
    async def test_addon_token_rotation(self, store: StateStore) -> None:
        """A new hash replaces the user's previous one, which then names nobody."""
        await store.set_addon_token("ann", _HASH_A)
        await store.set_addon_token("ann", _HASH_B)
        assert await store.addon_token_owner(_HASH_A) is None
        assert await store.addon_token_owner(_HASH_B) == "ann"
        await store.set_addon_token("ann", _HASH_B)  # the same hash again: a no-op
        assert await store.addon_token_owner(_HASH_B) == "ann"
        await store.set_addon_token("bo", _HASH_A)  # a retired hash is free again
        assert await store.addon_token_owner(_HASH_A) == "bo"

    @pytest.mark.anyio
    async def test_addon_token_of_another_user_is_refused(self, store: StateStore) -> None:
        """A hash another user holds is a ValueError, and neither user's token changes."""
        await store.set_addon_token("ann", _HASH_A)
        await store.set_addon_token("bo", _HASH_B)
        with pytest.raises(ValueError, match="another user"):
            await store.set_addon_token("bo", _HASH_A)
        assert await store.addon_token_owner(_HASH_A) == "ann"
        assert await store.addon_token_owner(_HASH_B) == "bo"

    @pytest.mark.anyio
    async def test_addon_token_is_not_user_state(self, store: StateStore) -> None:
        """Setting a token neither creates the user nor shows in their state.

        delete_user forgets it, and a user known only by a token is known.
        """
        await store.set_addon_token("ann", _HASH_A)
        assert await store.get_user("ann") is None
        assert await store.user_ids() == []
        assert await store.delete_user("ann")
        assert await store.addon_token_owner(_HASH_A) is None
        await store.put_user(UserState("bo"))
        await store.set_addon_token("bo", _HASH_B)
        assert _HASH_B not in repr(await store.get_user("bo"))

    @pytest.mark.anyio
    @settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(steps=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 5)), max_size=12))
    async def test_addon_tokens_follow_a_model(
        self, store: StateStore, steps: list[tuple[int, int]]
    ) -> None:
        """Any sequence of sets reads back as a model says.

        One hash per user, the last set wins, and a hash another user holds is refused
        without a change.
        """
        run = next(_RUNS)  # the store outlives one example: name everything per example
        users = [f"run{run}-user{n}" for n in range(4)]
        hashes = [f"run{run}-hash{n}" for n in range(6)]
        model: dict[str, str] = {}
        for user_n, hash_n in steps:
            user, digest = users[user_n], hashes[hash_n]
            owner = next((u for u, h in model.items() if h == digest), None)
            if owner is not None and owner != user:
                with pytest.raises(ValueError, match="another user"):
                    await store.set_addon_token(user, digest)
            else:
                await store.set_addon_token(user, digest)
                model[user] = digest
        owners = {h: u for u, h in model.items()}
        for digest in hashes:
            assert await store.addon_token_owner(digest) == owners.get(digest)

    # -- feed requests -----------------------------------------------------------------------

    @pytest.mark.anyio
    async def test_feed_requests_counted_since(self, store: StateStore) -> None:
        """feed_requests_since counts the user's requests at or after the bound."""
        await store.record_feed_requests(
            [("ann", _START + timedelta(hours=hours)) for hours in (0, 1, 2, 3)]
        )
        await store.record_feed_requests([("bo", _START + timedelta(hours=3))])
        assert await store.feed_requests_since("ann", _START + timedelta(hours=1)) == 3
        assert await store.feed_requests_since("ann", _START - timedelta(days=1)) == 4
        assert await store.feed_requests_since("ann", _START + timedelta(hours=4)) == 0
        assert await store.feed_requests_since("bo", _START) == 1
        assert await store.feed_requests_since("nobody", _START) == 0

    @pytest.mark.anyio
    async def test_record_feed_requests_counts_every_request_of_a_batch(
        self, store: StateStore
    ) -> None:
        """One batch may hold several users and repeated instants; each request counts once."""
        batch = [
            ("ann", _START),
            ("bo", _START),
            ("ann", _START),
            ("ann", _START + timedelta(minutes=1)),
            ("cy", _START - timedelta(minutes=1)),
        ]
        await store.record_feed_requests(batch)
        await store.record_feed_requests([])
        assert await store.feed_requests_since("ann", _START) == 3
        assert await store.feed_requests_since("bo", _START) == 1
        assert await store.feed_requests_since("cy", _START - timedelta(hours=1)) == 1

    @pytest.mark.anyio
    async def test_record_feed_requests_refuses_a_naive_instant(self, store: StateStore) -> None:
        """A naive instant anywhere in the batch raises ValueError and nothing is counted."""
        naive = datetime(2026, 1, 1)  # noqa: DTZ001 - the point of the test
        with pytest.raises(ValueError, match="timezone-aware"):
            await store.record_feed_requests([("ann", _START), ("ann", naive)])
        assert await store.feed_requests_since("ann", _START - timedelta(days=1)) == 0

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
    async def test_get_titles_is_one_snapshot(self, store: StateStore) -> None:
        """get_titles never mixes records of two put_titles calls, however they interleave."""
        refs = [ItemRef.movie(n) for n in range(1, 121)]

        def generation(n: int) -> list[CatalogRecord]:
            return [CatalogRecord(_title(ref, f"gen {n}"), f"h{n}") for ref in refs]

        await store.put_titles(generation(0))
        done = asyncio.Event()

        async def writer() -> None:
            for n in itertools.count(1):
                if done.is_set() or n > 200:
                    return
                await store.put_titles(generation(n))

        task = asyncio.ensure_future(writer())
        try:
            for _ in range(40):
                got = await store.get_titles(list(reversed(refs)))
                assert [r.title.ref for r in got] == list(reversed(refs))
                hashes = {r.content_hash for r in got}
                assert len(hashes) == 1, f"one get_titles returned records of {sorted(hashes)}"
                await asyncio.sleep(0)
        finally:
            done.set()
            await task

    @pytest.mark.anyio
    async def test_delete_titles(self, store: StateStore) -> None:
        """delete_titles removes the titles and their vectors; others and unknown refs stay."""
        kept, gone = ItemRef.movie(1), ItemRef.tv(2)
        await store.put_titles([CatalogRecord.of(_title(kept)), CatalogRecord.of(_title(gone))])
        await store.put_embeddings([(kept, "k", _vector(1, 0)), (gone, "g", _vector(0, 1))])
        await store.delete_titles([gone, ItemRef.movie(999)])
        await store.delete_titles([])
        assert [r.title.ref for r in await store.get_titles([kept, gone])] == [kept]
        assert [ref for batch in await _all_vectors(store, 10) for ref, _ in batch] == [kept]

    @pytest.mark.anyio
    async def test_titles_missing_from_catalog(self, store: StateStore) -> None:
        """Titles named in any history (view, rating, bookmark) but not stored, by ref, limited."""
        in_catalog = [ItemRef.movie(603), ItemRef.tv(5)]
        await store.put_titles([CatalogRecord.of(_title(ref)) for ref in in_catalog])
        await store.save_user(UserState("ann"), history=_HISTORY)
        await store.save_user(
            UserState("bo"),
            history=UserHistory(
                views={ItemRef.tv(5): _START, ItemRef.movie(11): _START},
                bookmarks={ItemRef.movie(2): _START},
            ),
        )
        missing = [ItemRef.movie(2), ItemRef.movie(11), ItemRef.tv(1399), ItemRef.tv(66732)]
        assert list(await store.titles_missing_from_catalog(limit=100)) == missing
        assert list(await store.titles_missing_from_catalog(limit=2)) == missing[:2]
        assert list(await store.titles_missing_from_catalog(limit=0)) == []
        await store.put_titles([CatalogRecord.of(_title(ItemRef.movie(2)))])
        await store.delete_titles([ItemRef.movie(603)])
        assert list(await store.titles_missing_from_catalog(limit=3)) == [
            ItemRef.movie(11),
            ItemRef.movie(603),
            ItemRef.tv(1399),
        ]

    @pytest.mark.anyio
    async def test_titles_missing_from_an_empty_store(self, store: StateStore) -> None:
        """No histories, nothing missing."""
        await store.put_titles([CatalogRecord.of(_title(ItemRef.movie(1)))])
        assert list(await store.titles_missing_from_catalog(limit=10)) == []

    @pytest.mark.anyio
    async def test_iter_titles_empty(self, store: StateStore) -> None:
        """An empty catalog yields no batches."""
        assert await _all_titles(store, 10) == []

    # -- embeddings --------------------------------------------------------------------------

    @pytest.mark.anyio
    async def test_embeddings_round_trip_float32(self, store: StateStore) -> None:
        """Vectors read back as equal 1-D float32 arrays, ordered by ref, in batches."""
        vectors = {
            ItemRef.tv(5): _vector(0.1, -0.2, 0.3),
            ItemRef.movie(50): _vector(1.0, 0.0, -1.0),
            ItemRef.movie(6): _vector(1 / 3, 2 / 3, 0.0),
        }
        await store.put_embeddings([(ref, "t", vec) for ref, vec in vectors.items()])
        batches = await _all_vectors(store, 2)
        assert [len(batch) for batch in batches] == [2, 1]
        flat = [pair for batch in batches for pair in batch]
        assert [ref for ref, _ in flat] == sorted(vectors)
        for ref, got in flat:
            assert isinstance(got, np.ndarray)
            assert got.dtype == np.float32
            assert got.shape == (3,)
            assert np.array_equal(got, vectors[ref])

    @pytest.mark.anyio
    async def test_embeddings_are_copies(self, store: StateStore) -> None:
        """Changing an array after storing it, or one read back, changes nothing stored."""
        vector = _vector(1.0, 2.0)
        await store.put_embeddings([(ItemRef.movie(1), "t", vector)])
        vector[0] = 9.0
        ((_, first),) = (await _all_vectors(store, 10))[0]
        if first.flags.writeable:
            first[1] = 9.0
        ((_, second),) = (await _all_vectors(store, 10))[0]
        assert second.tolist() == [1.0, 2.0]

    @pytest.mark.anyio
    async def test_put_embeddings_sets_embedded_hash(self, store: StateStore) -> None:
        """Storing a vector records its text hash on the title's record, replacing the vector."""
        title = _title(ItemRef.movie(3))
        await store.put_titles([CatalogRecord.of(title)])
        await store.put_embeddings([(title.ref, "old", _vector(1.0, 0.0))])
        await store.put_embeddings([(title.ref, title.text_hash("model"), _vector(0.0, 1.0))])
        (record,) = await store.get_titles([title.ref])
        assert record.embedded_hash == title.text_hash("model")
        (batch,) = await _all_vectors(store, 10)
        assert [(ref, vec.tolist()) for ref, vec in batch] == [(title.ref, [0.0, 1.0])]

    @pytest.mark.anyio
    async def test_put_embeddings_refuses_a_matrix(self, store: StateStore) -> None:
        """A 2-D array is not one vector: ValueError, and nothing of the batch is stored."""
        good = (ItemRef.movie(1), "t", _vector(1.0, 0.0))
        bad = (ItemRef.movie(2), "t", np.ones((2, 2), dtype=np.float32))
        with pytest.raises(ValueError, match="one-dimensional"):
            await store.put_embeddings([good, bad])
        assert await _all_vectors(store, 10) == []
