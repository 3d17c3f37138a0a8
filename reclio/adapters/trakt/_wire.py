"""Trakt's JSON shapes and the functions that turn them into reclio's domain values.

The wire types hold only the fields reclio reads and ignore the rest (Trakt adds fields;
its 2026 contracts carry more than the older bodies in the samples). Titles are keyed by
their TMDB id in their own namespace (``movie_{tmdb}``, ``tv_{tmdb}``): an episode or a
season counts for its show. An entry whose title has no TMDB id cannot be named in
reclio; the mapping functions return ``None`` for it and callers count it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeVar

import attrs
import cattrs

from reclio.adapters._json import decode as decode_json
from reclio.adapters._json import strict_converter
from reclio.domain import (
    AccountLimits,
    ActivityStamp,
    ItemRef,
    ListHandle,
    MediaType,
    OAuthToken,
)
from reclio.errors import DecodeError

__all__ = [
    "FREE_LIMITS",
    "WireHistoryItem",
    "WireListItem",
    "WirePlayback",
    "WireRating",
    "WireTraktList",
    "WriteAnswer",
    "decode",
    "make_converter",
    "to_activity",
    "to_handle",
    "to_limits",
    "to_ref",
    "to_token",
    "to_write_answer",
    "when",
]

SERVICE: Final = "trakt"

FREE_LIMITS: Final = AccountLimits(max_lists=5, max_items_per_list=250)
"""A free account's limits since February 2026, for a settings body without ``limits``."""

_MAX_TMDB_ID: Final = 10**10

_T = TypeVar("_T")


@attrs.frozen
class WireIds:
    trakt: int | None = None
    slug: str | None = None
    tmdb: int | None = None


@attrs.frozen
class WireMedia:
    """A movie or a show: ``{title, year, ids}``."""

    ids: WireIds = WireIds()
    title: str | None = None


@attrs.frozen
class _Typed:
    """An entry that names a movie, or an episode / season / show of a show."""

    type: str | None = None
    movie: WireMedia | None = None
    show: WireMedia | None = None


@attrs.frozen
class WireHistoryItem(_Typed):
    """``GET /sync/history``: one play (``id`` is the history event's)."""

    watched_at: str = ""
    id: int | None = None


@attrs.frozen
class WireRating(_Typed):
    """``GET /sync/ratings/{movies,shows}``."""

    rated_at: str = ""
    rating: int = 0


@attrs.frozen
class WireListItem(_Typed):
    """``GET /sync/watchlist`` and ``GET /users/me/lists/{id}/items`` (``id``: the entry's)."""

    listed_at: str | None = None
    id: int | None = None


@attrs.frozen
class WirePlayback(_Typed):
    """``GET /sync/playback``."""

    progress: float = 0.0
    paused_at: str = ""
    id: int | None = None


@attrs.frozen
class WireListIds:
    trakt: int
    slug: str | None = None


@attrs.frozen
class WireTraktList:
    """One list of ``GET /users/me/lists`` (and the answer of creating one)."""

    name: str
    ids: WireListIds
    item_count: int | None = None
    updated_at: str | None = None
    type: str | None = None


@attrs.frozen
class WriteAnswer:
    """What a list write answered: the counts Trakt gives, and the list afterwards.

    Attributes:
        changed: Items added, deleted or reordered (``added`` / ``deleted`` / ``updated``).
        existing: Items already on the list (an add).
        not_found: Titles Trakt does not know, or does not hold on the list.
        item_count: What the list holds afterwards, when Trakt said.
        updated_at: The list's stamp afterwards, when Trakt said.
    """

    changed: int = 0
    existing: int = 0
    not_found: int = 0
    item_count: int | None = None
    updated_at: datetime | None = None


def make_converter() -> cattrs.Converter:
    """The Trakt converter (the shared strict JSON converter)."""
    return strict_converter()


