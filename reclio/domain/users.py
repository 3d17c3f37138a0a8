"""A user's state: taste, anchors, preferences, managed lists, sync cursor and cadence."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from datetime import datetime

import attrs

from reclio.domain._converters import valid_text
from reclio.domain._validators import named, optional_aware
from reclio.domain.ids import ItemRef, MediaType
from reclio.domain.interactions import ActivityStamp
from reclio.domain.lists import ManagedList, ManagedListKind

_slider = attrs.validators.optional(
    [attrs.validators.instance_of(int), attrs.validators.ge(0), attrs.validators.le(100)]
)


def _genre_ids(values: Iterable[int]) -> frozenset[int]:
    return frozenset(values)


@attrs.frozen
class Preferences:
    """What a user asked for; shapes every TMDB query reclio emits.

    Sliders run 0..100. ``None`` means unset; ``0`` is a real value (the far end of the
    slider), never "unset".

    Attributes:
        excluded_movie_genres: TMDB movie genre ids never to request.
        excluded_show_genres: TMDB TV genre ids never to request.
        family_safe: No adult titles; movies capped at US PG-13.
        era: 0 = older titles (up to 2005), 100 = recent (last five years).
        runtime: 0 = short (movies up to 100 min, episodes up to 30), 100 = long (movies
            130 min and more, episodes 50 and more).
        discovery: 0 = well-known titles, 100 = obscure ones (Hidden Gems vote band).
    """

    excluded_movie_genres: frozenset[int] = attrs.field(default=frozenset(), converter=_genre_ids)
    excluded_show_genres: frozenset[int] = attrs.field(default=frozenset(), converter=_genre_ids)
    family_safe: bool = False
    era: int | None = attrs.field(default=None, validator=_slider)
    runtime: int | None = attrs.field(default=None, validator=_slider)
    discovery: int | None = attrs.field(default=None, validator=_slider)

    def excluded_genres(self, media_type: MediaType) -> frozenset[int]:
        """Excluded genre ids for one media type."""
        if media_type is MediaType.MOVIE:
            return self.excluded_movie_genres
        return self.excluded_show_genres


@attrs.frozen
class GenreScore:
    """How much a user likes one TMDB genre, relative to their other genres (0..1)."""

    genre_id: int
    score: float


def _managed_lists(records: Iterable[ManagedList]) -> tuple[ManagedList, ...]:
    return tuple(records)


def _ranked(scores: Iterable[GenreScore]) -> tuple[GenreScore, ...]:
    best: dict[int, GenreScore] = {}
    for score in scores:
        kept = best.get(score.genre_id)
        if kept is None or score.score > kept.score:
            best[score.genre_id] = score
    return tuple(sorted(best.values(), key=lambda s: (-s.score, s.genre_id)))


@attrs.frozen
class TasteProfile:
    """Genre scores per media type, best first (ties by genre id, so order is stable).

    Each genre appears at most once per media type: a genre scored twice keeps its best
    score, so a query built from the profile never requests a genre twice.
    """

    movie_genres: tuple[GenreScore, ...] = attrs.field(default=(), converter=_ranked)
    show_genres: tuple[GenreScore, ...] = attrs.field(default=(), converter=_ranked)

    def genres(self, media_type: MediaType) -> tuple[GenreScore, ...]:
        """Genre scores for one media type, best first."""
        return self.movie_genres if media_type is MediaType.MOVIE else self.show_genres


@attrs.frozen
class Anchor:
    """A title a feed is about, with the name people read ("Because You Watched {title}").

    Attributes:
        ref: The title.
        title: Its name; never blank, made valid Unicode (see `valid_text`).
    """

    ref: ItemRef
    title: str = attrs.field(converter=valid_text, validator=named)


_AnchorCheck = Callable[[object, "attrs.Attribute[Anchor | None]", "Anchor | None"], None]


def _anchor_of(media_type: MediaType) -> _AnchorCheck:
    """A validator: the anchor in this slot, if any, is a title of ``media_type``."""
    noun = "a movie" if media_type is MediaType.MOVIE else "a show"
    factory = "movie" if media_type is MediaType.MOVIE else "tv"

    def check(
        inst: object, attribute: attrs.Attribute[Anchor | None], value: Anchor | None
    ) -> None:
        if value is not None and value.ref.media_type is not media_type:
            msg = (
                f"{type(inst).__name__}.{attribute.name} must anchor {noun}"
                f" (an Anchor of ItemRef.{factory}(...)), got {value.ref}"
            )
            raise ValueError(msg)

    return check


class CadenceTier(enum.Enum):
    """How often a user is synced, from how much they use the app and Trakt."""

    HOT = "hot"
    DEFAULT = "default"
    COLD = "cold"
    DORMANT = "dormant"


@attrs.frozen
class UserState:
    """Everything feeds need about one user, and what user sync keeps between runs.

    Stability: caller-stable; fields may be added with defaults.

    Attributes:
        user_id: reclio's id for the user (made valid Unicode, as `FeedBuilder.build` does
            with the id it is asked for, so the two always match).
        taste: Genre scores with recency decay.
        last_watched_movie: The newest movie in the history (anchor of Because You Watched).
        last_watched_show: The newest show in the history.
        highest_rated_movie: The user's best-rated movie (cold-start seed).
        highest_rated_show: The user's best-rated show.
        movies_watched: Distinct movies in the history.
        shows_watched: Distinct shows in the history.
        preferences: What the user asked for.
        lists: Records of the managed lists, at most one per kind.
        history_cursor: Newest interaction timestamp confirmed by the recommender.
        activity: The last activity stamp seen from the interaction source.
        activity_moved_at: When the activity stamp last changed (dormancy is measured from it).
        cadence: The sync tier.
        next_sync_at: When the user is next due.
        last_sync_at: When a sync last finished.
        picks_computed_at: When user sync last computed every list and the result was
            recorded (written, or rightly left alone): lists are fresh from then on, even
            when nothing was written.
        reconnect_needed: Why the user must connect their Trakt account again (its refresh
            token was refused, or it stayed refused after one refresh), or ``None``. While
            it is set, user sync makes no call for the user and the last good lists keep
            serving; storing a new token clears it.
    """

    user_id: str = attrs.field(converter=valid_text)
    taste: TasteProfile = TasteProfile()
    last_watched_movie: Anchor | None = attrs.field(
        default=None, validator=_anchor_of(MediaType.MOVIE)
    )
    last_watched_show: Anchor | None = attrs.field(default=None, validator=_anchor_of(MediaType.TV))
    highest_rated_movie: Anchor | None = attrs.field(
        default=None, validator=_anchor_of(MediaType.MOVIE)
    )
    highest_rated_show: Anchor | None = attrs.field(
        default=None, validator=_anchor_of(MediaType.TV)
    )
    movies_watched: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    shows_watched: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    preferences: Preferences = Preferences()
    lists: tuple[ManagedList, ...] = attrs.field(default=(), converter=_managed_lists)
    history_cursor: datetime | None = attrs.field(default=None, validator=optional_aware)
    activity: ActivityStamp | None = None
    activity_moved_at: datetime | None = attrs.field(default=None, validator=optional_aware)
    cadence: CadenceTier = CadenceTier.DEFAULT
    next_sync_at: datetime | None = attrs.field(default=None, validator=optional_aware)
    last_sync_at: datetime | None = attrs.field(default=None, validator=optional_aware)
    picks_computed_at: datetime | None = attrs.field(default=None, validator=optional_aware)
    reconnect_needed: str | None = attrs.field(
        default=None, converter=attrs.converters.optional(valid_text)
    )

    @lists.validator
    def _one_list_per_kind(self, _attribute: object, value: tuple[ManagedList, ...]) -> None:
        kinds = [record.kind for record in value]
        if len(kinds) != len(set(kinds)):
            msg = f"at most one managed list per kind, got {[k.name for k in kinds]}"
            raise ValueError(msg)

    def managed_list(self, kind: ManagedListKind) -> ManagedList | None:
        """The record of one managed list, if the user has it."""
        return next((record for record in self.lists if record.kind is kind), None)

    def last_watched(self, media_type: MediaType) -> Anchor | None:
        """The newest watched title of one media type."""
        if media_type is MediaType.MOVIE:
            return self.last_watched_movie
        return self.last_watched_show

    def highest_rated(self, media_type: MediaType) -> Anchor | None:
        """The best-rated title of one media type."""
        if media_type is MediaType.MOVIE:
            return self.highest_rated_movie
        return self.highest_rated_show

    def with_list(self, record: ManagedList) -> UserState:
        """A copy with ``record`` replacing any record of the same kind."""
        others = tuple(r for r in self.lists if r.kind is not record.kind)
        return attrs.evolve(self, lists=[*others, record])
