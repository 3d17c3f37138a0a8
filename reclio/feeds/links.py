"""Link factories: the building blocks of fallback chains.

Every link reads a `FeedContext` (in-memory user state) and either serves the row or
passes with a reason. Nothing here does I/O, so a whole layout builds in microseconds.
"""

from __future__ import annotations

from reclio.domain import (
    ContentType,
    ManagedListKind,
    MediaType,
    TmdbQuerySource,
    TraktListSource,
    genre_name,
)
from reclio.feeds import queries
from reclio.feeds._chain import FeedContext, Link, Pass, Serve, Terminal

__all__ = [
    "DEFAULT_MIN_ITEMS",
    "because_watched_id",
    "because_watched_list",
    "default_genre_discover",
    "hidden_gems",
    "managed_list",
    "popular",
    "static",
    "tmdb_recommendations",
    "top_genre_discover",
    "top_genres_discover",
    "trending",
    "trending_all",
]

DEFAULT_MIN_ITEMS = 5
"""A managed list serves only when it holds at least this many items."""

# Genres to title a top-genre row with when the user has no taste yet, most broadly liked first.
_FALLBACK_GENRES: dict[MediaType, tuple[int, ...]] = {
    MediaType.MOVIE: (18, 35, 28, 53, 12, 10749, 878, 80, 14, 9648, 16, 27, 10751, 99),
    MediaType.TV: (18, 35, 80, 10765, 10759, 9648, 16, 99, 10751, 10764),
}


def _list_check(ctx: FeedContext, kind: ManagedListKind, min_items: int) -> Serve | Pass:
    if ctx.state is None:
        return Pass("no user state")
    record = ctx.state.managed_list(kind)
    if record is None:
        return Pass(f"no {kind.list_name!r} list")
    if not record.synced_ok:
        return Pass("the last sync that wrote the list failed")
    if record.item_count < min_items:
        return Pass(f"the list holds {record.item_count} items, fewer than {min_items}")
    return Serve(TraktListSource(record.list_id))


def managed_list(kind: ManagedListKind, *, min_items: int = DEFAULT_MIN_ITEMS) -> Link:
    """Serve from a managed list that exists, holds ``min_items`` and was written by a good sync."""
    return Link(
        name=f"managed_list:{kind.name.lower()}",
        describe=f"managed list '{kind.list_name}' (at least {min_items} "
        f"item{'' if min_items == 1 else 's'}, last sync ok)",
        fn=lambda ctx: _list_check(ctx, kind, min_items),
    )


def because_watched_id(media_type: MediaType, tmdb_id: int | None = None) -> str:
    """The Because You Watched feed id; it embeds the anchor so a new anchor is a new feed."""
    noun = "movie" if media_type is MediaType.MOVIE else "show"
    if tmdb_id is None:
        return f"because_watched_{noun}"
    return f"because_watched_{noun}_tmdb_{tmdb_id}"


def because_watched_list(media_type: MediaType, *, min_items: int = DEFAULT_MIN_ITEMS) -> Link:
    """Serve the Because You Watched managed list, if it was computed for the current anchor."""
    kind = ManagedListKind.because_watched(media_type)

    def serve(ctx: FeedContext) -> Serve | Pass:
        anchor = ctx.anchors.get(media_type)
        if anchor is None:
            return Pass("no anchor")
        checked = _list_check(ctx, kind, min_items)
        if isinstance(checked, Pass):
            return checked
        record = ctx.state.managed_list(kind) if ctx.state else None
        listed_for = record.anchor if record else None
        if listed_for != anchor.ref:
            return Pass(f"the list was computed for {listed_for or 'no title'}, not {anchor.ref}")
        return Serve(
            checked.source,
            title=f"Because You Watched {anchor.title}",
            feed_id=because_watched_id(media_type, anchor.ref.tmdb_id),
        )

    return Link(
        name=f"managed_list:{kind.name.lower()}",
        describe=f"managed list '{kind.list_name}' computed for the current anchor",
        fn=serve,
    )


def tmdb_recommendations(media_type: MediaType) -> Link:
    """Serve TMDB's own recommendations for the anchor title."""

    def serve(ctx: FeedContext) -> Serve | Pass:
        anchor = ctx.anchors.get(media_type)
        if anchor is None:
            return Pass("no anchor")
        return Serve(
            TmdbQuerySource(f"/{media_type.value}/{anchor.ref.tmdb_id}/recommendations"),
            title=f"Because You Watched {anchor.title}",
            feed_id=because_watched_id(media_type, anchor.ref.tmdb_id),
        )

    return Link(
        name="tmdb_recommendations",
        describe=f"`/{media_type.value}/{{id}}/recommendations` of the anchor",
        fn=serve,
    )


def top_genres_discover(media_type: MediaType, *, k: int = 3) -> Link:
    """Serve a discover query of the user's top ``k`` genres, OR-joined, plus preferences."""

    def serve(ctx: FeedContext) -> Serve | Pass:
        top = ctx.top_genres(media_type, k)
        if not top:
            return Pass("no taste profile for this media type")
        return Serve(queries.discover(media_type, ctx.preferences, today=ctx.today, genres=top))

    return Link(
        name="top_genres_discover",
        describe=f"`/discover/{media_type.value}` with the user's top {k} genres OR-joined",
        fn=serve,
    )