def decode(
    converter: cattrs.Converter, body: object, type_: type[_T], *, what: str, operation: str
) -> _T:
    """Structure ``body`` as ``type_`` (an attrs class or a ``list[...]`` of one).

    Raises:
        DecodeError: the body does not fit; ``errors`` name each field that does not.
    """
    return decode_json(converter, body, type_, service=SERVICE, what=what, operation=operation)


def when(value: object, *, field: str, operation: str) -> datetime:
    """An aware UTC datetime from Trakt's ISO-8601 (``2014-09-01T09:10:11.000Z``).

    Raises:
        DecodeError: the value is not such a timestamp; ``errors`` name the field.
    """
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    problem = f"{field}: {value!r:.40} is not an ISO-8601 timestamp"
    raise DecodeError(
        f"a {field} does not decode: {problem}",
        service=SERVICE,
        operation=operation,
        errors=[problem],
    )


def _maybe_when(value: object, *, field: str, operation: str) -> datetime | None:
    return None if value is None else when(value, field=field, operation=operation)


def _tmdb(ids: WireIds | None) -> int | None:
    if ids is None or ids.tmdb is None or not 1 <= ids.tmdb < _MAX_TMDB_ID:
        return None
    return ids.tmdb


def to_ref(entry: _Typed) -> ItemRef | None:
    """The title an entry names, by TMDB id; an episode or season names its show.

    Returns ``None`` when the entry names no movie or show, or its title has no TMDB id.
    """
    if entry.type in (None, "movie") and entry.movie is not None:
        tmdb = _tmdb(entry.movie.ids)
        return None if tmdb is None else ItemRef(MediaType.MOVIE, tmdb)
    if entry.type in (None, "show", "season", "episode") and entry.show is not None:
        tmdb = _tmdb(entry.show.ids)
        return None if tmdb is None else ItemRef(MediaType.TV, tmdb)
    return None


def _stamp_of(body: Mapping[str, Any], section: str, key: str, operation: str) -> datetime | None:
    part = body.get(section)
    if part is None:
        return None
    if not isinstance(part, dict):
        problem = f"{section}: expected an object, got {type(part).__name__} @ $.{section}"
        raise DecodeError(
            f"last_activities does not decode: {problem}",
            service=SERVICE,
            operation=operation,
            errors=[problem],
        )
    return _maybe_when(part.get(key), field=f"{section}.{key}", operation=operation)


def _newest(*stamps: datetime | None) -> datetime | None:
    return max((s for s in stamps if s is not None), default=None)


def to_activity(body: object, *, operation: str = "activity") -> ActivityStamp:
    """The `ActivityStamp` of ``GET /sync/last_activities``.

    Each category is the newest of the sections that feed it: views from movies and
    episodes; ratings of movies and shows (episode and season ratings are not read);
    the watchlist from every watchlisted stamp and ``watchlist.updated_at``; playback
    from movies and episodes. Sections Trakt leaves out (older bodies) count as never.

    Raises:
        DecodeError: the body is not an object, or a stamp is not a timestamp.
    """
    if not isinstance(body, dict):
        problem = f"expected a JSON object, got {type(body).__name__} @ $"
        raise DecodeError(
            f"last_activities does not decode: {problem}",
            service=SERVICE,
            operation=operation,
            errors=[problem],
        )

    def stamp(section: str, key: str) -> datetime | None:
        return _stamp_of(body, section, key, operation)

    return ActivityStamp(
        watched_at=_newest(stamp("movies", "watched_at"), stamp("episodes", "watched_at")),
        rated_at=_newest(stamp("movies", "rated_at"), stamp("shows", "rated_at")),
        watchlisted_at=_newest(
            stamp("movies", "watchlisted_at"),
            stamp("shows", "watchlisted_at"),
            stamp("seasons", "watchlisted_at"),
            stamp("episodes", "watchlisted_at"),
            stamp("watchlist", "updated_at"),
        ),
        paused_at=_newest(stamp("movies", "paused_at"), stamp("episodes", "paused_at")),
    )


