"""Identity of a title: its media type and TMDB number, spelled ``movie_603`` / ``tv_1399``."""

from __future__ import annotations

import enum
import re
from typing import Final

import attrs


class MediaType(enum.Enum):
    """Movies and shows; TMDB numbers them in separate namespaces."""

    MOVIE = "movie"
    TV = "tv"

    @property
    def content_type(self) -> str:
        """The ChillLink ``content_type`` of a row of this media type."""
        return "movies" if self is MediaType.MOVIE else "shows"

    @property
    def noun(self) -> str:
        """The plural a person reads: ``Movies`` or ``Shows``."""
        return "Movies" if self is MediaType.MOVIE else "Shows"


_MAX_TMDB_ID: Final = 10**10
"""Ids have at most ten digits, so every valid ``ItemRef`` parses back from its item id."""
_ITEM_ID: Final = re.compile(r"(movie|tv)_([1-9][0-9]{0,9})")


@attrs.frozen(order=True, cache_hash=True)
class ItemRef:
    """One title, across every service: the recommender's ``item_id`` is ``str(ref)``.

    Stability: caller-stable.

    Attributes:
        media_type: Movie or TV show.
        tmdb_id: TMDB's number for the title, unique only within its media type.
    """

    media_type: MediaType = attrs.field(order=lambda m: m.value)
    tmdb_id: int = attrs.field(
        validator=[attrs.validators.ge(1), attrs.validators.lt(_MAX_TMDB_ID)]
    )

    @classmethod
    def movie(cls, tmdb_id: int) -> ItemRef:
        """The movie with this TMDB id."""
        return cls(MediaType.MOVIE, tmdb_id)

    @classmethod
    def tv(cls, tmdb_id: int) -> ItemRef:
        """The show with this TMDB id."""
        return cls(MediaType.TV, tmdb_id)

    @classmethod
    def parse(cls, item_id: str) -> ItemRef:
        """Read ``movie_603`` or ``tv_1399``.

        Raises:
            ValueError: anything else, with the expected form in the message.
        """
        match = _ITEM_ID.fullmatch(item_id)
        if match is None:
            msg = (
                f"not an item id: {item_id!r}; expected 'movie_<tmdb id>' or 'tv_<tmdb id>',"
                " e.g. 'movie_603'"
            )
            raise ValueError(msg)
        return cls(MediaType(match[1]), int(match[2]))

    @property
    def item_id(self) -> str:
        """The id the recommender and the state store use: ``movie_603``."""
        return f"{self.media_type.value}_{self.tmdb_id}"

    def __str__(self) -> str:
        return self.item_id

    def __repr__(self) -> str:
        return f"ItemRef({self.item_id!r})"
