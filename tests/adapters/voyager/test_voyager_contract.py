"""VoyagerVectorIndex passes the VectorIndex contract, and keeps what only it promises."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reclio.config import VectorConfig
from reclio.domain import ItemRef, MediaType
from reclio.ports import VectorIndex
from reclio.testing.contracts.vectors import VectorIndexContract, clustered_vectors

pytest.importorskip("voyager")

from reclio.adapters.voyager import VoyagerVectorIndex
from reclio.adapters.voyager._index import label, ref_of


class TestVoyagerVectorIndex(VectorIndexContract):
    @pytest.fixture
    def index(self) -> VectorIndex:
        return VoyagerVectorIndex(VectorConfig(voyager_ef_construction=100))


@given(media=st.sampled_from(MediaType), tmdb_id=st.integers(1, 10**10 - 1))
def test_labels_round_trip(media: MediaType, tmdb_id: int) -> None:
    """Every ref has a voyager id that decodes back to it."""
    ref = ItemRef(media, tmdb_id)
    assert ref_of(label(ref)) == ref


def test_builds_with_one_seed_give_identical_files(tmp_path: Path) -> None:
    """Two builds of the same vectors with the same seed write byte-identical files."""
    for name, pairs in (("a", clustered_vectors()), ("b", clustered_vectors()[::-1])):
        index = VoyagerVectorIndex()
        index.build(pairs)
        index.save(tmp_path / name)
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes()


def test_a_query_for_every_item_still_answers() -> None:
    """Asking for more neighbours than the graph reaches falls back to scoring everything."""
    index = VoyagerVectorIndex(VectorConfig(voyager_m=2, voyager_ef_construction=4))
    index.build(clustered_vectors()[:60])
    result = index.nearest(ItemRef.movie(1), k=59)
    assert len(result) == 59
    assert ItemRef.movie(1) not in {ref for ref, _ in result}
