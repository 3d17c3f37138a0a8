"""ChillLink feed values: what ``/feeds`` answers, and how each row came to be."""

from __future__ import annotations

import enum
from collections.abc import Iterable

import attrs

from reclio.domain._converters import valid_text, valid_texts
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
    """What happened when the chain runner tried one link (or what it noted first)."""

    SERVED = "served"
    PASSED = "passed"
    ERROR = "error"
    NOTED = "noted"
    """Not a link: the request was degraded before any link ran (a store error, an ignored
    ``last_watched`` hint). Such attempts open the provenance, named ``context``."""


@attrs.frozen
class Attempt:
    """One link tried for one feed: its name, what happened, and why.

    Attributes:
        link: The link's name (``context`` for a note about the whole request).
        outcome: Served, passed, error, or noted.
        detail: Why it passed, the error, or the note; empty when it served.
    """

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
        provenance: What degraded the request (``noted``), then each link tried, in order
            (logs and debugging; not in the JSON).
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
    """The body of ``/feeds``: rows in display order, and what degraded the request.

    Attributes:
        feeds: The rows, in display order.
        notes: Why the request was served with less than the user's full state, once per
            response: the store failed, a ``last_watched`` hint was ignored. Every feed's
            provenance opens with the same notes. Like provenance, they are for logs and
            debugging, not part of the ChillLink body nor of equality. An unknown user is
            not a note (absence is data): the links say "no user state".
    """

    feeds: tuple[Feed, ...] = attrs.field(converter=_feed_tuple)
    notes: tuple[str, ...] = attrs.field(default=(), converter=valid_texts, eq=False)
