"""`VoyagerVectorIndex`: an HNSW graph (Spotify's voyager), cosine space, one file."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import Final

import attrs
import numpy as np

from reclio.adapters._vectors import (
    MEDIA_BY_CODE,
    MEDIA_CODES,
    Hits,
    approximate_nearest,
    atomic_write,
    collect,
    translate,
)
from reclio.domain import ItemRef, MediaType, Vector
from reclio.errors import DecodeError
from reclio.ports import VectorIndex
from reclio.settings import VectorConfig

try:
    import voyager
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    msg = "reclio.adapters.voyager needs voyager: pip install 'reclio[voyager]'"
    raise ImportError(msg) from exc

_SERVICE: Final = "voyager"


def label(ref: ItemRef) -> int:
    """The voyager id of a ref: its TMDB id and media code in one integer."""
    return ref.tmdb_id * 2 + MEDIA_CODES[ref.media_type]


def ref_of(label: int) -> ItemRef:
    """The ref a voyager id stands for (the inverse of `label`)."""
    return ItemRef(MEDIA_BY_CODE[label % 2], label // 2)


@attrs.frozen
class _Built:
    """One build: swapped in whole, so a query never mixes two."""

    index: voyager.Index | None
    labels: frozenset[int]
    dimension: int


_EMPTY: Final = _Built(None, frozenset(), 0)


class VoyagerVectorIndex(VectorIndex):
    """**VectorIndex** on voyager (extra ``reclio[voyager]``): a hierarchical small-world graph.

    Cosine space, float32 storage. Each ref is stored under an id that encodes it (TMDB id
    and media type), so the index is one self-describing file: no id map beside it. Builds
    are deterministic (ref order, ``config.seed``, one thread). `save` writes a temporary
    file and renames it; `load` reads the file into memory (voyager does not memory-map:
    each process holds its own copy, about 1.7 KiB per 384-dimensional title).

    Filters work as in the Annoy index: one more neighbour per excluded ref, times
    ``config.overfetch`` under a media-type filter, then more until the filters leave ``k``.

    Stability: caller-stable; implementer: internal.

    Args:
        config: ``seed``, ``overfetch``, ``voyager_m``, ``voyager_ef_construction``,
            ``voyager_ef``.
    """

    def __init__(self, config: VectorConfig | None = None) -> None:
        self._config = config or VectorConfig()
        self._built = _EMPTY

    def build(self, items: Iterable[tuple[ItemRef, Vector]]) -> None:
        """Replace the index with these vectors; a ref given twice keeps its last vector.

        Raises:
            ValueError: vectors of different dimensions.
        """
        refs, matrix = collect(items)
        if not refs:
            self._built = _EMPTY
            return
        config = self._config
        dimension = int(matrix.shape[1])
        index = voyager.Index(
            voyager.Space.Cosine,
            num_dimensions=dimension,
            M=config.voyager_m,
            ef_construction=config.voyager_ef_construction,
            random_seed=config.seed,
            max_elements=len(refs),
        )
        labels = [label(ref) for ref in refs]
        # One thread: parallel inserts link the graph in a different order every build.
        index.add_items(matrix, ids=labels, num_threads=1)
        self._built = _Built(index, frozenset(labels), dimension)

    def nearest(
        self,
        query: ItemRef | Vector,
        *,
        k: int,
        media_type: MediaType | None = None,
        exclude: Collection[ItemRef] = (),
    ) -> Sequence[tuple[ItemRef, float]]:
        """Up to ``k`` items by descending cosine similarity (approximate; ties by ref).

        A query by ref never returns that ref; an unknown ref or a zero vector yields ``[]``.

        Raises:
            ValueError: a query vector of the wrong dimension.
        """
        built = self._built
        index = built.index
        if index is None:
            return []
        ef = self._config.voyager_ef

        def stored(ref: ItemRef) -> Vector | None:
            id_ = label(ref)
            return index.get_vector(id_) if id_ in built.labels else None

        def search(unit: Vector, n: int) -> Hits:
            try:
                ids, distances = index.query(unit, k=n, query_ef=max(ef, n))
            except voyager.RecallError:
                # The graph reached fewer than n items (only when n is near the whole
                # index): score every item instead.
                return _exhaustive(index, unit, n)
            # Cosine distance is 1 - cos.
            return ids.tolist(), (1.0 - distances).tolist()

        return approximate_nearest(
            query,
            k=k,
            media_type=media_type,
            exclude=exclude,
            stored=stored,
            holds=_Labels(built.labels),
            size=len(built.labels),
            dimension=built.dimension,
            search=search,
            decode=ref_of,
            overfetch=self._config.overfetch,
        )

    def __len__(self) -> int:
        return len(self._built.labels)

    @property
    def dimension(self) -> int:
        """Length of the vectors held (0 when empty)."""
        return self._built.dimension

    def save(self, path: Path) -> None:
        """Write the index to ``path`` (a temporary file renamed onto it).

        Raises:
            SourceUnavailable: the file could not be written.
        """
        path = Path(path)
        index = self._built.index
        with translate(_SERVICE, "save", path):
            if index is None:
                # voyager cannot save an empty graph: an empty file stands for one.
                atomic_write(path, lambda target: target.write_bytes(b""))
            else:
                atomic_write(path, lambda target: index.save(str(target)))

    def load(self, path: Path) -> None:
        """Read the index saved at ``path`` in place of this one.

        Raises:
            SourceUnavailable: the file is missing or unreadable.
            DecodeError: the file is not a voyager index of the cosine space.
        """
        path = Path(path)
        with translate(_SERVICE, "load", path):
            if path.stat().st_size == 0:
                self._built = _EMPTY
                return
            index = voyager.Index.load(str(path))
        if index.space != voyager.Space.Cosine:
            msg = f"{path} is a voyager index of the {index.space} space, not cosine"
            raise DecodeError(msg, service=_SERVICE, operation="load")
        labels = frozenset(int(i) for i in index.ids)
        self._built = _Built(index, labels, int(index.num_dimensions))


@attrs.frozen
class _Labels:
    """The refs an index holds, seen through their labels."""

    labels: frozenset[int]

    def __contains__(self, ref: object) -> bool:
        return isinstance(ref, ItemRef) and label(ref) in self.labels


def _exhaustive(index: voyager.Index, unit: Vector, n: int) -> Hits:
    ids = np.fromiter(index.ids, dtype=np.uint64)
    scores = np.asarray(index.get_vectors(ids.tolist()), dtype=np.float32) @ unit
    top = np.argsort(-scores, kind="stable")[:n]
    return ids[top].tolist(), scores[top].astype(np.float64).tolist()
