"""What a person did with a title: views, ratings, bookmarks, and playback in progress."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from reclio.domain._converters import valid_text
from reclio.domain._validators import aware, optional_aware
from reclio.domain.ids import ItemRef


class InteractionKind(enum.Enum):
    """How a person signalled interest."""

    VIEW = "view"
    """A watch-history entry: an implicit positive (a "detail view" for the recommender)."""
    RATING = "rating"
    """An explicit rating, normalized onto [-1, 1]."""
    BOOKMARK = "bookmark"
    """A watchlist entry: strong intent to watch."""


def normalize_rating(stars: float) -> float:
    """Map a 1..10 rating onto [-1, 1]: 10 -> +1.0, 1 -> -1.0, 5.5 -> 0.

    Raises:
        ValueError: a rating outside 1..10.
    """
    if not 1 <= stars <= 10:  # noqa: PLR2004 - the scale's own bounds
        msg = f"a rating is between 1 and 10, got {stars!r}"
        raise ValueError(msg)
    return (stars - 5.5) / 4.5


def _rating_value(inst: Interaction, _attribute: object, value: float | None) -> None:
    if inst.kind is InteractionKind.RATING:
        if value is None or not -1.0 <= value <= 1.0:
            msg = f"a rating interaction needs a value in [-1, 1], got {value!r}"
            raise ValueError(msg)
    elif value is not None:
        msg = f"only ratings carry a value, got {value!r} on a {inst.kind.value}"
        raise ValueError(msg)


@attrs.frozen
class Interaction:
    """One signal from one user about one title.

    Two interactions with the same `key` are the same event, however often a source
    reports them; recommenders treat re-sending one as success.

    Stability: caller-stable.

    Attributes:
        user_id: reclio's id for the user.
        ref: The title.
        kind: View, rating or bookmark.
        at: When it happened (timezone-aware).
        value: For ratings only: the normalized rating in [-1, 1].
    """

    user_id: str = attrs.field(converter=valid_text)
    ref: ItemRef
    kind: InteractionKind
    at: datetime = attrs.field(validator=aware)
    value: float | None = attrs.field(default=None, validator=_rating_value)

    @classmethod
    def view(cls, user_id: str, ref: ItemRef, at: datetime) -> Interaction:
        """A watch-history entry."""
        return cls(user_id, ref, InteractionKind.VIEW, at)

    @classmethod
    def rating(cls, user_id: str, ref: ItemRef, stars: float, at: datetime) -> Interaction:
        """A 1..10 rating, stored normalized (see `normalize_rating`)."""
        return cls(user_id, ref, InteractionKind.RATING, at, normalize_rating(stars))

    @classmethod
    def bookmark(cls, user_id: str, ref: ItemRef, at: datetime) -> Interaction:
        """A watchlist entry."""
        return cls(user_id, ref, InteractionKind.BOOKMARK, at)

    @property
    def key(self) -> tuple[str, str, ItemRef, datetime]:
        """Identity for de-duplication: (user, kind, title, timestamp)."""
        return (self.user_id, self.kind.value, self.ref, self.at)


@attrs.frozen
class PlaybackProgress:
    """A title the user paused part-way (Trakt playback): feeds "Continue Watching".

    Attributes:
        ref: The movie, or the show an episode belongs to.
        progress: Percent watched, 0 to 100.
        paused_at: When playback stopped (timezone-aware).
    """

    ref: ItemRef
    progress: float = attrs.field(validator=[attrs.validators.ge(0), attrs.validators.le(100)])
    paused_at: datetime = attrs.field(validator=aware)


class ActivityCategory(enum.StrEnum):
    """A category of activity the cheap poll reports; the value names its `ActivityStamp` field.

    A `StrEnum`, so a category equals its field name (``ActivityCategory.WATCHED ==
    "watched_at"``).
    """

    WATCHED = "watched_at"
    """Watch history (views)."""
    RATED = "rated_at"
    """Ratings."""
    WATCHLISTED = "watchlisted_at"
    """The watchlist (bookmarks)."""
    PAUSED = "paused_at"
    """Playback in progress."""


@attrs.frozen
class ActivityStamp:
    """The cheap change detector: when each category of a user's activity last moved.

    ``None`` means "never". Comparing two stamps tells a sync which categories to fetch.
    """

    watched_at: datetime | None = attrs.field(default=None, validator=optional_aware)
    rated_at: datetime | None = attrs.field(default=None, validator=optional_aware)
    watchlisted_at: datetime | None = attrs.field(default=None, validator=optional_aware)
    paused_at: datetime | None = attrs.field(default=None, validator=optional_aware)

    def at(self, category: ActivityCategory) -> datetime | None:
        """When ``category`` last moved (``None``: never)."""
        moved: datetime | None = getattr(self, category.value)
        return moved

    def changed_since(self, previous: ActivityStamp | None) -> frozenset[ActivityCategory]:
        """The categories that moved since ``previous`` (all of them if ``None``)."""
        if previous is None:
            return frozenset(ActivityCategory)
        return frozenset(c for c in ActivityCategory if self.at(c) != previous.at(c))

    @property
    def latest(self) -> datetime | None:
        """The newest of the category stamps: when any activity last moved."""
        stamps = [s for s in attrs.astuple(self) if s is not None]
        return max(stamps, default=None)
