"""The ListSink contract: what every list sink must do, as a pytest suite.

Subclass `ListSinkContract` and override ``sink``: the adapter under test, for an
account (``user_id``) that holds no list yet and whose limits are small (the limit tests
fill the account to them: a few lists of a few dozen items keep them quick). The suite
reads lists back after writing them, so a sink whose reads lag its writes (Trakt) is run
against a service that answers reads at once (the local fake Trakt with no read lag)::

    class TestMySink(ListSinkContract):
        @pytest.fixture
        def sink(self) -> ListSink: ...

Stability: testing (may change between minor versions).
"""

from __future__ import annotations

import pytest

from reclio.domain import ItemRef, ListDiff, ListSnapshot
from reclio.errors import AccountLimitExceeded, SourceError
from reclio.ports import ListSink

__all__ = ["ListSinkContract"]

_NAME = "Reclio • Contract Test"


def _movies(*numbers: int) -> tuple[ItemRef, ...]:
    return tuple(ItemRef.movie(n) for n in numbers)


class ListSinkContract:
    """Behaviour every `ListSink` must have."""

    @pytest.fixture
    def sink(self) -> ListSink:
        """The sink under test, with small limits; subclasses must override this."""
        raise NotImplementedError

    @pytest.fixture
    def user_id(self) -> str:
        """An account that holds no list yet; override if needed."""
        return "contract-user"

    @pytest.mark.anyio
    async def test_ensure_creates_empty_list(self, sink: ListSink, user_id: str) -> None:
        """A list that does not exist is created, empty, with the name asked for."""
        handle = await sink.ensure_list(user_id, _NAME, description="picks")
        assert handle.name == _NAME
        assert handle.item_count == 0
        assert list(await sink.items(user_id, handle.list_id)) == []

    @pytest.mark.anyio
    async def test_ensure_adopts_by_name(self, sink: ListSink, user_id: str) -> None:
        """Ensuring a list twice adopts the existing one (same id, items kept)."""
        first = await sink.ensure_list(user_id, _NAME)
        await sink.apply(user_id, first.list_id, ListDiff(add=_movies(1, 2)))
        again = await sink.ensure_list(user_id, _NAME)
        assert again.list_id == first.list_id
        assert again.item_count == 2
        other = await sink.ensure_list(user_id, _NAME + " 2")
        assert other.list_id != first.list_id

    @pytest.mark.anyio
    async def test_apply_adds_in_order(self, sink: ListSink, user_id: str) -> None:
        """Additions land in the order given, and the handle counts them."""
        handle = await sink.ensure_list(user_id, _NAME)
        after = await sink.apply(user_id, handle.list_id, ListDiff(add=_movies(3, 1, 2)))
        assert after.item_count == 3
        assert tuple(await sink.items(user_id, handle.list_id)) == _movies(3, 1, 2)

    @pytest.mark.anyio
    async def test_apply_removes_and_adds(self, sink: ListSink, user_id: str) -> None:
        """Removals drop exactly those items; surviving items keep their order."""
        handle = await sink.ensure_list(user_id, _NAME)
        await sink.apply(user_id, handle.list_id, ListDiff(add=_movies(1, 2, 3, 4)))
        diff = ListDiff(add=_movies(5), remove=_movies(2, 4))
        after = await sink.apply(user_id, handle.list_id, diff)
        assert tuple(await sink.items(user_id, handle.list_id)) == _movies(1, 3, 5)
        assert after.item_count == 3

    @pytest.mark.anyio
    async def test_apply_reorders(self, sink: ListSink, user_id: str) -> None:
        """A diff with an order leaves the list in exactly that order."""
        handle = await sink.ensure_list(user_id, _NAME)
        await sink.apply(user_id, handle.list_id, ListDiff(add=_movies(1, 2, 3)))
        diff = ListDiff(add=_movies(4), remove=_movies(1), order=_movies(4, 3, 2))
        await sink.apply(user_id, handle.list_id, diff)
        assert tuple(await sink.items(user_id, handle.list_id)) == _movies(4, 3, 2)

    @pytest.mark.anyio
    async def test_apply_is_idempotent(self, sink: ListSink, user_id: str) -> None:
        """Applying the same diff twice leaves the list as applying it once."""
        handle = await sink.ensure_list(user_id, _NAME)
        diff = ListDiff(add=_movies(7, 8), order=_movies(8, 7))
        await sink.apply(user_id, handle.list_id, diff)
        again = await sink.apply(user_id, handle.list_id, diff)
        assert tuple(await sink.items(user_id, handle.list_id)) == _movies(8, 7)
        assert again.item_count == 2

    @pytest.mark.anyio
    async def test_empty_diff_changes_nothing(self, sink: ListSink, user_id: str) -> None:
        """An empty diff leaves the list as it was."""
        handle = await sink.ensure_list(user_id, _NAME)
        await sink.apply(user_id, handle.list_id, ListDiff(add=_movies(1, 2)))
        await sink.apply(user_id, handle.list_id, ListDiff())
        assert tuple(await sink.items(user_id, handle.list_id)) == _movies(1, 2)

    @pytest.mark.anyio
    async def test_unknown_list_is_an_error(self, sink: ListSink, user_id: str) -> None:
        """Reading a list the account does not hold raises SourceError."""
        with pytest.raises(SourceError):
            await sink.items(user_id, 987_654_321)

    @pytest.mark.anyio
    async def test_list_limit(self, sink: ListSink, user_id: str) -> None:
        """Creating more lists than the account allows raises AccountLimitExceeded."""
        limits = await sink.limits(user_id)
        assert limits.max_lists >= 1
        for n in range(limits.max_lists):
            await sink.ensure_list(user_id, f"{_NAME} {n}")
        with pytest.raises(AccountLimitExceeded):
            await sink.ensure_list(user_id, f"{_NAME} one too many")
        # Adopting an existing list still works at the limit.
        assert (await sink.ensure_list(user_id, f"{_NAME} 0")).name == f"{_NAME} 0"

    @pytest.mark.anyio
    async def test_item_limit_never_empties(self, sink: ListSink, user_id: str) -> None:
        """Overfilling a list raises AccountLimitExceeded and never leaves it emptied."""
        limits = await sink.limits(user_id)
        handle = await sink.ensure_list(user_id, _NAME)
        await sink.apply(user_id, handle.list_id, ListDiff(add=_movies(1)))
        too_many = _movies(*range(2, limits.max_items_per_list + 2))
        with pytest.raises(AccountLimitExceeded):
            await sink.apply(user_id, handle.list_id, ListDiff(add=too_many))
        assert ItemRef.movie(1) in await sink.items(user_id, handle.list_id)

    @pytest.mark.anyio
    async def test_account_lists_every_list(self, sink: ListSink, user_id: str) -> None:
        """The account read names every list the user holds, with its limits."""
        first = await sink.ensure_list(user_id, _NAME)
        await sink.apply(user_id, first.list_id, ListDiff(add=_movies(1, 2)))
        second = await sink.ensure_list(user_id, _NAME + " 2")
        account = await sink.account(user_id)
        assert account.limits == await sink.limits(user_id)
        held = {handle.list_id: handle for handle in account.lists}
        assert set(held) >= {first.list_id, second.list_id}
        assert held[first.list_id].name == _NAME
        assert held[first.list_id].item_count == 2
        found = account.find(_NAME)
        assert found is not None
        assert found.list_id == first.list_id

    @pytest.mark.anyio
    async def test_ensure_adopts_from_the_account_read(self, sink: ListSink, user_id: str) -> None:
        """Given this sync's account read, ensure_list adopts from it and creates nothing."""
        first = await sink.ensure_list(user_id, _NAME)
        account = await sink.account(user_id)
        again = await sink.ensure_list(user_id, _NAME, account=account)
        assert again.list_id == first.list_id
        assert len((await sink.account(user_id)).lists) == len(account.lists)

    @pytest.mark.anyio
    async def test_snapshot_is_the_items(self, sink: ListSink, user_id: str) -> None:
        """A snapshot holds the list's titles in order, and its handle names the list."""
        handle = await sink.ensure_list(user_id, _NAME)
        await sink.apply(user_id, handle.list_id, ListDiff(add=_movies(5, 3, 4)))
        snapshot = await sink.snapshot(user_id, handle.list_id)
        assert isinstance(snapshot, ListSnapshot)
        assert snapshot.list_id == handle.list_id
        assert snapshot.item_count == 3
        assert snapshot.refs == _movies(5, 3, 4)
        assert tuple(await sink.items(user_id, handle.list_id)) == snapshot.refs
        ids = [entry.entry_id for entry in snapshot.entries if entry.entry_id is not None]
        assert len(ids) == len(set(ids)), "entry ids are unique"

    @pytest.mark.anyio
    async def test_apply_from_a_snapshot(self, sink: ListSink, user_id: str) -> None:
        """Applying with a fresh snapshot gives the diff's reference result, whatever it changes."""
        handle = await sink.ensure_list(user_id, _NAME)
        await sink.apply(user_id, handle.list_id, ListDiff(add=_movies(1, 2, 3)))
        for target in (_movies(3, 1, 2), _movies(6, 5, 4), _movies(4, 7, 6, 5)):
            current = await sink.snapshot(user_id, handle.list_id)
            wanted = set(target)
            diff = ListDiff(
                add=tuple(ref for ref in target if ref not in current.refs),
                remove=tuple(ref for ref in current.refs if ref not in wanted),
                order=target,
            )
            after = await sink.apply(user_id, handle.list_id, diff, current=current)
            assert tuple(await sink.items(user_id, handle.list_id)) == target
            assert after.item_count == len(target)
            assert after.list_id == handle.list_id
