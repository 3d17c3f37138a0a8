"""Exact cosine nearest-neighbour search with NumPy: the reference VectorIndex."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import Final

import attrs
import numpy as np
import numpy.typing as npt

from reclio.adapters._vectors import MEDIA_CODES as _MEDIA_CODES
from reclio.adapters._vectors import (
    atomic_write,
    collect,
    media_codes,
    refs_from_codes,
    translate,
    unit_query,
)
from reclio.domain import ItemRef, MediaType, Vector
from reclio.ports import VectorIndex

_SERVICE = "exact-index"


@attrs.frozen
class _Built:
    """One build: swapped in by one assignment, so a query in another thread never mixes two."""

    refs: list[ItemRef]
    row: dict[ItemRef, int]
    media: npt.NDArray[np.uint8]
    matrix: Vector


_EMPTY: Final = _Built([], {}, np.zeros(0, dtype=np.uint8), np.zeros((0, 0), dtype=np.float32))


class ExactVectorIndex(VectorIndex):
    """**VectorIndex** that compares the query with every vector (a matrix product).

    Exact, so it is the reference the approximate indexes (Annoy, voyager) are measured
    against, and fast enough for catalogs up to a few tens of thousands of titles (one
    float32 matrix-vector product per query: about 0.7 ms at 10,000 x 384, 4 ms at 50,000;
    see docs/vectors.md). Rows are L2-normalized at build time, so similarity is a dot
    product. Saved as a ``.npz`` file (no pickles), written atomically; loading reads the
    whole matrix into memory.

    Stability: caller-stable; implementer: internal.
    """

    def __init__(self) -> None:
        self._built = _EMPTY

    def build(self, items: Iterable[tuple[ItemRef, Vector]]) -> None:
        """Replace the index with these vectors; a ref given twice keeps its last vector.

        Raises:
            ValueError: vectors of different dimensions.
        """
        refs, matrix = collect(items)
        self._install(refs, matrix)

    def nearest(
        self,
        query: ItemRef | Vector,
        *,
        k: int,
        media_type: MediaType | None = None,
        exclude: Collection[ItemRef] = (),
    ) -> Sequence[tuple[ItemRef, float]]:
        """Up to ``k`` items by descending cosine similarity (ties by ref).

        A query by ref never returns that ref; an unknown ref or a zero vector yields ``[]``.

        Raises:
            ValueError: a query vector of the wrong dimension.
        """
        built = self._built  # one build for the whole query
        if k < 1 or not built.refs:
            return []
        vector = _query_vector(built, query)
        if vector is None:
            return []
        if isinstance(query, ItemRef):
            exclude = {*exclude, query}
        scores = built.matrix @ vector
        if media_type is not None:
            scores = np.where(built.media == _MEDIA_CODES[media_type], scores, -np.inf)
        excluded = [row for row in map(built.row.get, exclude) if row is not None]
        if excluded:
            scores[excluded] = -np.inf
        if k < scores.shape[0]:
            # Partition first so a query costs O(n), not O(n log n); then order the top k.
            top = np.argpartition(-scores, k - 1)[:k]
        else:
            top = np.arange(scores.shape[0])
        hits = [(float(scores[i]), built.refs[i]) for i in top.tolist() if scores[i] > -np.inf]
        hits.sort(key=lambda hit: (-hit[0], hit[1]))
        return [(ref, score) for score, ref in hits]

    def __len__(self) -> int:
        return len(self._built.refs)

    @property
    def dimension(self) -> int:
        """Length of the vectors held (0 when empty)."""
        built = self._built
        return int(built.matrix.shape[1]) if built.refs else 0

    def save(self, path: Path) -> None:
        """Write the index to ``path`` as ``.npz`` (the name is used exactly as given).

        The file is written beside ``path`` and renamed onto it, so a reader never sees a
        partial file.

        Raises:
            SourceUnavailable: the file could not be written.
        """
        built = self._built
        tmdb_ids = np.array([ref.tmdb_id for ref in built.refs], dtype=np.int64)

        def write(target: Path) -> None:
            # A file object, because np.savez appends ".npz" to a path that lacks it.
            with target.open("wb") as handle:
                np.savez(handle, vectors=built.matrix, media=built.media, tmdb_ids=tmdb_ids)

        with translate(_SERVICE, "save", path):
            atomic_write(Path(path), write)

    def load(self, path: Path) -> None:
        """Replace the index with the one saved at ``path``.

        Raises:
            SourceUnavailable: the file is missing or unreadable.
            DecodeError: the file is not an index this class wrote.
        """
        with translate(_SERVICE, "load", path), np.load(Path(path), allow_pickle=False) as data:
            matrix = np.asarray(data["vectors"], dtype=np.float32)
            media: npt.NDArray[np.uint8] = np.asarray(data["media"], dtype=np.uint8)
            tmdb_ids: npt.NDArray[np.int64] = np.asarray(data["tmdb_ids"], dtype=np.int64)
            refs = refs_from_codes(media, tmdb_ids)
            if matrix.ndim != 2 or matrix.shape[0] != len(refs):  # noqa: PLR2004 - a matrix
                msg = f"{matrix.shape[0]} vectors for {len(refs)} refs"
                raise ValueError(msg)
        self._install(refs, matrix)

    def _install(self, refs: list[ItemRef], matrix: Vector) -> None:
        # Built aside, swapped in by one assignment: a reader never sees half an index.
        row = {ref: i for i, ref in enumerate(refs)}
        self._built = _Built(refs, row, media_codes(refs), matrix)


def _query_vector(built: _Built, query: ItemRef | Vector) -> Vector | None:
    if isinstance(query, ItemRef):
        row = built.row.get(query)
        return None if row is None else built.matrix[row]
    return unit_query(query, int(built.matrix.shape[1]))
