"""Exact cosine nearest-neighbour search with NumPy: the reference VectorIndex."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from reclio.domain import ItemRef, MediaType
from reclio.ports import VectorIndex

_MEDIA_CODES = {MediaType.MOVIE: 0, MediaType.TV: 1}
_MEDIA_BY_CODE = {code: media for media, code in _MEDIA_CODES.items()}


class ExactVectorIndex(VectorIndex):
    """**VectorIndex** that compares the query with every vector (a matrix product).

    Exact, so it is the reference the approximate Annoy index is measured against, and fast
    enough for catalogs up to a few hundred thousand titles (one float32 matrix-vector
    product per query). Rows are L2-normalized at build time, so similarity is a dot product.
    Saved as a ``.npz`` file (no pickles).

    Stability: caller-stable; implementer: internal.
    """

    def __init__(self) -> None:
        self._refs: list[ItemRef] = []
        self._row: dict[ItemRef, int] = {}
        self._media = np.zeros(0, dtype=np.uint8)
        self._matrix: npt.NDArray[np.float32] = np.zeros((0, 0), dtype=np.float32)

    def build(self, items: Iterable[tuple[ItemRef, Sequence[float]]]) -> None:
        """Replace the index with these vectors; a ref given twice keeps its last vector.

        Raises:
            ValueError: vectors of different dimensions.
        """
        rows: dict[ItemRef, npt.NDArray[np.float32]] = {}
        for ref, vector in items:
            rows[ref] = np.asarray(vector, dtype=np.float32).reshape(-1)
        dimensions = {row.shape[0] for row in rows.values()}
        if len(dimensions) > 1:
            msg = f"all vectors must have one dimension, got {sorted(dimensions)}"
            raise ValueError(msg)
        refs = list(rows)
        if refs:
            matrix = _normalized(np.stack([rows[ref] for ref in refs]))
        else:
            matrix = np.zeros((0, 0), dtype=np.float32)
        self._install(refs, matrix)

    def nearest(
        self,
        query: ItemRef | Sequence[float],
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
        scores = (self._matrix @ vector).astype(np.float64)
        allowed = np.ones(len(self._refs), dtype=bool)
        if media_type is not None:
            allowed &= self._media == _MEDIA_CODES[media_type]
        for ref in exclude:
            row = self._row.get(ref)
            if row is not None:
                allowed[row] = False
        candidates = np.flatnonzero(allowed)
        if candidates.size == 0:
            return []
        if candidates.size > k:
            # Partition first so a query costs O(n), not O(n log n); then order the top k.
            top = np.argpartition(-scores[candidates], k - 1)[:k]
            candidates = candidates[top]
        order = sorted(candidates.tolist(), key=lambda i: (-scores[i], self._refs[i]))
        return [(self._refs[i], float(scores[i])) for i in order]

    def _query_vector(self, query: ItemRef | Sequence[float]) -> npt.NDArray[np.float32] | None:
        if isinstance(query, ItemRef):
            row = self._row.get(query)
            return None if row is None else self._matrix[row]
        raw = np.asarray(query, dtype=np.float32).reshape(-1)
        if raw.shape[0] != self._matrix.shape[1]:
            msg = f"query has dimension {raw.shape[0]}, the index {self._matrix.shape[1]}"
            raise ValueError(msg)
        norm = float(np.linalg.norm(raw))
        if norm == 0.0:
            return None
        unit: npt.NDArray[np.float32] = raw / np.float32(norm)
        return unit

    def __len__(self) -> int:
        return len(self._refs)

    @property
    def dimension(self) -> int:
        """Length of the vectors held (0 when empty)."""
        return int(self._matrix.shape[1]) if self._refs else 0

    def save(self, path: Path) -> None:
        """Write the index to ``path`` as ``.npz`` (the name is used exactly as given)."""
        media = self._media
        tmdb_ids = np.array([ref.tmdb_id for ref in self._refs], dtype=np.int64)
        # A file object, because np.savez appends ".npz" to a path that lacks it.
        with Path(path).open("wb") as handle:
            np.savez(handle, vectors=self._matrix, media=media, tmdb_ids=tmdb_ids)

    def load(self, path: Path) -> None:
        """Replace the index with the one saved at ``path``.

        Raises:
            ValueError: the file is not an index this class wrote.
        """
        with np.load(Path(path), allow_pickle=False) as data:
            try:
                matrix = np.asarray(data["vectors"], dtype=np.float32)
                media = np.asarray(data["media"], dtype=np.uint8)
                tmdb_ids = np.asarray(data["tmdb_ids"], dtype=np.int64)
            except KeyError as exc:
                msg = f"{path} is not an ExactVectorIndex file: missing {exc}"
                raise ValueError(msg) from exc
        refs = [
            ItemRef(_MEDIA_BY_CODE[int(code)], int(tmdb_id))
            for code, tmdb_id in zip(media.tolist(), tmdb_ids.tolist(), strict=True)
        ]
        self._install(refs, matrix)

    def _install(self, refs: list[ItemRef], matrix: npt.NDArray[np.float32]) -> None:
        # Built aside, swapped in at the end: a reader never sees half an index.
        row = {ref: i for i, ref in enumerate(refs)}
        media = np.array([_MEDIA_CODES[ref.media_type] for ref in refs], dtype=np.uint8)
        self._refs, self._row, self._media, self._matrix = refs, row, media, matrix


def _normalized(matrix: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    normalized: npt.NDArray[np.float32] = (matrix / norms).astype(np.float32)
    return normalized
