"""The InteractionSource contract: what every interaction source must do, as a pytest suite.

Subclass `InteractionSourceContract` and override ``source`` and ``user_id``: a user
with at least two views at different times, at least one rating, one watchlist entry and one
title paused part-way. Nothing else about their activity is assumed::

    class TestMySource(InteractionSourceContract):
        @pytest.fixture
        def source(self) -> InteractionSource: ...

        @pytest.fixture
        def user_id(self) -> str:
            return "contract-user"

Stability: testing (may change between minor versions).
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from reclio.domain import Interaction, InteractionKind
from reclio.ports import InteractionSource

__all__ = ["InteractionSourceContract"]


def _newest_first(interactions: Sequence[Interaction]) -> bool:
    stamps = [interaction.at for interaction in interactions]
    return stamps == sorted(stamps, reverse=True)


class InteractionSourceContract:
    """Behaviour every `InteractionSource` must have."""

    @pytest.fixture
    def source(self) -> InteractionSource:
        """The source under test; subclasses must override this."""
        raise NotImplementedError

    @pytest.fixture
    def user_id(self) -> str:
        """A user with views, a rating, a watchlist entry and playback; override if needed."""
        return "contract-user"

    @pytest.mark.anyio
    async def test_history_newest_first(self, source: InteractionSource, user_id: str) -> None:
        """History holds the user's views, newest first, each with an aware timestamp."""
        history = await source.history(user_id)
        assert len(history) >= 2
        assert all(i.kind is InteractionKind.VIEW and i.user_id == user_id for i in history)
        assert all(i.at.utcoffset() is not None for i in history)
        assert _newest_first(history)

    @pytest.mark.anyio
    async def test_history_since(self, source: InteractionSource, user_id: str) -> None:
        """History since a moment holds exactly the views at or after it."""
        history = await source.history(user_id)
        since = history[len(history) // 2].at
        recent = await source.history(user_id, since=since)
        assert {i.key for i in recent} == {i.key for i in history if i.at >= since}
        assert _newest_first(recent)

    @pytest.mark.anyio
    async def test_ratings(self, source: InteractionSource, user_id: str) -> None:
        """Ratings carry a normalized value in [-1, 1], newest first."""
        ratings = await source.ratings(user_id)
        assert ratings
        assert all(i.kind is InteractionKind.RATING and i.user_id == user_id for i in ratings)
        assert all(i.value is not None and -1.0 <= i.value <= 1.0 for i in ratings)
        assert _newest_first(ratings)

    @pytest.mark.anyio
    async def test_watchlist(self, source: InteractionSource, user_id: str) -> None:
        """Watchlist entries are bookmarks, newest first."""
        watchlist = await source.watchlist(user_id)
        assert watchlist
        assert all(i.kind is InteractionKind.BOOKMARK for i in watchlist)
        assert _newest_first(watchlist)

    @pytest.mark.anyio
    async def test_playback(self, source: InteractionSource, user_id: str) -> None:
        """Paused titles carry progress in 0..100, newest first."""
        playback = await source.playback(user_id)
        assert playback
        assert all(0.0 <= p.progress <= 100.0 for p in playback)
        stamps = [p.paused_at for p in playback]
        assert stamps == sorted(stamps, reverse=True)

    @pytest.mark.anyio
    async def test_activity_reflects_categories(
        self, source: InteractionSource, user_id: str
    ) -> None:
        """A user with views, ratings, a watchlist and playback has all four stamps set."""
        stamp = await source.activity(user_id)
        assert stamp.watched_at is not None
        assert stamp.rated_at is not None
        assert stamp.watchlisted_at is not None
        assert stamp.paused_at is not None

    @pytest.mark.anyio
    async def test_activity_is_stable(self, source: InteractionSource, user_id: str) -> None:
        """Polling twice without new activity gives the same stamp (nothing looks changed)."""
        first = await source.activity(user_id)
        second = await source.activity(user_id)
        assert second.changed_since(first) == frozenset()
