"""`TraktListSink`: the ``ListSink`` port over a user's personal Trakt lists."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Final

from reclio.adapters.trakt._session import TraktSession
from reclio.adapters.trakt._wire import (
    SERVICE,
    WireListItem,
    WireTraktList,
    WriteAnswer,
    decode,
    make_converter,
    to_handle,
    to_limits,
    to_ref,
    to_write_answer,
)
from reclio.adapters.trakt._writes import Add, Remove, Reorder, Write, plan_writes, simulate
from reclio.domain import (
    AccountLimits,
    ItemRef,
    ListAccount,
    ListDiff,
    ListEntry,
    ListHandle,
    ListSnapshot,
    MediaType,
)
from reclio.errors import SourceError
from reclio.ports import ListSink

__all__ = ["TraktListSink"]

_log = logging.getLogger("reclio.adapters.trakt")

_LISTS: Final = "/users/me/lists"


class TraktListSink(ListSink):
    """**ListSink** over the user's personal Trakt lists (no extra: httpx is core).

    Built for Trakt's 2026 rules (reference/API-FACTS.md A.7 to A.9):

    * `account`: ``GET /users/settings`` (the account's own ``limits``) and
      ``GET /users/me/lists`` (every list it holds), one read per sync.
    * `ensure_list`: adopts the list with the exact name (from the account read when
      given), else creates it private, without comments, ranked (``sort_by=rank``). A 420
      is `AccountLimitExceeded` and is never retried; the create itself is never retried
      either (a lost answer retried would make two lists).
    * `snapshot`: ``GET /users/me/lists/{id}/items``, every page, with each entry's id.
    * `apply`: at most three writes chosen by ``plan_writes`` (reorder, remove, add: never
      clear-then-add; the list is never empty on the way), each in the user's turn of the
      `TraktWritePacer` (one per second). What the list holds afterwards is what the
      writes answered (``added`` / ``existing`` / ``not_found``, ``list.item_count``):
      Trakt's reads lag its writes, so nothing is read back.

    Stability: caller-stable; implementer: internal.

    Args:
        session: The process's Trakt session (shared with `TraktInteractionSource`).
    """

    def __init__(self, session: TraktSession) -> None:
        self._session = session
        self._converter = make_converter()
        self.not_found = 0
        """Titles Trakt did not know when reclio added them, since construction."""

    def __repr__(self) -> str:
        return f"TraktListSink({self._session.config.base_url!r})"

    async def aclose(self) -> None:
        """Nothing of its own to close: the session owns the client (close the session)."""

    async def limits(self, user_id: str) -> AccountLimits:
        """The account's list limits (``GET /users/settings``).

        Raises:
            ReconnectNeeded: the user has no usable token.
            SourceError: Trakt failed.
        """
        reply = await self._session.get(user_id, "/users/settings", operation="limits")
        assert reply is not None  # noqa: S101 - only missing_ok requests return None
        return to_limits(reply.body)

    async def account(self, user_id: str) -> ListAccount:
        """The account's limits and every personal list it holds (two reads).

        Raises:
            ReconnectNeeded: the user has no usable token.
            SourceError: Trakt failed.
        """
        limits = await self.limits(user_id)
        handles: list[ListHandle] = []
        async for reply in self._session.pages(user_id, _LISTS, operation="account"):
            page = decode(
                self._converter, reply.body, list[WireTraktList], what=_LISTS, operation="account"
            )
            handles.extend(
                to_handle(wire, operation="account")
                for wire in page
                if wire.type in (None, "personal")
            )
        return ListAccount(limits, handles)

    async def ensure_list(
        self,
        user_id: str,
        name: str,
        *,
        description: str = "",
        account: ListAccount | None = None,
    ) -> ListHandle:
        """Adopt the list called ``name``, or create it (private, ranked, no comments).

        Raises:
            AccountLimitExceeded: the account may hold no more lists (Trakt 420).
            ReconnectNeeded: the user has no usable token.
            SourceError: Trakt failed.
        """
        account = account or await self.account(user_id)
        found = account.find(name)
        if found is not None:
            return found
        body = {
            "name": name,
            "description": description,
            "privacy": "private",
            "display_numbers": False,
            "allow_comments": False,
            "sort_by": "rank",
            "sort_how": "asc",
        }
        reply = await self._session.write(
            user_id, _LISTS, operation="ensure_list", json=body, retry=False
        )
        wire = decode(
            self._converter, reply.body, WireTraktList, what=_LISTS, operation="ensure_list"
        )
        handle = to_handle(wire, operation="ensure_list")
        _log.info("trakt: created list %d %r for user %s", handle.list_id, name, user_id)
        return handle

    async def snapshot(self, user_id: str, list_id: int) -> ListSnapshot:
        """The list's entries in rank order, each with its list-item id, every page.

        Raises:
            SourceError: the account holds no such list (404), or Trakt failed.
        """
        path = f"{_LISTS}/{list_id}/items"
        entries: list[ListEntry] = []
        foreign = 0
        missing = SourceError(
            f"user {user_id!r} holds no Trakt list {list_id}", service=SERVICE, operation="snapshot"
        )
        async for reply in self._session.pages(
            user_id, path, operation="snapshot", if_missing=missing
        ):
            page = decode(
                self._converter, reply.body, list[WireListItem], what=path, operation="snapshot"
            )
            for item in page:
                ref = to_ref(item) if item.type in ("movie", "show") else None
                if ref is None:
                    foreign += 1
                else:
                    entries.append(ListEntry(ref, item.id))
        return ListSnapshot(list_id, entries, foreign)

    async def items(self, user_id: str, list_id: int) -> Sequence[ItemRef]:
        """The list's titles, in rank order (see `snapshot`).

        Raises:
            SourceError: the account holds no such list, or Trakt failed.
        """
        return (await self.snapshot(user_id, list_id)).refs

    async def apply(
        self,
        user_id: str,
        list_id: int,
        diff: ListDiff,
        *,
        current: ListSnapshot | None = None,
    ) -> ListHandle:
        """Turn the list into ``diff.apply(current)`` with at most three writes.

        Without ``current`` the list is read first (one more request). A failure between
        two writes leaves the list part of the way there (never empty); the error says
        which write failed, and the next sync plans from what is there.

        Returns:
            The list's id, its item count and stamp as the last write answered (its name is
            not read again, and is left empty).

        Raises:
            AccountLimitExceeded: the list may not hold that many items (Trakt 420).
            ReconnectNeeded: the user has no usable token.
            SourceError: a write failed (the list is left as the earlier writes made it).
        """
        current = current or await self.snapshot(user_id, list_id)
        target = diff.apply(current.refs)
        writes = plan_writes(current.entries, target, can_reorder=current.foreign == 0)
        held: tuple[ItemRef, ...] = current.refs
        answer: WriteAnswer | None = None
        for write in writes:
            answer = await self._send(user_id, list_id, write)
            held = simulate(held, write)
        if answer is None:
            return ListHandle(list_id, "", current.item_count)  # nothing to write
        count = answer.item_count if answer.item_count is not None else len(held) + current.foreign
        return ListHandle(list_id, "", count, answer.updated_at)

    async def _send(self, user_id: str, list_id: int, write: Write) -> WriteAnswer:
        path = f"{_LISTS}/{list_id}/items"
        body: object
        if isinstance(write, Reorder):
            path, body, operation = f"{path}/reorder", {"rank": list(write.entry_ids)}, "reorder"
        elif isinstance(write, Remove):
            path, body, operation = f"{path}/remove", _titles(write.refs), "remove_items"
        else:
            body, operation = _titles(write.refs), "add_items"
        reply = await self._session.write(user_id, path, operation=operation, json=body)
        answer = to_write_answer(reply.body, operation=operation)
        if isinstance(write, Add) and answer.not_found:
            self.not_found += answer.not_found
            _log.info(
                "trakt: %d of %d titles added to list %d of user %s are unknown to Trakt",
                answer.not_found,
                len(write.refs),
                list_id,
                user_id,
            )
        return answer


def _titles(refs: Sequence[ItemRef]) -> dict[str, list[dict[str, dict[str, int]]]]:
    """A list write's body: movies and shows by TMDB id (each namespace its own array)."""
    return {
        "movies": [{"ids": {"tmdb": r.tmdb_id}} for r in refs if r.media_type is MediaType.MOVIE],
        "shows": [{"ids": {"tmdb": r.tmdb_id}} for r in refs if r.media_type is MediaType.TV],
    }
