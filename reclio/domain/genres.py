"""TMDB's genre tables: ids are what discover queries take, names are what people read."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from reclio.domain.ids import MediaType

MOVIE_GENRES: Final[Mapping[int, str]] = MappingProxyType(
    {
        28: "Action",
        12: "Adventure",
        16: "Animation",
        35: "Comedy",
        80: "Crime",
        99: "Documentary",
        18: "Drama",
        10751: "Family",
        14: "Fantasy",
        36: "History",
        27: "Horror",
        10402: "Music",
        9648: "Mystery",
        10749: "Romance",
        878: "Science Fiction",
        10770: "TV Movie",
        53: "Thriller",
        10752: "War",
        37: "Western",
    }
)

TV_GENRES: Final[Mapping[int, str]] = MappingProxyType(
    {
        10759: "Action & Adventure",
        16: "Animation",
        35: "Comedy",
        80: "Crime",
        99: "Documentary",
        18: "Drama",
        10751: "Family",
        10762: "Kids",
        9648: "Mystery",
        10763: "News",
        10764: "Reality",
        10765: "Sci-Fi & Fantasy",
        10766: "Soap",
        10767: "Talk",
        10768: "War & Politics",
        37: "Western",
    }
)


def genre_table(media_type: MediaType) -> Mapping[int, str]:
    """The id-to-name table for one media type."""
    return MOVIE_GENRES if media_type is MediaType.MOVIE else TV_GENRES


def genre_name(media_type: MediaType, genre_id: int) -> str | None:
    """The name TMDB gives this genre id, or ``None`` for an id it does not list."""
    return genre_table(media_type).get(genre_id)
