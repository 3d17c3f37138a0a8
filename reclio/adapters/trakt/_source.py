"""`TraktInteractionSource`: the ``InteractionSource`` port over Trakt's sync endpoints."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Final, TypeVar

from reclio.adapters.trakt._session import TraktSession
from reclio.adapters.trakt._wire import (
    WireHistoryItem,
    WireListItem,
    WirePlayback,
    WireRating,
    decode,
    make_converter,
    to_activity,
    to_ref,
    when,
)
from reclio.domain import ActivityStamp, Interaction, ItemRef, PlaybackProgress
from reclio.ports import InteractionSource

__all__ = ["TraktInteractionSource"]

_log = logging.getLogger("reclio.adapters.trakt")

_W = TypeVar("_W", WireHistoryItem, WireRating, WireListItem, WirePlayback)

_RATING_PATHS: Final = ("/sync/ratings/movies", "/sync/ratings/shows")


class TraktInteractionSource(InteractionSource):
    """**InteractionSource** over Trakt's ``/sync`` endpoints (no extra: httpx is core).

    * `activity`: one ``GET /sync/last_activities`` (the cheap poll).
    * `history`: ``GET /sync/history`` (movies and episodes), every page, from ``start_at``
      when ``since`` is given; an episode is a view of its show. Plays are de-duplicated:
      the same history event (its type and id: seen twice when the list moves while it is
      paged) and the same title at the same instant (a scrobble and a check-in, two
      episodes of a show) count once.
    * `ratings`: ``GET /sync/ratings/movies`` and ``/sync/ratings/shows``, every page
      (episode and season ratings are not a rating of the show, and are not read).
    * `watchlist`: ``GET /sync/watchlist``, every page; a season or an episode on it is a
      bookmark of its show.
    * `playback`: ``GET /sync/playback``; a show paused in several episodes is listed once,
      at its newest pause.

    Titles are named by their TMDB id; an entry without one cannot be named in reclio and
    is skipped, counted in `unmapped` (per category) and in one INFO log line per read.

    Requests go through the user's `TraktSession`: the bearer token from the credential
    store (refreshed before it expires; one refresh and retry on 401, then
    `ReconnectNeeded`), the shared HTTP policy, explicit ``limit`` paging.

    Stability: caller-stable; implementer: internal.

    Args:
        session: The process's Trakt session (shared with `TraktListSink`).
    """

    def __init__(self, session: TraktSession) -> None:
        self._session = session
        self._converter = make_converter()
        self.unmapped: Counter[str] = Counter()
        """Entries skipped for lack of a TMDB id since construction, per category."""

    def __repr__(self) -> str:
        return f"TraktInteractionSource({self._session.config.base_url!r})"

    async def ping(self) -> None:
        """Return if Trakt accepts the app (``GET /genres/movies``, no user needed).

        Raises:
            AppRejected: the app's client id is refused (a deleted app: the message says how
                to make one that works).
            SourceError: Trakt could not be reached or failed.
        """
        await self._session.public_get("/genres/movies", operation="ping")

    async def aclose(self) -> None:
        """Nothing of its own to close: the session owns the client (close the session)."""

    async def activity(self, user_id: str) -> ActivityStamp:
        """When each category last moved (``GET /sync/last_activities``).

        Raises:
            ReconnectNeeded: the user has no usable token.
            DecodeError: a stamp is not a timestamp.
            SourceError: Trakt failed.
        """
        reply = await self._session.get(user_id, "/sync/last_activities", operation="activity")
        assert reply is not None  # noqa: S101 - only missing_ok requests return None
        return to_activity(reply.body)

    async def history(
        self, user_id: str, *, since: datetime | None = None
    ) -> Sequence[Interaction]:
        """Views at or after ``since`` (all when ``None``), newest first, each play once.

        Raises:
            ValueError: ``since`` is naive.
            ReconnectNeeded: the user has no usable token.
            SourceError: Trakt failed.
        """
        params = {}
        if since is not None:
            if since.utcoffset() is None:
                msg = f"since must be timezone-aware, got {since!r}"
                raise ValueError(msg)
            params["start_at"] = _iso(since)
        events: set[tuple[str | None, int]] = set()
        views: dict[tuple[ItemRef, datetime], Interaction] = {}
        skipped = 0
        for item in await self._read(user_id, "/sync/history", WireHistoryItem, "history", params):
            if item.id is not None:
                event = (item.type, item.id)
                if event in events:
                    continue
                events.add(event)
            ref = to_ref(item)
            if ref is None:
                skipped += 1
                continue
            at = when(item.watched_at, field="watched_at", operation="history")
            if since is not None and at < since:
                continue
            views.setdefault((ref, at), Interaction.view(user_id, ref, at))
        self._count_unmapped(user_id, "history", skipped)
        return _newest_first(views.values())

    async def ratings(self, user_id: str) -> Sequence[Interaction]:
        """Every movie and show rating the user holds now, newest first.

        Raises:
            ReconnectNeeded: the user has no usable token.
            SourceError: Trakt failed.
        """
        entries = [
            item
            for path in _RATING_PATHS
            for item in await self._read(user_id, path, WireRating, "ratings")
            if item.type in (None, "movie", "show") and 1 <= item.rating <= 10  # noqa: PLR2004
        ]
        newest = self._newest(user_id, "ratings", entries, lambda item: item.rated_at)
        return _newest_first(
            Interaction.rating(user_id, ref, item.rating, at) for ref, (at, item) in newest.items()
        )

    async def watchlist(self, user_id: str) -> Sequence[Interaction]:
        """Every watchlist entry as a bookmark of its movie or show, newest first.

        Raises:
            ReconnectNeeded: the user has no usable token.
            SourceError: Trakt failed.
        """
        entries = await self._read(user_id, "/sync/watchlist", WireListItem, "watchlist")
        newest = self._newest(user_id, "watchlist", entries, lambda item: item.listed_at)
        return _newest_first(
            Interaction.bookmark(user_id, ref, at) for ref, (at, _item) in newest.items()
        )

    async def playback(self, user_id: str) -> Sequence[PlaybackProgress]:
        """Titles paused part-way, newest first; a show once, at its newest pause.

        Raises:
            ReconnectNeeded: the user has no usable token.
            SourceError: Trakt failed.
        """
        entries = await self._read(user_id, "/sync/playback", WirePlayback, "playback")
        newest = self._newest(user_id, "playback", entries, lambda item: item.paused_at)
        paused = [
            PlaybackProgress(ref, min(max(item.progress, 0.0), 100.0), at)
            for ref, (at, item) in newest.items()
        ]
        return sorted(paused, key=lambda p: (p.paused_at, p.ref), reverse=True)

    def _newest(
        self, user_id: str, category: str, entries: Iterable[_W], stamp: Callable[[_W], object]
    ) -> dict[ItemRef, tuple[datetime, _W]]:
        """Each title's newest entry with its time; entries without a TMDB id are counted."""
        newest: dict[ItemRef, tuple[datetime, _W]] = {}
        skipped = 0
        for item in entries:
            ref = to_ref(item)
            if ref is None:
                skipped += 1
                continue
            at = when(stamp(item), field=f"{category} time", operation=category)
            kept = newest.get(ref)
            if kept is None or at > kept[0]:
                newest[ref] = (at, item)
        self._count_unmapped(user_id, category, skipped)
        return newest

    async def _read(
        self,
        user_id: str,
        path: str,
        wire: type[_W],
        operation: str,
        params: dict[str, str] | None = None,
    ) -> list[_W]:
        entries: list[_W] = []
        async for reply in self._session.pages(user_id, path, operation=operation, params=params):
            page = decode(self._converter, reply.body, list[wire], what=path, operation=operation)  # type: ignore[valid-type]
            entries.extend(page)
        return entries

    def _count_unmapped(self, user_id: str, category: str, skipped: int) -> None:
        if skipped:
            self.unmapped[category] += skipped
            _log.info(
                "trakt %s of user %s: %d entries without a TMDB id skipped",
                category,
                user_id,
                skipped,
            )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _newest_first(interactions: Iterable[Interaction]) -> list[Interaction]:
    return sorted(interactions, key=lambda i: (i.at, i.ref), reverse=True)
