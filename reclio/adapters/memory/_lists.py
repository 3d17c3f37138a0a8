"""The in-memory list sink: per-user lists with ids, adopted by name, limits enforced."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import attrs

from reclio.domain import (
    AccountLimits,
    ItemRef,
    ListAccount,
    ListDiff,
    ListEntry,
    ListHandle,
    ListSnapshot,
)
from reclio.errors import AccountLimitExceeded, SourceError
from reclio.ports import ListSink

_SERVICE = "memory"


@attrs.define
class _List:
    list_id: int
    name: str
    description: str
    items: list[ItemRef] = attrs.Factory(list)
    entry_ids: dict[ItemRef, int] = attrs.Factory(dict)

    def handle(self) -> ListHandle:
        return ListHandle(self.list_id, self.name, len(self.items))


class InMemoryListSink(ListSink):
    """**ListSink** over lists held in memory, with Trakt's rules.

    List ids are unique across all users, as Trakt's are, and so are entry ids.
    `ensure_list` adopts the first list with the same name before creating one. Reads
    always show the last write (unlike Trakt's). `apply` removes, then appends
    additions not already present (Trakt reports those as "existing"), then reorders when
    the diff carries an order; items the order does not mention keep their relative order
    after it. Limits are checked before anything changes, so a refused diff leaves the list
    exactly as it was.

    To simulate failures, wrap it in `reclio.testing.faults.FlakyListSink` (e.g. make
    ``"sink.apply"`` raise ``SourceUnavailable`` once) or give the account small
    `AccountLimits`.

    Stability: caller-stable; implementer: internal.

    Args:
        limits: What every account may hold (Trakt's free tier is far smaller than the
            default here; pass ``AccountLimits(2, 100)`` to see the fallbacks).
        per_user_limits: Overrides for particular users.
    """

    def __init__(
        self,
        *,
        limits: AccountLimits = AccountLimits(max_lists=100, max_items_per_list=5000),  # noqa: B008 - a frozen value
        per_user_limits: dict[str, AccountLimits] | None = None,
    ) -> None:
        self._limits = limits
        self._per_user = dict(per_user_limits or {})
        self._lists: dict[str, dict[int, _List]] = {}
        self._ids = itertools.count(1)
        self._entry_ids = itertools.count(1)

    # -- setting up and inspecting -----------------------------------------------------------

    def set_limits(self, user_id: str, limits: AccountLimits) -> None:
        """Give one account its own limits (e.g. a free Trakt account)."""
        self._per_user[user_id] = limits

    def lists(self, user_id: str) -> Sequence[ListHandle]:
        """Every list the user holds, in creation order."""
        return [entry.handle() for entry in self._lists.get(user_id, {}).values()]

    async def account(self, user_id: str) -> ListAccount:
        """The account's limits and its lists, in creation order."""
        return ListAccount(self._limits_of(user_id), self.lists(user_id))

    async def ensure_list(
        self,
        user_id: str,
        name: str,
        *,
        description: str = "",
        account: ListAccount | None = None,  # noqa: ARG002 - reads are never stale here
    ) -> ListHandle:
        """Adopt the user's list called ``name``, or create it.

        Raises:
            AccountLimitExceeded: creating it would exceed the account's list limit.
        """
        owned = self._lists.setdefault(user_id, {})
        for entry in owned.values():
            if entry.name == name:
                return entry.handle()
        limit = self._limits_of(user_id).max_lists
        if len(owned) >= limit:
            msg = f"account {user_id!r} may hold {limit} lists and holds {len(owned)}"
            raise AccountLimitExceeded(msg, service=_SERVICE, operation="ensure_list")
        entry = _List(next(self._ids), name, description)
        owned[entry.list_id] = entry
        return entry.handle()

    async def snapshot(self, user_id: str, list_id: int) -> ListSnapshot:
        """The list's items, in order, with their entry ids.

        Raises:
            SourceError: the user holds no list with this id.
        """
        entry = self._get(user_id, list_id, "snapshot")
        return ListSnapshot(list_id, [ListEntry(ref, entry.entry_ids[ref]) for ref in entry.items])

    async def items(self, user_id: str, list_id: int) -> Sequence[ItemRef]:
        """The list's items, in order.

        Raises:
            SourceError: the user holds no list with this id.
        """
        return list(self._get(user_id, list_id, "items").items)

    async def apply(
        self,
        user_id: str,
        list_id: int,
        diff: ListDiff,
        *,
        current: ListSnapshot | None = None,  # noqa: ARG002 - it applies to what it holds
    ) -> ListHandle:
        """Remove, add, then reorder (`ListDiff.apply`); all or nothing.

        Raises:
            AccountLimitExceeded: the list would hold more items than the account allows.
            SourceError: the user holds no list with this id.
        """
        entry = self._get(user_id, list_id, "apply")
        items = list(diff.apply(entry.items))
        limit = self._limits_of(user_id).max_items_per_list
        if len(items) > limit:
            msg = f"list {list_id} may hold {limit} items; the diff would leave {len(items)}"
            raise AccountLimitExceeded(msg, service=_SERVICE, operation="apply")
        entry.items = items
        entry.entry_ids = {ref: entry.entry_ids.get(ref) or next(self._entry_ids) for ref in items}
        return entry.handle()

    async def limits(self, user_id: str) -> AccountLimits:
        """What the account allows."""
        return self._limits_of(user_id)

    def _limits_of(self, user_id: str) -> AccountLimits:
        return self._per_user.get(user_id, self._limits)

    def _get(self, user_id: str, list_id: int, operation: str) -> _List:
        entry = self._lists.get(user_id, {}).get(list_id)
        if entry is None:
            msg = f"user {user_id!r} holds no list {list_id}"
            raise SourceError(msg, service=_SERVICE, operation=operation)
        return entry
