"""TMDB's JSON shapes and the functions that turn them into reclio's domain values.

The wire types hold only the fields reclio reads. Every one of them tolerates what TMDB
really sends: unknown fields are ignored (upstream adds fields) and ``null`` is accepted
wherever TMDB has been seen to send it (dates, overviews, runtimes, ``adult`` in
``/changes``). What cannot be a title (a missing id, a number that is text, a date that is
no date, a vote average outside 0..10) raises `DecodeError` whose ``errors`` name the field,
e.g. ``"invalid value for type, expected int @ $.id"``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar

import attrs
import cattrs

from reclio.adapters._json import decode as decode_json
from reclio.adapters._json import strict_converter
from reclio.domain import Genre, ItemRef, MediaType, Title
from reclio.errors import DecodeError

__all__ = [
    "WireChanges",
    "WireGenres",
    "WireMovie",
    "WirePage",
    "WireShow",
    "decode",
    "make_converter",
    "to_refs",
    "to_title",
]

_SERVICE = "tmdb"
_CAST_SIZE = 5
_DATE = re.compile(r"(\d{4})-\d{2}-\d{2}")
_MAX_VOTE = 10.0

_T = TypeVar("_T")


@attrs.frozen
class WireGenre:
    id: int
    name: str


@attrs.frozen
class WireCast:
    name: str
    order: int | None = None


@attrs.frozen
class WireCrew:
    name: str
    job: str | None = None


@attrs.frozen
class WireCredits:
    cast: list[WireCast] | None = None
    crew: list[WireCrew] | None = None


@attrs.frozen
class WireCreator:
    name: str


@attrs.frozen
class WireMovie:
    """``GET /movie/{id}?append_to_response=credits``."""

    id: int
    title: str | None = None
    original_title: str | None = None
    overview: str | None = None
    genres: list[WireGenre] | None = None
    release_date: str | None = None
    vote_average: float | None = None
    vote_count: int | None = None
    popularity: float | None = None
    runtime: int | None = None
    credits: WireCredits | None = None


@attrs.frozen
class WireShow:
    """``GET /tv/{id}?append_to_response=credits``."""

    id: int
    name: str | None = None
    original_name: str | None = None
    overview: str | None = None
    genres: list[WireGenre] | None = None
    first_air_date: str | None = None
    vote_average: float | None = None
    vote_count: int | None = None
    popularity: float | None = None
    episode_run_time: list[int] | None = None
    created_by: list[WireCreator] | None = None
    credits: WireCredits | None = None


@attrs.frozen
class WireListItem:
    id: int
    media_type: str | None = None


@attrs.frozen
class WirePage:
    """A ranked list page (popular, top rated, trending, now playing, on the air)."""

    results: list[WireListItem]
    page: int | None = None
    total_pages: int | None = None


@attrs.frozen
class WireChange:
    id: int
    adult: bool | None = None


@attrs.frozen
class WireChanges:
    """``GET /{movie,tv}/changes``: 100 ids per page; ``adult`` may be null."""

    results: list[WireChange]
    page: int | None = None
    total_pages: int | None = None


@attrs.frozen
class WireGenres:
    """``GET /genre/{movie,tv}/list``."""

    genres: list[WireGenre]


def make_converter() -> cattrs.Converter:
    """The TMDB converter: JSON preconf, unknown keys ignored, ``None`` only where typed."""
    return strict_converter()


def decode(
    converter: cattrs.Converter, body: object, type_: type[_T], *, what: str, operation: str
) -> _T:
    """Structure ``body`` as ``type_``; ``what`` names it in the message (``movie_603``).

    Raises:
        DecodeError: the body does not fit; ``errors`` name each field that does not.
    """
    return decode_json(converter, body, type_, service=_SERVICE, what=what, operation=operation)


def to_title(wire: WireMovie | WireShow, ref: ItemRef, *, operation: str = "get_title") -> Title:
    """The domain `Title` of a details body asked for as ``ref`` (DESIGN section 3).

    ``cast`` is the top five of ``credits.cast`` by ``order`` (each name once); ``director``
    the first crew member whose job is "Director", for shows else the first creator.

    Raises:
        DecodeError: the body is not the title asked for, has no name, a date that is not
            ``YYYY-MM-DD``, or a vote average outside 0..10; ``errors`` name the field.
    """
    problems: list[str] = []
    if wire.id != ref.tmdb_id:
        problems.append(f"id: asked for {ref.tmdb_id}, got {wire.id} @ $.id")
    if isinstance(wire, WireMovie):
        name, name_field = wire.title or wire.original_title, "title"
        date, date_field = wire.release_date, "release_date"
        runtime = wire.runtime or None
    else:
        name, name_field = wire.name or wire.original_name, "name"
        date, date_field = wire.first_air_date, "first_air_date"
        runtime = next((m for m in wire.episode_run_time or () if m > 0), None)
    if not name:
        problems.append(f"{name_field}: missing or empty @ $.{name_field}")
    year = None
    if date:
        match = _DATE.fullmatch(date)
        if match is None:
            problems.append(f"{date_field}: {date!r:.40} is not YYYY-MM-DD @ $.{date_field}")
        else:
            year = int(match[1])
    vote_average = wire.vote_average or 0.0
    if not 0.0 <= vote_average <= _MAX_VOTE:
        problems.append(f"vote_average: {vote_average} is outside 0..10 @ $.vote_average")
    if problems:
        msg = f"{ref} does not decode: {'; '.join(problems)}"
        raise DecodeError(msg, service=_SERVICE, operation=operation, errors=problems)
    billing = wire.credits or WireCredits()
    return Title(
        ref=ref,
        title=name or "",
        overview=wire.overview or "",
        genres=[Genre(g.id, g.name) for g in wire.genres or ()],
        year=year,
        vote_average=vote_average,
        vote_count=wire.vote_count or 0,
        popularity=wire.popularity or 0.0,
        cast=_top_cast(billing.cast or []),
        director=_director(billing, wire.created_by if isinstance(wire, WireShow) else None),
        runtime=runtime,
    )


def to_refs(
    page: WirePage | WireChanges, media_type: MediaType, *, operation: str
) -> list[ItemRef]:
    """The page's refs of ``media_type``, in list order, each once.

    Trending mixes types (each item says which); ``/changes`` items flagged ``adult`` are
    left out, as the ranked lists leave them out.

    Raises:
        DecodeError: an id is not a TMDB id (below 1 or over ten digits).
    """
    refs: list[ItemRef] = []
    items: Sequence[WireListItem | WireChange] = page.results
    for n, item in enumerate(items):
        if isinstance(item, WireListItem) and item.media_type not in (None, media_type.value):
            continue
        if isinstance(item, WireChange) and item.adult:
            continue
        try:
            refs.append(ItemRef(media_type, item.id))
        except ValueError as exc:
            problem = f"results[{n}].id: {item.id} is not a TMDB id @ $.results[{n}].id"
            raise DecodeError(
                f"a list does not decode: {problem}",
                service=_SERVICE,
                operation=operation,
                errors=[problem],
            ) from exc
    return list(dict.fromkeys(refs))


def _top_cast(cast: list[WireCast]) -> tuple[str, ...]:
    billed = sorted(
        enumerate(cast), key=lambda pair: (pair[1].order is None, pair[1].order or 0, pair[0])
    )
    names = dict.fromkeys(member.name for _, member in billed if member.name)
    return tuple(names)[:_CAST_SIZE]


def _director(billing: WireCredits, creators: list[WireCreator] | None) -> str | None:
    director = next((c.name for c in billing.crew or () if c.job == "Director" and c.name), None)
    if director is None and creators:
        director = next((c.name for c in creators if c.name), None)
    return director
