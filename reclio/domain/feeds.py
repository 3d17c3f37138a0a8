"""ChillLink feed values: what ``/feeds`` answers, and how each row came to be."""

from __future__ import annotations

import enum
from collections.abc import Iterable

import attrs

from reclio.domain._converters import valid_text
from reclio.domain._validators import positive_list_id


class ContentType(enum.Enum):
    """ChillLink ``content_type``."""

    MOVIES = "movies"
    SHOWS = "shows"
    ALL = "all"


@attrs.frozen
class TraktListSource:
    """A row served from a Trakt list: ChillLink ``trakt_list`` with ``{"id": list_id}``.

    Attributes:
        list_id: Trakt's numeric list id, 1 or more.
    """

    list_id: int = attrs.field(validator=positive_list_id)


@attrs.frozen
class TmdbQuerySource:
    """A row served from a TMDB query: ChillLink ``tmdb_query``.

    Attributes:
        path: TMDB v3 path, e.g. ``/discover/movie``.
        parameters: Query string without the leading ``?``; may be empty.
    """

    path: str = attrs.field(converter=valid_text)
    parameters: str = attrs.field(default="", converter=valid_text)


FeedSource = TraktListSource | TmdbQuerySource


class Outcome(enum.Enum):
    """What happened when the chain runner tried one link."""

    SERVED = "served"
    PASSED = "passed"
    ERROR = "error"


@attrs.frozen
class Attempt:
    """One link tried for one feed: its name, what happened, and why."""

    link: str = attrs.field(converter=valid_text)
    outcome: Outcome
    detail: str = attrs.field(default="", converter=valid_text)


@attrs.frozen
class Feed:
    """One ChillLink row.

    Attributes:
        id: Stable id; the app keys its rows by it.
        title: What the row is called.
        source: Where the app fetches the row's titles.
        content_type: Movies, shows or both.
        provenance: Each link tried, in order (logs and debugging; not in the JSON).
    """

    id: str = attrs.field(converter=valid_text)
    title: str = attrs.field(converter=valid_text)
    source: FeedSource
    content_type: ContentType
    provenance: tuple[Attempt, ...] = attrs.field(default=(), eq=False)


def _feed_tuple(feeds: Iterable[Feed]) -> tuple[Feed, ...]:
    return tuple(feeds)


@attrs.frozen
class FeedsResponse:
    """The body of ``/feeds``: rows in display order."""

    feeds: tuple[Feed, ...] = attrs.field(converter=_feed_tuple)
