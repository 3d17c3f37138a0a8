"""The VectorIndex contract: what every vector index must do, as a pytest suite.

Subclass `VectorIndexContract` and override ``index`` with a fresh, empty index. The
data is synthetic with a constructed answer, so even an approximate index must find it:
`synthetic_vectors` gives each vector exactly one close neighbour, and `clustered_vectors`
hides a few hundred tight clusters in a higher-dimensional space::

    class TestMyIndex(VectorIndexContract):
        @pytest.fixture
        def index(self) -> VectorIndex: ...

Stability: testing (may change between minor versions).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from reclio.domain import ItemRef, MediaType, Vector
from reclio.errors import DecodeError, SourceUnavailable
from reclio.ports import VectorIndex

__all__ = ["VectorIndexContract", "clustered_vectors", "synthetic_vectors"]

DIMENSION = 16


def _basis(axis: int, *, tilt: float = 0.0, tilt_axis: int | None = None) -> Vector:
    vector = np.zeros(DIMENSION, dtype=np.float32)
    vector[axis] = 1.0
    if tilt_axis is not None:
        vector[tilt_axis] = tilt
    return vector


def synthetic_vectors() -> list[tuple[ItemRef, Vector]]:
    """Pairs of vectors with a known nearest neighbour.

    For each ``i`` in 0..7: ``movie_{i+1}`` lies on axis ``i``, ``tv_{i+1}`` on axis ``i``
    tilted slightly towards axis ``i + 8``, and ``movie_{i+101}`` on axis ``i`` tilted
    further. So the nearest neighbour of ``movie_{i+1}`` is ``tv_{i+1}`` (cosine ~0.995),
    then ``movie_{i+101}`` (~0.95); everything else is orthogonal (cosine 0).
    """
    pairs: list[tuple[ItemRef, Vector]] = []
    for i in range(8):
        pairs.append((ItemRef.movie(i + 1), _basis(i)))
        pairs.append((ItemRef.tv(i + 1), _basis(i, tilt=0.1, tilt_axis=i + 8)))
        pairs.append((ItemRef.movie(i + 101), _basis(i, tilt=0.33, tilt_axis=i + 8)))
    return pairs


CLUSTERS = 200
CLUSTER_SIZE = 5


def clustered_vectors(*, dimension: int = 48, seed: int = 7) -> list[tuple[ItemRef, Vector]]:
    """``CLUSTERS`` tight clusters of ``CLUSTER_SIZE`` vectors around random centres.

    Member ``j`` of cluster ``c`` is ``movie_{c*10+j+1}`` for even ``j`` and
    ``tv_{c*10+j+1}`` for odd ``j``. Members lie within cosine ~0.99 of their centre and
    centres are nearly orthogonal (cosine ~0.15 in 48 dimensions), so every member's four
    nearest neighbours are its cluster mates.
    """
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((CLUSTERS, dimension))
    pairs: list[tuple[ItemRef, Vector]] = []
    for c in range(CLUSTERS):
        centre = centres[c] / np.linalg.norm(centres[c])
        for j in range(CLUSTER_SIZE):
            member = centre + rng.standard_normal(dimension) * (0.1 / math.sqrt(dimension))
            number = c * 10 + j + 1
            ref = ItemRef.movie(number) if j % 2 == 0 else ItemRef.tv(number)
            pairs.append((ref, member.astype(np.float32)))
    return pairs


def _mates(ref: ItemRef) -> set[ItemRef]:
    cluster = (ref.tmdb_id - 1) // 10
    return {
        ItemRef.movie(cluster * 10 + j + 1) if j % 2 == 0 else ItemRef.tv(cluster * 10 + j + 1)
        for j in range(CLUSTER_SIZE)
    } - {ref}


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

    def test_empty_save_load_round_trip(self, index: VectorIndex, tmp_path: Path) -> None:
        """An empty index saves and loads as an empty index."""
        path = tmp_path / "empty.bin"
        index.save(path)
        index.load(path)
        assert len(index) == 0
        assert list(index.nearest(ItemRef.movie(1), k=3)) == []

    def test_save_replaces_atomically(self, built: VectorIndex, tmp_path: Path) -> None:
        """Saving over an index leaves the new one and no temporary files behind."""
        path = tmp_path / "index.bin"
        built.save(path)
        built.build([(ItemRef.tv(50), _basis(0)), (ItemRef.tv(51), _basis(1))])
        built.save(path)
        assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        built.build([])
        built.load(path)
        assert len(built) == 2

    def test_load_missing_file_is_unavailable(self, index: VectorIndex, tmp_path: Path) -> None:
        """Loading a file that does not exist is a SourceUnavailable naming the path."""
        with pytest.raises(SourceUnavailable, match=r"missing\.bin"):
            index.load(tmp_path / "missing.bin")

    def test_load_garbage_is_decode_error(self, built: VectorIndex, tmp_path: Path) -> None:
        """Loading a file that is not an index is a DecodeError; the index is unchanged."""
        path = tmp_path / "garbage.bin"
        built.save(path)
        for written in tmp_path.iterdir():
            written.write_bytes(b"not an index at all" * 100)
        with pytest.raises(DecodeError):
            built.load(path)
        assert len(built) == len(synthetic_vectors())

    def test_mixed_dimensions_are_refused(self, index: VectorIndex) -> None:
        """Vectors of different lengths cannot share an index: a ValueError saying so."""
        mixed = [(ItemRef.movie(1), _basis(0)), (ItemRef.movie(2), np.ones(4, np.float32))]
        with pytest.raises(ValueError, match="one dimension"):
            index.build(mixed)

    def test_query_of_another_dimension_is_refused(self, built: VectorIndex) -> None:
        """A query vector of the wrong length is a ValueError naming both dimensions."""
        with pytest.raises(ValueError, match=r"dimension 4 .* 16-dimensional"):
            built.nearest(np.ones(4, dtype=np.float32), k=1)

    def test_zero_query_is_empty(self, built: VectorIndex) -> None:
        """A zero query vector has no direction: nothing is near it."""
        assert list(built.nearest(np.zeros(DIMENSION, dtype=np.float32), k=3)) == []

    def test_ref_given_twice_keeps_its_last_vector(self, index: VectorIndex) -> None:
        """Building with a ref twice keeps the later vector."""
        index.build(
            [
                (ItemRef.movie(1), _basis(0)),
                (ItemRef.movie(2), _basis(1)),
                (ItemRef.movie(1), _basis(2)),
                (ItemRef.movie(3), _basis(2, tilt=0.1, tilt_axis=3)),
            ]
        )
        assert len(index) == 3
        assert _refs(index.nearest(ItemRef.movie(1), k=1)) == [ItemRef.movie(3)]

    def test_clusters_are_found(self, index: VectorIndex) -> None:
        """Every sampled member's four nearest neighbours are its cluster mates, best first."""
        index.build(clustered_vectors())
        for ref, _ in clustered_vectors()[::37]:
            result = index.nearest(ref, k=4)
            assert set(_refs(result)) == _mates(ref), ref
            scores = [score for _, score in result]
            assert scores == sorted(scores, reverse=True)
            assert scores[-1] > 0.9

    def test_filters_still_fill_k(self, index: VectorIndex) -> None:
        """Media-type and exclude filters never starve the result: k hits that pass them."""
        pairs = clustered_vectors()
        index.build(pairs)
        query = ItemRef.movie(1)
        excluded = {ref for ref, _ in pairs[5:400] if ref.media_type is MediaType.TV}
        result = index.nearest(query, k=30, media_type=MediaType.TV, exclude=excluded)
        assert len(result) == 30
        assert all(ref.media_type is MediaType.TV for ref in _refs(result))
        assert not set(_refs(result)) & excluded
        assert set(_refs(result)[:2]) == {ItemRef.tv(2), ItemRef.tv(4)}

    def test_by_vector_agrees_with_by_ref(self, index: VectorIndex) -> None:
        """A query by a stored vector finds what the query by its ref finds, plus the ref."""
        pairs = clustered_vectors()
        index.build(pairs)
        ref, vector = pairs[123]
        by_vector = _refs(index.nearest(vector, k=5))
        assert by_vector[0] == ref
        assert set(by_vector[1:]) == set(_refs(index.nearest(ref, k=4)))
