"""The default layout: always exactly ten feeds, in DESIGN's order, as data."""

from __future__ import annotations

from reclio.domain import ContentType, ManagedListKind, MediaType
from reclio.feeds import links
from reclio.feeds._chain import FeedSpec

__all__ = ["DEFAULT_LAYOUT", "default_layout"]


def _recommended(media_type: MediaType, min_items: int) -> FeedSpec:
    return FeedSpec(
        id=f"recommended_{media_type.noun.lower()}",
        title="Recommended For You",
        content_type=ContentType(media_type.content_type),
        chain=(
            links.managed_list(ManagedListKind.recommended(media_type), min_items=min_items),
            links.top_genres_discover(media_type),
        ),
        terminal=links.popular(media_type),
    )


def _because_watched(media_type: MediaType, min_items: int) -> FeedSpec:
    noun = media_type.noun
    return FeedSpec(
        id=links.because_watched_id(media_type),
        title=f"More {noun} To Discover",
        content_type=ContentType(media_type.content_type),
        chain=(
            links.because_watched_list(media_type, min_items=min_items),
            links.tmdb_recommendations(media_type),
        ),
        terminal=links.popular(media_type, title=f"More {noun} To Discover"),
        id_template=links.because_watched_id(media_type, 0).replace("_0", "_{id}"),
        title_template="Because You Watched {title}",
    )


def _top_genre(media_type: MediaType, min_votes: int) -> FeedSpec:
    return FeedSpec(
        id=f"top_genre_{media_type.noun.lower()}",
        title=f"{{Genre}} {media_type.noun} You'll Love",
        content_type=ContentType(media_type.content_type),
        chain=(links.top_genre_discover(media_type, min_votes=min_votes),),
        terminal=links.default_genre_discover(media_type, min_votes=min_votes),
    )


def default_layout(*, min_items: int = links.DEFAULT_MIN_ITEMS) -> tuple[FeedSpec, ...]:
    """The ten feeds of DESIGN section 4, in order.

    Args:
        min_items: A managed list serves only when it holds at least this many items.
    """
    return (
        FeedSpec(
            id="continue_watching",
            title="Continue Watching",
            content_type=ContentType.ALL,
            chain=(links.managed_list(ManagedListKind.CONTINUE_WATCHING, min_items=1),),
            terminal=links.trending_all("day", title="Trending Today"),
        ),
        _recommended(MediaType.MOVIE, min_items),
        _recommended(MediaType.TV, min_items),
        _because_watched(MediaType.MOVIE, min_items),
        _because_watched(MediaType.TV, min_items),
        FeedSpec(
            id="trending_movies",
            title="Trending Movies",
            content_type=ContentType.MOVIES,
            chain=(),
            terminal=links.trending(MediaType.MOVIE),
        ),
        FeedSpec(
            id="trending_shows",
            title="Trending Shows",
            content_type=ContentType.SHOWS,
            chain=(),
            terminal=links.trending(MediaType.TV),
        ),
        _top_genre(MediaType.MOVIE, 300),
        _top_genre(MediaType.TV, 100),
        FeedSpec(
            id="hidden_gems",
            title="Hidden Gems",
            content_type=ContentType.MOVIES,
            chain=(),
            terminal=links.hidden_gems(),
        ),
    )


DEFAULT_LAYOUT = default_layout()
"""The default ten feeds with default options."""