def _whole(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def to_limits(body: object) -> AccountLimits:
    """The list limits of ``GET /users/settings`` (`FREE_LIMITS` where it names none)."""
    limits = body.get("limits") if isinstance(body, dict) else None
    lists = limits.get("list") if isinstance(limits, dict) else None
    if not isinstance(lists, dict):
        return FREE_LIMITS
    count = _whole(lists.get("count"))
    items = _whole(lists.get("item_count"))
    return AccountLimits(
        max_lists=FREE_LIMITS.max_lists if count is None else count,
        max_items_per_list=FREE_LIMITS.max_items_per_list if items is None else items,
    )


def to_handle(wire: WireTraktList, *, operation: str) -> ListHandle:
    """The `ListHandle` of one list object.

    Raises:
        DecodeError: the id is not a list id, or the stamp not a timestamp.
    """
    try:
        return ListHandle(
            wire.ids.trakt,
            wire.name,
            wire.item_count or 0,
            _maybe_when(wire.updated_at, field="updated_at", operation=operation),
        )
    except ValueError as exc:
        problem = f"ids.trakt: {wire.ids.trakt} is not a list id"
        raise DecodeError(
            f"a list does not decode: {problem}",
            service=SERVICE,
            operation=operation,
            errors=[problem],
        ) from exc


def _count(section: object) -> int:
    """The items a count section (``{"movies": 2, "shows": 1}``) or an echo list sums to."""
    if isinstance(section, dict):
        total = 0
        for value in section.values():
            if isinstance(value, list):
                total += len(value)
            elif (whole := _whole(value)) is not None:
                total += whole
        return total
    return len(section) if isinstance(section, list) else 0


def to_write_answer(body: object, *, operation: str) -> WriteAnswer:
    """The counts and list state of a list write's answer (add, remove or reorder).

    Raises:
        DecodeError: the list's stamp is not a timestamp.
    """
    if not isinstance(body, dict):
        return WriteAnswer()
    changed = sum(_count(body.get(key)) for key in ("added", "deleted"))
    updated = _whole(body.get("updated"))
    after = body.get("list")
    after = after if isinstance(after, dict) else {}
    return WriteAnswer(
        changed=changed + (updated or 0),
        existing=_count(body.get("existing")),
        not_found=_count(body.get("not_found")),
        item_count=_whole(after.get("item_count")),
        updated_at=_maybe_when(
            after.get("updated_at"), field="list.updated_at", operation=operation
        ),
    )


def to_token(body: object, *, operation: str) -> OAuthToken:
    """The `OAuthToken` of an OAuth token answer (code exchange, device flow, refresh).

    The expiry is ``created_at + expires_in`` as Trakt says it (24 hours in 2025, 7 days
    in the 2026 docs); nothing is assumed.

    Raises:
        DecodeError: a field is missing or of the wrong type (the message holds no token).
    """
    problems: list[str] = []
    data = body if isinstance(body, dict) else {}
    access, refresh = data.get("access_token"), data.get("refresh_token")
    created, lifetime = data.get("created_at"), data.get("expires_in")
    if not isinstance(access, str) or not access:
        problems.append("access_token: missing")
    if not isinstance(refresh, str) or not refresh:
        problems.append("refresh_token: missing")
    if not (isinstance(created, int | float) and not isinstance(created, bool)):
        problems.append("created_at: expected unix seconds")
    if not (isinstance(lifetime, int | float) and not isinstance(lifetime, bool)) or lifetime <= 0:
        problems.append("expires_in: expected positive seconds")
    if problems:
        raise DecodeError(
            f"the token answer does not decode: {'; '.join(problems)}",
            service=SERVICE,
            operation=operation,
            errors=problems,
        )
    scope = data.get("scope")
    return OAuthToken(
        access_token=str(access),
        refresh_token=str(refresh),
        created_at=datetime.fromtimestamp(float(created), UTC),  # type: ignore[arg-type]
        expires_in=timedelta(seconds=float(lifetime)),  # type: ignore[arg-type]
        scope=scope if isinstance(scope, str) and scope else "public",
    )
