"""MovieLens movies as reclio `Title` values (title, year, genres), for embedding them.

ml-latest-small's ``movies.csv`` has no overview, cast or director, so its titles carry
what it has: ``"Godfather, The (1972)"`` becomes ``Title("The Godfather", year=1972)``
with its genres under TMDB's names (``Sci-Fi`` is ``Science Fiction``, ``Children`` is
``Family``, ``Musical`` is ``Music``; ``IMAX`` is a format, not a genre, and is dropped).
Refs are the ones `reclio.evaluation.load_movielens` gives the same movies.

Stability: experimental.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Final

from reclio.domain import MOVIE_GENRES, Genre, Title
from reclio.evaluation._datasets import latest_small_refs

__all__ = ["movielens_titles"]

_YEAR: Final = re.compile(r"^(?P<name>.*?)\s*\((?P<year>\d{4})(?:[-\u2013]\d{0,4})?\)\s*$")
_ARTICLE: Final = re.compile(r"^(?P<rest>.*), (?P<article>The|A|An)$")
_RENAMED: Final = {"Sci-Fi": "Science Fiction", "Children": "Family", "Musical": "Music"}
_DROPPED: Final = frozenset({"(no genres listed)", "IMAX"})
_GENRE_IDS: Final = {name: genre_id for genre_id, name in MOVIE_GENRES.items()}


def movielens_titles(path: Path) -> list[Title]:
    """Every movie of ml-latest-small at ``path``, in ``movies.csv`` order.

    Raises:
        FileNotFoundError: ``path`` has no ``movies.csv`` and ``links.csv``.
    """
    rows: list[dict[str, str]] = []
    with (path / "movies.csv").open(newline="", encoding="utf-8") as handle:
        rows.extend(csv.DictReader(handle))
    refs = latest_small_refs(path, [int(row["movieId"]) for row in rows])
    titles: list[Title] = []
    for ref, row in zip(refs, rows, strict=True):
        name, year = _split_year(row["title"])
        titles.append(Title(ref, name, genres=_genres(row["genres"]), year=year))
    return titles


def _split_year(raw: str) -> tuple[str, int | None]:
    match = _YEAR.match(raw.strip())
    name, year = (match["name"], int(match["year"])) if match else (raw.strip(), None)
    article = _ARTICLE.match(name)
    if article:
        name = f"{article['article']} {article['rest']}"
    return name, year


def _genres(raw: str) -> list[Genre]:
    names = [_RENAMED.get(name, name) for name in raw.split("|") if name not in _DROPPED]
    return [Genre(_GENRE_IDS.get(name, 0), name) for name in names]
