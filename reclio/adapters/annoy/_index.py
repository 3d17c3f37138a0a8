"""`AnnoyVectorIndex`: Spotify's Annoy trees, angular metric, memory-mapped from one file."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import Final

import attrs
import numpy as np

from reclio.adapters._vectors import (
    Hits,
    approximate_nearest,
    atomic_write,
    collect,
    fingerprint,
    media_codes,
    refs_from_codes,
    translate,
)
from reclio.domain import ItemRef, MediaType, Vector
from reclio.errors import DecodeError
from reclio.ports import VectorIndex
from reclio.settings import VectorConfig

try:
    import annoy
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    msg = "reclio.adapters.annoy needs Annoy: pip install 'reclio[annoy]' (compiles C++)"
    raise ImportError(msg) from exc

_SERVICE: Final = "annoy"
_FORMAT: Final = 1
"""Version of the id-map file; a file of another version is a DecodeError."""


def id_map_path(path: Path) -> Path:
    """Where the ItemRef-to-row map of the index at ``path`` lives: ``<path>.ids``."""
    return Path(path).with_name(Path(path).name + ".ids")


@attrs.frozen
class _Built:
    """One build: swapped in whole, so a query never mixes two."""

    annoy: annoy.AnnoyIndex | None
    refs: list[ItemRef]
    row: dict[ItemRef, int]
    dimension: int


_EMPTY: Final = _Built(None, [], {}, 0)


class AnnoyVectorIndex(VectorIndex):
    """**VectorIndex** on Annoy (extra ``reclio[annoy]``): random-projection trees.

    Cosine similarity through Annoy's angular metric. Builds are deterministic: rows are
    added in ref order, the seed is ``config.seed`` and one thread builds, so equal inputs
    give byte-identical files. `save` writes the Annoy file and, beside it, the id map
    (``<path>.ids``: the ref of every row, the dimension and a fingerprint of the Annoy
    file), each to a temporary file renamed into place. `load` memory-maps the file: it
    takes milliseconds whatever the size, and every process that loads one file shares
    its pages.

    Annoy returns neighbours before filters apply, so a query asks for one more
    neighbour per excluded ref the index holds, ``config.overfetch`` times as many under a
    media-type filter, and asks again for more until the filters leave ``k``.

    Measured on 50,000 MiniLM vectors (docs/vectors.md), Annoy needs nearly every item as
    a candidate to reach recall@10 of 0.98, so the default ``annoy_search_k`` trades
    recall for speed; `reclio.adapters.voyager.VoyagerVectorIndex` does better on both.

    Stability: caller-stable; implementer: internal.

    Args:
        config: ``seed``, ``overfetch``, ``annoy_trees``, ``annoy_search_k``.
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
            self._install(None, [], 0)
            return
        dimension = int(matrix.shape[1])
        index = annoy.AnnoyIndex(dimension, "angular")
        index.set_seed(self._config.seed)
        for row, vector in enumerate(matrix.tolist()):
            index.add_item(row, vector)
        # One thread: Annoy's threads interleave nodes in finishing order (a different file
        # every build).
        index.build(self._config.annoy_trees, n_jobs=1)
        self._install(index, refs, dimension)

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
        index = built.annoy
        if index is None:
            return []
        trees = self._config.annoy_trees

        def stored(ref: ItemRef) -> Vector | None:
            row = built.row.get(ref)
            return None if row is None else np.asarray(index.get_item_vector(row), np.float32)

        def search(unit: Vector, n: int) -> Hits:
            # Annoy inspects search_k candidates; never fewer than its own default for n.
            search_k = max(self._config.annoy_search_k, n * trees)
            rows, distances = index.get_nns_by_vector(
                unit.tolist(), n, search_k, include_distances=True
            )
            # Angular distance is sqrt(2 - 2 cos).
            return rows, [1.0 - d * d / 2.0 for d in distances]

        return approximate_nearest(
            query,
            k=k,
            media_type=media_type,
            exclude=exclude,
            stored=stored,
            holds=built.row,
            size=len(built.refs),
            dimension=built.dimension,
            search=search,
            decode=built.refs.__getitem__,
            overfetch=self._config.overfetch,
        )

    def __len__(self) -> int:
        return len(self._built.refs)

    @property
    def dimension(self) -> int:
        """Length of the vectors held (0 when empty)."""
        return self._built.dimension

    def save(self, path: Path) -> None:
        """Write the Annoy file to ``path`` and the id map to ``<path>.ids``, atomically each.

        Raises:
            SourceUnavailable: a file could not be written.
        """
        path = Path(path)
        with translate(_SERVICE, "save", path):
            built = self._built
            index = built.annoy
            if index is not None:
                atomic_write(path, lambda target: index.save(str(target)))
            else:
                atomic_write(path, lambda target: target.write_bytes(b""))
            refs = built.refs
            header = np.array(
                [_FORMAT, built.dimension, self._config.annoy_trees, self._config.seed],
                dtype=np.int64,
            )
            digest = np.frombuffer(fingerprint(path).encode(), dtype=np.uint8)

            def write_ids(target: Path) -> None:
                with target.open("wb") as handle:
                    np.savez(
                        handle,
                        header=header,
                        media=media_codes(refs),
                        tmdb_ids=np.array([r.tmdb_id for r in refs], dtype=np.int64),
                        fingerprint=digest,
                    )

            atomic_write(id_map_path(path), write_ids)

    def load(self, path: Path) -> None:
        """Memory-map the index saved at ``path`` (with its id map) in place of this one.

        Raises:
            SourceUnavailable: a file is missing or unreadable.
            DecodeError: the files are not an Annoy index this class wrote, or the id map
                belongs to another build of the index.
        """
        path = Path(path)
        ids = id_map_path(path)
        with translate(_SERVICE, "load", ids), np.load(ids, allow_pickle=False) as data:
            header = [int(x) for x in np.asarray(data["header"]).tolist()]
            refs = refs_from_codes(
                np.asarray(data["media"], dtype=np.uint8),
                np.asarray(data["tmdb_ids"], dtype=np.int64),
            )
            expected = bytes(np.asarray(data["fingerprint"], dtype=np.uint8)).decode()
            if header[0] != _FORMAT:
                msg = f"id map format {header[0]}, expected {_FORMAT}"
                raise ValueError(msg)
        dimension = header[1]
        with translate(_SERVICE, "load", path):
            actual = fingerprint(path)
        if actual != expected:
            msg = f"{path} and {ids} come from different builds: publish the index again"
            raise DecodeError(msg, service=_SERVICE, operation="load")
        if not refs:
            self._install(None, [], 0)
            return
        index = annoy.AnnoyIndex(dimension, "angular")
        try:
            index.load(str(path))
        except OSError as exc:  # Annoy's words for "not an index of this dimension"
            msg = f"{path} is not a {dimension}-dimensional Annoy index: {exc}"
            raise DecodeError(msg, service=_SERVICE, operation="load") from exc
        held = index.get_n_items()
        if held != len(refs):
            index.unload()
            msg = f"{path} holds {held} items, its id map {len(refs)}"
            raise DecodeError(msg, service=_SERVICE, operation="load")
        self._install(index, refs, dimension)

    def _install(self, index: annoy.AnnoyIndex | None, refs: list[ItemRef], dimension: int) -> None:
        # Built aside, swapped in by one assignment: a query running meanwhile keeps the old
        # build (it holds a reference), and Annoy unmaps a file only when it is collected.
        self._built = _Built(index, refs, {ref: i for i, ref in enumerate(refs)}, dimension)
