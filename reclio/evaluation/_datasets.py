"""MovieLens loaders: ml-latest-small and ml-100k, detected from the files a folder holds."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import numpy as np

from reclio.domain import ItemRef

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = ["PLACEHOLDER_BASE", "RatingsDataset", "detect_format", "load_movielens"]

PLACEHOLDER_BASE = 9_000_000_000
"""Movies without a unique TMDB id become ``movie_{PLACEHOLDER_BASE + movieId}``."""


@attrs.frozen(eq=False)
class RatingsDataset:
    """Ratings as parallel arrays over a catalog of items (every item the files list).

    Attributes:
        name: ``"ml-latest-small"`` or ``"ml-100k"``.
        user_ids: The data set's user ids, by user index.
        item_ids: The data set's item ids (MovieLens ``movieId``), by item index.
        refs: reclio's ref for every item, by item index (unique).
        titles: Each item's title, by item index.
        users: User index of every rating.
        items: Item index of every rating.
        stars: Rating value, 0.5 to 5 stars.
        timestamps: Unix seconds of every rating.
    """

    name: str
    user_ids: tuple[str, ...]
    item_ids: tuple[int, ...]
    refs: tuple[ItemRef, ...]
    titles: tuple[str, ...]
    users: npt.NDArray[np.int64]
    items: npt.NDArray[np.int64]
    stars: npt.NDArray[np.float64]
    timestamps: npt.NDArray[np.int64]

    @property
    def n_users(self) -> int:
        """How many users."""
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        """How many items in the catalog (rated or not)."""
        return len(self.item_ids)

    def __len__(self) -> int:
        return int(self.users.shape[0])


def detect_format(path: Path) -> str:
    """Which MovieLens release ``path`` holds.

    Raises:
        FileNotFoundError: neither ``ratings.csv`` + ``movies.csv`` nor ``u.data`` + ``u.item``.
    """
    if (path / "ratings.csv").is_file() and (path / "movies.csv").is_file():
        return "ml-latest-small"
    if (path / "u.data").is_file() and (path / "u.item").is_file():
        return "ml-100k"
    msg = (
        f"no MovieLens data in {path}: expected ratings.csv + movies.csv (ml-latest-small)"
        " or u.data + u.item (ml-100k)"
    )
    raise FileNotFoundError(msg)


def load_movielens(path: Path) -> RatingsDataset:
    """Load ml-latest-small or ml-100k from ``path`` (auto-detected).

    For ml-latest-small each movie's ref is ``movie_{tmdbId}`` from ``links.csv``; the few
    movies without a TMDB id, or sharing one with an earlier movie, get a placeholder ref
    (``PLACEHOLDER_BASE + movieId``) so every MovieLens item stays a distinct item. For
    ml-100k the MovieLens item id is the number.

    Raises:
        FileNotFoundError: the folder holds neither release.
    """
    fmt = detect_format(path)
    if fmt == "ml-latest-small":
        return _load_latest_small(path)
    return _load_100k(path)


def latest_small_refs(path: Path, movie_ids: Sequence[int]) -> list[ItemRef]:
    """The ref of each ml-latest-small movie: ``movie_{tmdbId}`` from ``links.csv``.

    A movie without a TMDB id, or sharing one with an earlier movie, gets a placeholder
    (``PLACEHOLDER_BASE + movieId``), so every MovieLens item stays a distinct item.
    """
    tmdb: dict[int, int] = {}
    with (path / "links.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["tmdbId"]:
                tmdb[int(row["movieId"])] = int(row["tmdbId"])
    refs: list[ItemRef] = []
    taken: set[int] = set()
    for movie_id in movie_ids:
        number = tmdb.get(movie_id)
        if number is None or number in taken:
            number = PLACEHOLDER_BASE + movie_id
        taken.add(number)
        refs.append(ItemRef.movie(number))
    return refs


def _load_latest_small(path: Path) -> RatingsDataset:
    item_ids: list[int] = []
    titles: list[str] = []
    with (path / "movies.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            item_ids.append(int(row["movieId"]))
            titles.append(row["title"])
    refs = latest_small_refs(path, item_ids)
    raw: list[tuple[str, int, float, int]] = []
    with (path / "ratings.csv").open(newline="", encoding="utf-8") as handle:
        raw.extend(
            (row["userId"], int(row["movieId"]), float(row["rating"]), int(row["timestamp"]))
            for row in csv.DictReader(handle)
        )
    return _assemble("ml-latest-small", item_ids, refs, titles, raw)


def _load_100k(path: Path) -> RatingsDataset:
    item_ids: list[int] = []
    titles: list[str] = []
    with (path / "u.item").open(encoding="latin-1") as handle:
        for line in handle:
            fields = line.rstrip("\n").split("|")
            if len(fields) > 1:
                item_ids.append(int(fields[0]))
                titles.append(fields[1])
    refs = [ItemRef.movie(item_id) for item_id in item_ids]
    raw: list[tuple[str, int, float, int]] = []
    with (path / "u.data").open(encoding="latin-1") as handle:
        for line in handle:
            fields = line.split()
            if len(fields) == 4:  # noqa: PLR2004 - user item rating timestamp
                raw.append((fields[0], int(fields[1]), float(fields[2]), int(fields[3])))
    return _assemble("ml-100k", item_ids, refs, titles, raw)


def _assemble(
    name: str,
    item_ids: list[int],
    refs: list[ItemRef],
    titles: list[str],
    raw: list[tuple[str, int, float, int]],
) -> RatingsDataset:
    item_index = {item_id: i for i, item_id in enumerate(item_ids)}
    # A rated item missing from the catalog file still belongs to the catalog.
    for _, item_id, _, _ in raw:
        if item_id not in item_index:
            item_index[item_id] = len(item_ids)
            item_ids.append(item_id)
            refs.append(ItemRef.movie(PLACEHOLDER_BASE + item_id))
            titles.append(f"MovieLens item {item_id}")
    user_ids = sorted({user for user, _, _, _ in raw}, key=_user_sort_key)
    user_index = {user: u for u, user in enumerate(user_ids)}
    # One interaction per (user, item): the latest rating wins if a pair repeats.
    latest: dict[tuple[int, int], tuple[float, int]] = {}
    for user, item_id, stars, timestamp in raw:
        key = (user_index[user], item_index[item_id])
        if key not in latest or timestamp >= latest[key][1]:
            latest[key] = (stars, timestamp)
    pairs = sorted(latest)
    return RatingsDataset(
        name=name,
        user_ids=tuple(user_ids),
        item_ids=tuple(item_ids),
        refs=tuple(refs),
        titles=tuple(titles),
        users=np.array([u for u, _ in pairs], dtype=np.int64),
        items=np.array([i for _, i in pairs], dtype=np.int64),
        stars=np.array([latest[p][0] for p in pairs], dtype=np.float64),
        timestamps=np.array([latest[p][1] for p in pairs], dtype=np.int64),
    )


def _user_sort_key(user: str) -> tuple[int, str]:
    return (int(user), user) if user.isdigit() else (1 << 62, user)
