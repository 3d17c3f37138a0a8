"""Exact cosine nearest-neighbour search with NumPy: the reference VectorIndex."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from pathlib import Path

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
        self._refs: list[ItemRef] = []
        self._row: dict[ItemRef, int] = {}
        self._media = np.zeros(0, dtype=np.uint8)
        self._matrix: Vector = np.zeros((0, 0), dtype=np.float32)

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
        if k < 1 or not self._refs:
            return []
        vector = self._query_vector(query)
        if vector is None:
            return []
        if isinstance(query, ItemRef):
            exclude = {*exclude, query}
        scores = self._matrix @ vector
        if media_type is not None:
            scores = np.where(self._media == _MEDIA_CODES[media_type], scores, -np.inf)
        excluded = [row for row in map(self._row.get, exclude) if row is not None]
        if excluded:
            scores[excluded] = -np.inf
        if k < scores.shape[0]:
            # Partition first so a query costs O(n), not O(n log n); then order the top k.
            top = np.argpartition(-scores, k - 1)[:k]
        else:
            top = np.arange(scores.shape[0])
        hits = [(float(scores[i]), self._refs[i]) for i in top.tolist() if scores[i] > -np.inf]
        hits.sort(key=lambda hit: (-hit[0], hit[1]))
        return [(ref, score) for score, ref in hits]

    def _query_vector(self, query: ItemRef | Vector) -> Vector | None:
        if isinstance(query, ItemRef):
            row = self._row.get(query)
            return None if row is None else self._matrix[row]
        return unit_query(query, int(self._matrix.shape[1]))

    def __len__(self) -> int:
        return len(self._refs)

    @property
    def dimension(self) -> int:
        """Length of the vectors held (0 when empty)."""
        return int(self._matrix.shape[1]) if self._refs else 0

    def save(self, path: Path) -> None:
        """Write the index to ``path`` as ``.npz`` (the name is used exactly as given).

        The file is written beside ``path`` and renamed onto it, so a reader never sees a
        partial file.

        Raises:
            SourceUnavailable: the file could not be written.
        """
        tmdb_ids = np.array([ref.tmdb_id for ref in self._refs], dtype=np.int64)

        def write(target: Path) -> None:
            # A file object, because np.savez appends ".npz" to a path that lacks it.
            with target.open("wb") as handle:
                np.savez(handle, vectors=self._matrix, media=self._media, tmdb_ids=tmdb_ids)

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
        # Built aside, swapped in at the end: a reader never sees half an index.
        row = {ref: i for i, ref in enumerate(refs)}
        self._refs, self._row, self._media, self._matrix = refs, row, media_codes(refs), matrix
