"""Catalog titles, with exactly the properties reclio pushes to a recommender."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

import attrs

from reclio.domain._converters import (
    integral,
    optional_integral,
    optional_valid_text,
    valid_text,
    valid_texts,
)
from reclio.domain._validators import named, whole
from reclio.domain.ids import ItemRef, MediaType


@attrs.frozen
class Genre:
    """A TMDB genre: ``id`` goes into discover queries, ``name`` to people and recommenders."""

    id: int
    name: str = attrs.field(converter=valid_text)


def _tuple_of_genres(values: Iterable[Genre]) -> tuple[Genre, ...]:
    return tuple(values)


@attrs.frozen
class Title:
    """One catalog title.

    Numbers are normalized when a title is built (``popularity=99`` is stored as ``99.0``;
    ``vote_count=12.0`` as ``12``), so a title read back from the store has the content
    hash it was stored with. Text is made valid Unicode (see `valid_text`).

    Stability: caller-stable; fields may be added with defaults.

    Attributes:
        ref: Which title this is.
        title: TMDB ``title`` (movies) or ``name`` (shows); never blank.
        overview: TMDB's synopsis, possibly empty.
        genres: TMDB genres, in TMDB's order.
        year: From the release or first-air date; ``None`` when TMDB has no date.
        vote_average: 0 to 10.
        vote_count: How many votes ``vote_average`` rests on.
        popularity: TMDB's popularity score.
        cast: Top five of ``credits.cast`` by billing order.
        director: Crew job "Director"; for shows the creator when there is none.
        runtime: Minutes (movies) or typical episode minutes (shows), when known.
    """

    ref: ItemRef
    title: str = attrs.field(converter=valid_text, validator=named)
    overview: str = attrs.field(default="", converter=valid_text)
    genres: tuple[Genre, ...] = attrs.field(default=(), converter=_tuple_of_genres)
    year: int | None = attrs.field(default=None, converter=optional_integral, validator=whole)
    vote_average: float = attrs.field(default=0.0, converter=float)
    vote_count: int = attrs.field(default=0, converter=integral, validator=whole)
    popularity: float = attrs.field(default=0.0, converter=float)
    cast: tuple[str, ...] = attrs.field(default=(), converter=valid_texts)
    director: str | None = attrs.field(default=None, converter=optional_valid_text)
    runtime: int | None = attrs.field(default=None, converter=optional_integral, validator=whole)

    @property
    def media_type(self) -> MediaType:
        """Movie or show."""
        return self.ref.media_type

    @property
    def genre_names(self) -> frozenset[str]:
        """The recommender's ``genres`` property: a set of names."""
        return frozenset(genre.name for genre in self.genres)

    def properties(self) -> dict[str, object]:
        """The nine catalog properties a recommender receives (DESIGN section 3), JSON-ready.

        ``genres`` and ``cast`` are sets to the recommender; here they are lists in TMDB's
        order (genres) and billing order (cast), which JSON can carry.
        """
        return {
            "title": self.title,
            "overview": self.overview,
            "genres": [genre.name for genre in self.genres],
            "year": self.year,
            "vote_average": self.vote_average,
            "popularity": self.popularity,
            "media_type": self.media_type.value,
            "cast": list(self.cast),
            "director": self.director,
        }

    def embedding_text(self) -> str:
        """The text an embedder reads for this title (`title_text`); its hash decides embedding."""
        return title_text(self)

    def content_hash(self) -> str:
        """A stable digest of every property; a changed hash means push the title again."""
        payload = json.dumps(attrs.asdict(self, value_serializer=_plain), sort_keys=True)
        return hashlib.blake2b(payload.encode(), digest_size=16).hexdigest()

    def text_hash(self, identity: str) -> str:
        """A stable digest of `embedding_text` and of the embedder that reads it.

        A changed hash means embed again: content sync passes `Embedder.identity`, so a
        changed text and a changed model both count.
        """
        payload = f"{identity}\n{self.embedding_text()}"
        return hashlib.blake2b(payload.encode(), digest_size=16).hexdigest()


def title_text(title: Title) -> str:
    """The one text every embedder reads for a title: content sync, benchmarks and docs alike.

    The template, with every part whose data is missing left out::

        {title} ({year}). {genre}, {genre}. Directed by {director}.
        Starring {cast}, ... {overview}

    Shows say "Created by" instead of "Directed by" (their ``director`` is the creator).
    The most telling parts come first, so a model that truncates long texts (MiniLM reads
    256 word pieces) loses the end of the overview, never the title or the genres.

    Example:
        ``Alien (1979). Horror, Science Fiction. Directed by Ridley Scott. Starring Sigourney
        Weaver, Tom Skerritt. During its return to the earth, ...``
    """
    parts = [f"{title.title} ({title.year})" if title.year is not None else title.title]
    if title.genres:
        parts.append(", ".join(genre.name for genre in title.genres))
    if title.director:
        verb = "Directed" if title.ref.media_type is MediaType.MOVIE else "Created"
        parts.append(f"{verb} by {title.director}")
    if title.cast:
        parts.append("Starring " + ", ".join(title.cast))
    text = ". ".join(part.strip().rstrip(".") for part in parts if part.strip()) + "."
    overview = title.overview.strip()
    return f"{text} {overview}" if overview else text


def _plain(_inst: object, _field: object, value: object) -> object:
    if isinstance(value, ItemRef):
        return value.item_id
    return value


@attrs.frozen
class CatalogRecord:
    """A title as the state store keeps it, with what content sync needs to skip work.

    Attributes:
        title: The title.
        content_hash: `Title.content_hash` when stored.
        synced_hash: The content hash the recommender last confirmed; ``None`` if never.
        embedded_hash: The `Title.text_hash` last embedded; ``None`` if never.
    """

    title: Title
    content_hash: str
    synced_hash: str | None = None
    embedded_hash: str | None = None

    @classmethod
    def of(cls, title: Title) -> CatalogRecord:
        """A fresh record: stored, not yet pushed nor embedded."""
        return cls(title, title.content_hash())

    def updated(self, title: Title) -> CatalogRecord:
        """The record after ``title`` was fetched again: ``self`` when nothing changed.

        A changed title keeps the hashes last pushed and embedded, so it counts as needing a
        push (and an embedding, if its text changed) until those confirm the new version.
        """
        content_hash = title.content_hash()
        if content_hash == self.content_hash:
            return self
        return CatalogRecord(title, content_hash, self.synced_hash, self.embedded_hash)

    @property
    def needs_push(self) -> bool:
        """The recommender has not confirmed this version of the title."""
        return self.synced_hash != self.content_hash
