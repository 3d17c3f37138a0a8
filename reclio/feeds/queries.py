"""TMDB queries for feeds, with the user's preferences applied to every one of them.

Rules that the original service got wrong and reclio does not:

* Genres are OR-joined with ``|`` (``with_genres=18|35``); a comma would mean AND. Each
  genre is requested once.
* An excluded genre is never requested, and always sent as ``without_genres``.
* A slider at 0 is a value (the far end), not "unset"; ``None`` is unset.
* TMDB has no popularity ceiling filter: obscurity is a ``vote_count`` band.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta

from reclio.domain import MediaType, Preferences, TmdbQuerySource

__all__ = [
    "discover",
    "hidden_gems_band",
    "popular",
    "preference_params",
    "query_string",
    "trending",
    "trending_all",
]

_LOW = 30
_HIGH = 70
_OLD_CUTOFF = "2005-12-31"
_RECENT_YEARS = 5


def query_string(params: Mapping[str, object]) -> str:
    """``a=1&b=2`` in the given order; ``|`` and ``,`` stay literal, as ChillLink expects."""
    return "&".join(f"{key}={value}" for key, value in params.items())


def _date_field(media_type: MediaType) -> str:
    return "primary_release_date" if media_type is MediaType.MOVIE else "first_air_date"


def preference_params(
    media_type: MediaType, prefs: Preferences, *, today: date
) -> dict[str, object]:
    """The discover parameters that express ``prefs``, in a stable order.

    Args:
        media_type: Which discover endpoint the parameters are for.
        prefs: The user's preferences.
        today: The request's date; the "recent" era is relative to it.
    """
    params: dict[str, object] = {}
    excluded = prefs.excluded_genres(media_type)
    if excluded:
        params["without_genres"] = ",".join(str(g) for g in sorted(excluded))
    if prefs.family_safe:
        params["include_adult"] = "false"
        if media_type is MediaType.MOVIE:
            params["certification_country"] = "US"
            params["certification.lte"] = "PG-13"
    if prefs.era is not None:
        if prefs.era <= _LOW:
            params[f"{_date_field(media_type)}.lte"] = _OLD_CUTOFF
        elif prefs.era >= _HIGH:
            params[f"{_date_field(media_type)}.gte"] = f"{today.year - _RECENT_YEARS}-01-01"
    if prefs.runtime is not None:
        short, long = (100, 130) if media_type is MediaType.MOVIE else (30, 50)
        if prefs.runtime <= _LOW:
            params["with_runtime.lte"] = short
        elif prefs.runtime >= _HIGH:
            params["with_runtime.gte"] = long
    return params


def discover(
    media_type: MediaType,
    prefs: Preferences,
    *,
    today: date,
    genres: Iterable[int] = (),
    sort_by: str = "popularity.desc",
    extra: Mapping[str, object] | None = None,
) -> TmdbQuerySource:
    """A ``/discover/{movie,tv}`` query: genres OR-joined, then ``extra``, then preferences.

    Each genre is requested once, in first-seen order, and genres the user excluded are
    dropped from ``genres`` (never requested). Where ``extra`` and the preferences set the
    same parameter, ``extra`` wins: callers only pass bounds that are at least as narrow
    (see `trending`).
    """
    excluded = prefs.excluded_genres(media_type)
    wanted = [g for g in dict.fromkeys(genres) if g not in excluded]
    params: dict[str, object] = {}
    if wanted:
        params["with_genres"] = "|".join(str(g) for g in wanted)
    params["sort_by"] = sort_by
    params.update(extra or {})
    for key, value in preference_params(media_type, prefs, today=today).items():
        params.setdefault(key, value)  # the caller's narrower bound (e.g. trending's) wins
    return TmdbQuerySource(f"/discover/{media_type.value}", query_string(params))


def popular(media_type: MediaType, prefs: Preferences, *, today: date) -> TmdbQuerySource:
    """Popular titles: ``/movie/popular`` (or ``/tv/popular``), or discover when preferences filter.

    ``/movie/popular`` takes no filters, so a user whose preferences restrict anything gets
    the equivalent discover query instead.
    """
    if preference_params(media_type, prefs, today=today):
        return discover(media_type, prefs, today=today)
    return TmdbQuerySource(f"/{media_type.value}/popular")


_TRENDING_RELEASES = timedelta(days=90)


def trending(
    media_type: MediaType, window: str, prefs: Preferences, *, today: date
) -> TmdbQuerySource:
    """Trending titles: ``/trending/{movie,tv}/{window}``, or discover when preferences filter.

    ``/trending`` takes no filters, so a user whose preferences restrict anything gets the
    most popular recent releases through discover, with the filters. "Recent" is the last
    90 days, or the era preference when that is narrower; a user who asked for older titles
    gets the most popular of those.
    """
    filters = preference_params(media_type, prefs, today=today)
    if not filters:
        return TmdbQuerySource(f"/trending/{media_type.value}/{window}")
    field = _date_field(media_type)
    extra: dict[str, object] = {}
    if f"{field}.lte" not in filters:
        recent = (today - _TRENDING_RELEASES).isoformat()
        # ISO dates compare as strings; the later start is the narrower window.
        extra[f"{field}.gte"] = max(recent, str(filters.get(f"{field}.gte", "")))
    return discover(media_type, prefs, today=today, extra=extra)


def trending_all(
    window: str, prefs: Preferences, *, today: date
) -> tuple[TmdbQuerySource, MediaType | None]:
    """Trending titles of both media types, and which media type the query returns.

    ``/trending/all/{window}`` takes no filters and mixes movies and shows, so it serves
    only when the preferences filter neither (``None``: both media types). Otherwise the row
    narrows to one media type: TMDB's real trending list of a media type the preferences
    leave unfiltered (a show-only genre exclusion keeps ``/trending/movie/{window}``), else
    movies through `trending`'s filtered discover query (discover has no "all" endpoint).
    """
    filtered = {m for m in MediaType if preference_params(m, prefs, today=today)}
    if not filtered:
        return TmdbQuerySource(f"/trending/all/{window}"), None
    media_type = next((m for m in MediaType if m not in filtered), MediaType.MOVIE)
    return trending(media_type, window, prefs, today=today), media_type


# (vote_count.gte, vote_count.lte) at discovery 0 and at discovery 100; geometric in between.
_BANDS: Mapping[MediaType, tuple[tuple[int, int], tuple[int, int]]] = {
    MediaType.MOVIE: ((1000, 5000), (50, 300)),
    MediaType.TV: ((250, 1500), (20, 100)),
}
_DEFAULT_DISCOVERY = 50


def hidden_gems_band(media_type: MediaType, discovery: int | None) -> tuple[int, int]:
    """The vote-count band for Hidden Gems: more discovery, fewer votes.

    ``None`` (unset) is the middle of the slider; 0 and 100 are its ends.
    """
    level = (_DEFAULT_DISCOVERY if discovery is None else discovery) / 100
    (lo0, hi0), (lo1, hi1) = _BANDS[media_type]
    return round(lo0 * (lo1 / lo0) ** level), round(hi0 * (hi1 / hi0) ** level)