def _genre_row(ctx: FeedContext, media_type: MediaType, genre_id: int, votes: int) -> Serve:
    name = genre_name(media_type, genre_id) or "Top Picks"
    return Serve(
        queries.discover(
            media_type,
            ctx.preferences,
            today=ctx.today,
            genres=(genre_id,),
            sort_by="vote_average.desc",
            extra={"vote_count.gte": votes},
        ),
        title=f"{name} {media_type.noun} You'll Love",
    )


def top_genre_discover(media_type: MediaType, *, min_votes: int) -> Link:
    """Serve the best-rated titles of the user's single top genre."""

    def serve(ctx: FeedContext) -> Serve | Pass:
        top = ctx.top_genres(media_type, 1)
        if not top:
            return Pass("no taste profile for this media type")
        return _genre_row(ctx, media_type, top[0], min_votes)

    return Link(
        name="top_genre_discover",
        describe=f"`/discover/{media_type.value}` of the top genre, vote_count >= {min_votes}",
        fn=serve,
    )


def default_genre_discover(media_type: MediaType, *, min_votes: int) -> Terminal:
    """Terminal: the best-rated titles of a broadly liked genre the user did not exclude."""
    noun = media_type.noun

    def serve(ctx: FeedContext) -> Serve:
        excluded = ctx.preferences.excluded_genres(media_type)
        allowed = [g for g in _FALLBACK_GENRES[media_type] if g not in excluded]
        if allowed:
            return _genre_row(ctx, media_type, allowed[0], min_votes)
        query = queries.discover(
            media_type,
            ctx.preferences,
            today=ctx.today,
            sort_by="vote_average.desc",
            extra={"vote_count.gte": min_votes},
        )
        return Serve(query, title=f"Top Rated {noun}")

    return Terminal(
        name="default_genre_discover",
        describe=f"`/discover/{media_type.value}` of Drama (or the first genre not excluded)",
        fn=serve,
    )


def popular(
    media_type: MediaType, *, title: str | None = None, feed_id: str | None = None
) -> Terminal:
    """Terminal: popular titles (a discover query when preferences filter)."""
    return Terminal(
        name="popular",
        describe=f"`/{media_type.value}/popular`"
        + (f" as '{title}'" if title else "")
        + " (discover when preferences filter)",
        fn=lambda ctx: Serve(
            queries.popular(media_type, ctx.preferences, today=ctx.today),
            title=title,
            feed_id=feed_id,
        ),
    )


def trending(
    media_type: MediaType, window: str = "week", *, title: str | None = None
) -> Terminal:
    """Terminal: TMDB's trending titles (recent popular ones when preferences filter)."""
    return Terminal(
        name="trending",
        describe=f"`/trending/{media_type.value}/{window}`"
        + (f" as '{title}'" if title else "")
        + " (discover when preferences filter)",
        fn=lambda ctx: Serve(
            queries.trending(media_type, window, ctx.preferences, today=ctx.today), title=title
        ),
    )


def trending_all(window: str = "day", *, title: str | None = None) -> Terminal:
    """Terminal: ``/trending/all/{window}``, narrowed to one media type when preferences filter.

    See `queries.trending_all`: a row that mixes movies and shows serves only when the
    preferences filter neither.
    """

    def serve(ctx: FeedContext) -> Serve:
        source, media_type = queries.trending_all(window, ctx.preferences, today=ctx.today)
        content = None if media_type is None else ContentType(media_type.content_type)
        return Serve(source, title=title, content_type=content)

    return Terminal(
        name="trending",
        describe=f"`/trending/all/{window}`"
        + (f" as '{title}'" if title else "")
        + " (when preferences filter: the trending list of a media type they leave"
        " unfiltered, else movies via discover)",
        fn=serve,
    )


def static(path: str, parameters: str = "", *, title: str | None = None) -> Terminal:
    """Terminal: always the same TMDB query."""
    source = TmdbQuerySource(path, parameters)
    return Terminal(
        name="static",
        describe=f"`{path}`" + (f" as '{title}'" if title else ""),
        fn=lambda _ctx: Serve(source, title=title),
    )


def hidden_gems(*, min_average: float = 7.5) -> Terminal:
    """Terminal: acclaimed titles with few votes, of the media type the user watches more."""

    def serve(ctx: FeedContext) -> Serve:
        state = ctx.state
        shows_first = state is not None and state.shows_watched > state.movies_watched
        media_type = MediaType.TV if shows_first else MediaType.MOVIE
        low, high = queries.hidden_gems_band(media_type, ctx.preferences.discovery)
        query = queries.discover(
            media_type,
            ctx.preferences,
            today=ctx.today,
            sort_by="vote_average.desc",
            extra={
                "vote_average.gte": min_average,
                "vote_count.gte": low,
                "vote_count.lte": high,
            },
        )
        content = ContentType.SHOWS if shows_first else ContentType.MOVIES
        return Serve(query, content_type=content)

    return Terminal(
        name="hidden_gems",
        describe=f"`/discover/{{movie or tv}}` (whichever the user watches more), "
        f"vote_average >= {min_average}, a vote-count band scaled by discovery",
        fn=serve,
    )
