"""A user's compact history: what user sync derives taste, anchors and exclusions from.

Incremental fetches only bring new activity, but the taste profile, the watched-title
exclusions, the distinct counts and a rebuilt recommender need the whole history. Rather
than re-reading a long Trakt history on every sync, reclio keeps one small value per user:
the newest view of each title watched, the current ratings and the current watchlist. It is
merged, never rebuilt, so merging the same fetch twice changes nothing (a crashed sync can
simply run again).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from types import MappingProxyType

import attrs

from reclio.domain._validators import aware
from reclio.domain.ids import ItemRef, MediaType
from reclio.domain.interactions import Interaction, InteractionKind

__all__ = ["Rating", "UserHistory"]


@attrs.frozen
class Rating:
    """A current rating: the normalized value (-1..1) and when it was given."""

    value: float = attrs.field(
        converter=float, validator=[attrs.validators.ge(-1.0), attrs.validators.le(1.0)]
    )
    at: datetime = attrs.field(validator=aware)


def _frozen(value: Mapping[ItemRef, object]) -> Mapping[ItemRef, object]:
    return MappingProxyType(dict(value))


@attrs.frozen
class UserHistory:
    """Newest view per watched title, current rating per rated title, current watchlist.

    Stability: caller-stable; fields may be added with defaults.

    Attributes:
        views: When each watched title was last watched.
        ratings: The user's current rating of each rated title.
        bookmarks: When each title on the watchlist was added.
    """

    views: Mapping[ItemRef, datetime] = attrs.field(factory=dict, converter=_frozen)
    ratings: Mapping[ItemRef, Rating] = attrs.field(factory=dict, converter=_frozen)
    bookmarks: Mapping[ItemRef, datetime] = attrs.field(factory=dict, converter=_frozen)

    def with_views(self, views: Iterable[Interaction]) -> UserHistory:
        """A copy that also knows these views (a title keeps its newest view time)."""
        merged = dict(self.views)
        for view in views:
            if view.kind is InteractionKind.VIEW:
                known = merged.get(view.ref)
                if known is None or view.at > known:
                    merged[view.ref] = view.at
        return attrs.evolve(self, views=merged)

    def with_ratings(self, ratings: Iterable[Interaction]) -> UserHistory:
        """A copy whose ratings are exactly these (the source lists every current rating)."""
        current = {
            rating.ref: Rating(rating.value, rating.at)
            for rating in ratings
            if rating.kind is InteractionKind.RATING and rating.value is not None
        }
        return attrs.evolve(self, ratings=current)

    def with_bookmarks(self, bookmarks: Iterable[Interaction]) -> UserHistory:
        """A copy whose watchlist is exactly these (the source lists the whole watchlist)."""
        current = {b.ref: b.at for b in bookmarks if b.kind is InteractionKind.BOOKMARK}
        return attrs.evolve(self, bookmarks=current)

    @property
    def seen(self) -> frozenset[ItemRef]:
        """Every title the user watched or rated: never recommended back to them."""
        return frozenset(self.views) | frozenset(self.ratings)

    @property
    def refs(self) -> frozenset[ItemRef]:
        """Every title the history names."""
        return self.seen | frozenset(self.bookmarks)

    def watched(self, media_type: MediaType) -> int:
        """Distinct titles of one media type in the history."""
        return sum(1 for ref in self.views if ref.media_type is media_type)

    def interactions(self, user_id: str) -> Iterator[Interaction]:
        """The history as interactions (views, then ratings, then bookmarks; each by ref)."""
        for ref, at in sorted(self.views.items()):
            yield Interaction.view(user_id, ref, at)
        for ref, rating in sorted(self.ratings.items()):
            yield Interaction(user_id, ref, InteractionKind.RATING, rating.at, rating.value)
        for ref, at in sorted(self.bookmarks.items()):
            yield Interaction.bookmark(user_id, ref, at)

    def __len__(self) -> int:
        return len(self.views) + len(self.ratings) + len(self.bookmarks)
