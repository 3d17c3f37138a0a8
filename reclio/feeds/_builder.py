"""FeedBuilder: one user's ten feeds from stored state, with no network and no failure."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Final, Protocol

from reclio.domain import Anchor, FeedsResponse, ItemRef, MediaType, UserState, valid_text
from reclio.errors import SourceError
from reclio.feeds._chain import FeedContext, FeedSpec, run_chain
from reclio.feeds._counter import FeedRequestCounter
from reclio.feeds.defaults import DEFAULT_LAYOUT
from reclio.ports import CatalogStore, UserStore

__all__ = ["FeedBuilder", "FeedStore", "parse_last_watched"]

logger = logging.getLogger("reclio.feeds")

_HINT: Final = re.compile(r"(movie|show):([1-9][0-9]{0,7})")
_MAX_HINT_ID: Final = 10_000_000


def parse_last_watched(hint: str | None) -> ItemRef | None:
    """Read a ``last_watched`` hint (``movie:603`` / ``show:1399``); ``None`` if malformed."""
    if not hint:
        return None
    match = _HINT.fullmatch(hint.strip())
    if match is None or int(match[2]) > _MAX_HINT_ID:
        return None
    media_type = MediaType.MOVIE if match[1] == "movie" else MediaType.TV
    return ItemRef(media_type, int(match[2]))


def _known_anchor(state: UserState | None, ref: ItemRef) -> Anchor | None:
    if state is None:
        return None
    candidates = (
        state.last_watched(ref.media_type),
        state.highest_rated(ref.media_type),
    )
    return next((a for a in candidates if a is not None and a.ref == ref), None)


class FeedStore(UserStore, CatalogStore, Protocol):
    """The two state roles feeds read: users' state, and the catalog (to name a hinted title)."""


class FeedBuilder:
    """Builds the ChillLink feeds of one user from the state store alone.

    ``build()`` never raises for any stored state or any ``SourceError`` from the store: an
    unknown user, a broken store or missing lists all yield a complete layout, because every
    chain ends in a non-personal terminal. Each feed records which links were tried and why
    they passed (``Feed.provenance``). What degraded the request (a store error, an ignored
    ``last_watched`` hint) is noted once in ``FeedsResponse.notes`` and opens every feed's
    provenance, so a broken store never looks like an unknown user.

    Stability: caller-stable.

    Args:
        store: Where user state (and the catalog, for hinted titles) lives.
        counter: Counts each request of a user the store knows (in memory; the runtime
            writes the counts in batches). ``None``: requests are not counted.
        layout: The feeds, in order (default: the ten feeds of `DEFAULT_LAYOUT`).
        today: Clock for date-relative preferences (default: today in UTC).

    Example:
        >>> builder = FeedBuilder(store)  # doctest: +SKIP
        >>> response = await builder.build("user-1", last_watched="movie:603")  # doctest: +SKIP
    """

    def __init__(
        self,
        store: FeedStore,
        *,
        counter: FeedRequestCounter | None = None,
        layout: Sequence[FeedSpec] = DEFAULT_LAYOUT,
        today: Callable[[], date] = lambda: datetime.now(UTC).date(),
    ) -> None:
        ids = [spec.id for spec in layout]
        if len(ids) != len(set(ids)):
            msg = f"feed ids must be unique, got {ids}"
            raise ValueError(msg)
        self._store = store
        self._counter = counter
        self._layout = tuple(layout)
        self._today = today

    @property
    def layout(self) -> tuple[FeedSpec, ...]:
        """The feeds this builder serves, in order."""
        return self._layout

    def today(self) -> date:
        """The date feeds are built for now (date-relative preferences depend on it)."""
        return self._today()

    async def build(self, user_id: str, *, last_watched: str | None = None) -> FeedsResponse:
        """The user's feeds.

        Args:
            user_id: Who asked. Made valid Unicode first (`valid_text`), as `UserState`
                does with the ids it stores, so an id from a URL always matches.
            last_watched: Optional hint from the app (``movie:603`` / ``show:1399``) that
                overrides the Because You Watched anchor; malformed hints are ignored.
        """
        user_id = valid_text(user_id)
        try:
            state = await self._store.get_user(user_id)
        except SourceError as exc:
            logger.warning("feeds for %r served without state: %s", user_id, exc)
            notes = [f"state unavailable: {exc}"]
            return await self._compose(user_id, None, last_watched, notes, store_ok=False)
        return await self.build_for(user_id, state, last_watched=last_watched)

    async def build_for(
        self, user_id: str, state: UserState | None, *, last_watched: str | None = None
    ) -> FeedsResponse:
        """The feeds of a state the caller already read (``None``: an unknown user).

        For an application that reads the state itself, e.g. to reuse a body it built for
        the same state; a known user's request is counted as `build` counts it.

        Args:
            user_id: Whose state it is.
            state: The state `UserStore.get_user` returned for ``user_id``.
            last_watched: As for `build`.
        """
        user_id = valid_text(user_id)
        if state is not None and self._counter is not None:
            self._counter.count(user_id)
        return await self._compose(user_id, state, last_watched, [], store_ok=True)

    async def _compose(
        self,
        user_id: str,
        state: UserState | None,
        last_watched: str | None,
        notes: list[str],
        *,
        store_ok: bool,
    ) -> FeedsResponse:
        anchors = await self._anchors(state, last_watched, notes, store_ok=store_ok)
        ctx = FeedContext(user_id, state, self._today(), anchors, tuple(notes))
        return FeedsResponse((run_chain(spec, ctx) for spec in self._layout), ctx.notes)

    async def _anchors(
        self, state: UserState | None, hint: str | None, notes: list[str], *, store_ok: bool
    ) -> dict[MediaType, Anchor]:
        anchors: dict[MediaType, Anchor] = {}
        if state is not None:
            for media_type in MediaType:
                anchor = state.last_watched(media_type)
                if anchor is not None:
                    anchors[media_type] = anchor
        ref = parse_last_watched(hint)
        if hint and ref is None:
            notes.append(f"ignored malformed last_watched hint {hint[:40]!r}")
        if ref is None:
            return anchors
        anchor = _known_anchor(state, ref)
        if anchor is None and store_ok:  # a store that just failed would only fail again
            anchor = await self._catalog_anchor(ref, notes)
        if anchor is not None:
            anchors[ref.media_type] = anchor
        return anchors

    async def _catalog_anchor(self, ref: ItemRef, notes: list[str]) -> Anchor | None:
        """Name a hinted title from the local catalog (a store read; never the network)."""
        try:
            records = await self._store.get_titles([ref])
        except SourceError as exc:
            notes.append(f"ignored last_watched hint {ref}: {exc}")
            return None
        if not records:
            notes.append(f"ignored last_watched hint {ref}: not in the catalog")
            return None
        return Anchor(ref, records[0].title.title)
