"""The in-memory interaction source: per-user views, ratings, watchlist and playback."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import attrs

from reclio._clock import Clock, require_aware, utc_now
from reclio.domain import ActivityStamp, Interaction, InteractionKind, ItemRef, PlaybackProgress
from reclio.ports import InteractionSource

_TICK = timedelta(microseconds=1)


@attrs.define
class _Account:
    views: list[Interaction] = attrs.Factory(list)
    ratings: dict[ItemRef, Interaction] = attrs.Factory(dict)
    watchlist: dict[ItemRef, Interaction] = attrs.Factory(dict)
    playback: dict[ItemRef, PlaybackProgress] = attrs.Factory(dict)
    stamp: ActivityStamp = attrs.Factory(ActivityStamp)


class InMemoryInteractionSource(InteractionSource):
    """**InteractionSource** over activity held in memory, shaped like Trakt's.

    Add activity with `add_view`, `add_rating`, `add_bookmark`,
    `set_playback` (or `add` for ready-made interactions). Like Trakt's
    ``last_activities``, each change moves the matching category of the user's
    `ActivityStamp` to ``clock()``, and always strictly forward, even
    when the clock stands still, so a poll never misses a change. A user with no activity is
    not an error: their stamp is empty and every list is empty.

    Stability: caller-stable; implementer: internal.

    Args:
        clock: Returns the current aware datetime; stamps activity.
    """

    def __init__(self, *, clock: Clock = utc_now) -> None:
        self._clock = clock
        self._accounts: dict[str, _Account] = {}

    # -- adding activity ---------------------------------------------------------------------

    def add_view(self, user_id: str, ref: ItemRef, at: datetime) -> Interaction:
        """Record a watch-history entry (re-watches are separate entries)."""
        view = Interaction.view(user_id, ref, at)
        account = self._account(user_id)
        account.views.append(view)
        self._touch(account, "watched_at")
        return view

    def add_rating(self, user_id: str, ref: ItemRef, stars: float, at: datetime) -> Interaction:
        """Rate a title 1..10; a new rating of the same title replaces the old one."""
        rating = Interaction.rating(user_id, ref, stars, at)
        account = self._account(user_id)
        account.ratings[ref] = rating
        self._touch(account, "rated_at")
        return rating

    def add_bookmark(self, user_id: str, ref: ItemRef, at: datetime) -> Interaction:
        """Put a title on the watchlist (again: the newer entry replaces the older)."""
        bookmark = Interaction.bookmark(user_id, ref, at)
        account = self._account(user_id)
        account.watchlist[ref] = bookmark
        self._touch(account, "watchlisted_at")
        return bookmark

    def remove_bookmark(self, user_id: str, ref: ItemRef) -> None:
        """Take a title off the watchlist (a no-op if it is not there)."""
        account = self._account(user_id)
        if account.watchlist.pop(ref, None) is not None:
            self._touch(account, "watchlisted_at")

    def set_playback(self, user_id: str, progress: PlaybackProgress) -> None:
        """Record (or replace) a title paused part-way."""
        account = self._account(user_id)
        account.playback[progress.ref] = progress
        self._touch(account, "paused_at")

    def remove_playback(self, user_id: str, ref: ItemRef) -> None:
        """Forget a paused title (finished or dismissed); a no-op if it is not there."""
        account = self._account(user_id)
        if account.playback.pop(ref, None) is not None:
            self._touch(account, "paused_at")

    def add(self, interactions: Iterable[Interaction]) -> None:
        """Record ready-made interactions of any kind (their ``user_id`` says whose)."""
        for interaction in interactions:
            if interaction.kind is InteractionKind.VIEW:
                self.add_view(interaction.user_id, interaction.ref, interaction.at)
                continue
            account = self._account(interaction.user_id)
            if interaction.kind is InteractionKind.RATING:
                account.ratings[interaction.ref] = interaction
                self._touch(account, "rated_at")
            else:
                account.watchlist[interaction.ref] = interaction
                self._touch(account, "watchlisted_at")

    @property
    def user_ids(self) -> Sequence[str]:
        """Every user with any activity, sorted."""
        return sorted(self._accounts)

    # -- the port ----------------------------------------------------------------------------

    async def activity(self, user_id: str) -> ActivityStamp:
        """When each category last moved; empty for an unknown user."""
        account = self._accounts.get(user_id)
        return account.stamp if account is not None else ActivityStamp()

    async def history(
        self, user_id: str, *, since: datetime | None = None
    ) -> Sequence[Interaction]:
        """Views at or after ``since`` (all when ``None``), newest first."""
        account = self._accounts.get(user_id)
        if account is None:
            return []
        views = account.views
        if since is not None:
            require_aware(since, "since")
            views = [view for view in views if view.at >= since]
        return _newest_first(views)

    async def ratings(self, user_id: str) -> Sequence[Interaction]:
        """Every current rating, newest first."""
        account = self._accounts.get(user_id)
        return _newest_first(account.ratings.values()) if account is not None else []

    async def watchlist(self, user_id: str) -> Sequence[Interaction]:
        """Every watchlist entry as a bookmark, newest first."""
        account = self._accounts.get(user_id)
        return _newest_first(account.watchlist.values()) if account is not None else []

    async def playback(self, user_id: str) -> Sequence[PlaybackProgress]:
        """Titles paused part-way, newest first."""
        account = self._accounts.get(user_id)
        if account is None:
            return []
        return sorted(account.playback.values(), key=lambda p: (p.paused_at, p.ref), reverse=True)

    # -- helpers -----------------------------------------------------------------------------

    def _account(self, user_id: str) -> _Account:
        account = self._accounts.get(user_id)
        if account is None:
            account = self._accounts[user_id] = _Account()
        return account

    def _touch(self, account: _Account, category: str) -> None:
        now = require_aware(self._clock(), "clock()")
        previous: datetime | None = getattr(account.stamp, category)
        if previous is not None and now <= previous:
            now = previous + _TICK
        account.stamp = attrs.evolve(account.stamp, **{category: now})


def _newest_first(interactions: Iterable[Interaction]) -> list[Interaction]:
    return sorted(interactions, key=lambda i: (i.at, i.ref), reverse=True)
