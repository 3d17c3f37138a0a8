"""The VectorIndex contract: what every vector index must do, as a pytest suite.

Subclass `VectorIndexContract` and override ``index`` with a fresh, empty index. The
data is synthetic with a constructed answer: each "cluster" vector has exactly one close
neighbour, so even an approximate index must find it::

    class TestMyIndex(VectorIndexContract):
        @pytest.fixture
        def index(self) -> VectorIndex: ...

Stability: testing (may change between minor versions).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import pytest

from reclio.domain import ItemRef, MediaType
from reclio.ports import VectorIndex

__all__ = ["VectorIndexContract", "synthetic_vectors"]

DIMENSION = 16


def _basis(axis: int, *, tilt: float = 0.0, tilt_axis: int | None = None) -> list[float]:
    vector = [0.0] * DIMENSION
    vector[axis] = 1.0
    if tilt_axis is not None:
        vector[tilt_axis] = tilt
    return vector


def synthetic_vectors() -> list[tuple[ItemRef, list[float]]]:
    """Pairs of vectors with a known nearest neighbour.

    For each ``i`` in 0..7: ``movie_{i+1}`` lies on axis ``i``, ``tv_{i+1}`` on axis ``i``
    tilted slightly towards axis ``i + 8``, and ``movie_{i+101}`` on axis ``i`` tilted
    further. So the nearest neighbour of ``movie_{i+1}`` is ``tv_{i+1}`` (cosine ~0.995),
    then ``movie_{i+101}`` (~0.95); everything else is orthogonal (cosine 0).
    """
    pairs: list[tuple[ItemRef, list[float]]] = []
    for i in range(8):
        pairs.append((ItemRef.movie(i + 1), _basis(i)))
        pairs.append((ItemRef.tv(i + 1), _basis(i, tilt=0.1, tilt_axis=i + 8)))
        pairs.append((ItemRef.movie(i + 101), _basis(i, tilt=0.33, tilt_axis=i + 8)))
    return pairs


def _refs(result: Sequence[tuple[ItemRef, float]]) -> list[ItemRef]:
    return [ref for ref, _ in result]


class VectorIndexContract:
    """Behaviour every `VectorIndex` must have."""

    @pytest.fixture
    def index(self) -> VectorIndex:
        """A fresh, empty index; subclasses must override this."""
        raise NotImplementedError

    @pytest.fixture
    def built(self, index: VectorIndex) -> VectorIndex:
        """The index built from `synthetic_vectors`."""
        index.build(synthetic_vectors())
        return index

    def test_len(self, built: VectorIndex) -> None:
        """The index holds every vector it was built from."""
        assert len(built) == len(synthetic_vectors())

    def test_empty_index(self, index: VectorIndex) -> None:
        """An empty index answers every query with nothing."""
        assert len(index) == 0
        assert list(index.nearest(ItemRef.movie(1), k=5)) == []

    def test_nearest_by_ref(self, built: VectorIndex) -> None:
        """The constructed neighbours come first, best first, never the query itself."""
        result = built.nearest(ItemRef.movie(3), k=2)
        assert _refs(result) == [ItemRef.tv(3), ItemRef.movie(103)]
        assert result[0][1] > result[1][1] > 0.9
        assert result[0][1] == pytest.approx(1 / math.sqrt(1.01), abs=1e-3)

    def test_nearest_by_vector(self, built: VectorIndex) -> None:
        """A raw query vector finds the item lying on it, with similarity about 1."""
        result = built.nearest(_basis(5), k=1)
        assert _refs(result) == [ItemRef.movie(6)]
        assert result[0][1] == pytest.approx(1.0, abs=1e-3)

    def test_k_bounds_result(self, built: VectorIndex) -> None:
        """At most k results, in descending similarity."""
        result = built.nearest(ItemRef.movie(1), k=5)
        assert len(result) == 5
        scores = [score for _, score in result]
        assert scores == sorted(scores, reverse=True)

    def test_unknown_ref_is_empty(self, built: VectorIndex) -> None:
        """Querying by a ref the index does not hold yields nothing."""
        assert list(built.nearest(ItemRef.movie(9999), k=3)) == []

    def test_exclude(self, built: VectorIndex) -> None:
        """Excluded refs never appear; the next best takes their place."""
        result = built.nearest(ItemRef.movie(2), k=1, exclude={ItemRef.tv(2)})
        assert _refs(result) == [ItemRef.movie(102)]

    def test_media_type_filter(self, built: VectorIndex) -> None:
        """A media-type filter keeps only that type."""
        movies = built.nearest(ItemRef.movie(4), k=3, media_type=MediaType.MOVIE)
        assert _refs(movies)[0] == ItemRef.movie(104)
        assert all(ref.media_type is MediaType.MOVIE for ref in _refs(movies))
        shows = built.nearest(ItemRef.movie(4), k=3, media_type=MediaType.TV)
        assert _refs(shows)[0] == ItemRef.tv(4)
        assert all(ref.media_type is MediaType.TV for ref in _refs(shows))

    def test_rebuild_replaces(self, built: VectorIndex) -> None:
        """Building again replaces the whole index."""
        built.build([(ItemRef.tv(50), _basis(0)), (ItemRef.tv(51), _basis(1))])
        assert len(built) == 2
        assert list(built.nearest(ItemRef.movie(1), k=3)) == []
        assert _refs(built.nearest(ItemRef.tv(50), k=1)) == [ItemRef.tv(51)]

    def test_save_load_round_trip(self, built: VectorIndex, tmp_path: Path) -> None:
        """An index saved and loaded into a fresh one answers the same queries."""
        path = tmp_path / "index.bin"
        built.save(path)
        built.build([])
        assert len(built) == 0
        built.load(path)
        assert len(built) == len(synthetic_vectors())
        assert _refs(built.nearest(ItemRef.movie(7), k=2)) == [ItemRef.tv(7), ItemRef.movie(107)]
