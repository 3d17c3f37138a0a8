"""AnnoyVectorIndex passes the VectorIndex contract, and keeps what only it promises."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reclio.config import VectorConfig
from reclio.domain import ItemRef
from reclio.errors import DecodeError
from reclio.ports import VectorIndex
from reclio.testing.contracts.vectors import VectorIndexContract, clustered_vectors

pytest.importorskip("annoy")

from reclio.adapters.annoy import AnnoyVectorIndex
from reclio.adapters.annoy._index import id_map_path


class TestAnnoyVectorIndex(VectorIndexContract):
    @pytest.fixture
    def index(self) -> VectorIndex:
        return AnnoyVectorIndex(VectorConfig(annoy_trees=10))


def _build(path: Path, *, seed: int = 42, reverse: bool = False) -> AnnoyVectorIndex:
    index = AnnoyVectorIndex(VectorConfig(annoy_trees=10, seed=seed))
    pairs = clustered_vectors()
    index.build(reversed(pairs) if reverse else pairs)
    index.save(path)
    return index


def test_builds_with_one_seed_give_identical_files(tmp_path: Path) -> None:
    """Two builds of the same vectors with the same seed write byte-identical files."""
    _build(tmp_path / "a.ann")
    _build(tmp_path / "b.ann", reverse=True)  # the input order does not matter either
    assert (tmp_path / "a.ann").read_bytes() == (tmp_path / "b.ann").read_bytes()
    assert id_map_path(tmp_path / "a.ann").read_bytes() == (
        id_map_path(tmp_path / "b.ann").read_bytes()
    )


def test_another_seed_gives_another_file(tmp_path: Path) -> None:
    """The seed is what makes builds repeat: another seed grows other trees."""
    _build(tmp_path / "a.ann")
    _build(tmp_path / "b.ann", seed=7)
    assert (tmp_path / "a.ann").read_bytes() != (tmp_path / "b.ann").read_bytes()


def test_load_memory_maps_and_answers_like_the_built_index(tmp_path: Path) -> None:
    """A loaded index gives the same answers as the one that was saved."""
    built = _build(tmp_path / "a.ann")
    loaded = AnnoyVectorIndex(VectorConfig(annoy_trees=10))
    loaded.load(tmp_path / "a.ann")
    assert loaded.dimension == built.dimension == 48
    for ref in (ItemRef.movie(1), ItemRef.tv(502), ItemRef.movie(1995)):
        assert loaded.nearest(ref, k=6) == built.nearest(ref, k=6)


def test_an_id_map_from_another_build_is_refused(tmp_path: Path) -> None:
    """An Annoy file paired with the id map of another build is a DecodeError, not nonsense."""
    _build(tmp_path / "a.ann")
    _build(tmp_path / "b.ann", seed=7)
    id_map_path(tmp_path / "b.ann").replace(id_map_path(tmp_path / "a.ann"))
    with pytest.raises(DecodeError, match="different builds"):
        AnnoyVectorIndex().load(tmp_path / "a.ann")


def test_a_reader_keeps_its_mapped_file_when_it_is_replaced(tmp_path: Path) -> None:
    """Saving a new index over the file a reader mapped leaves the reader's answers intact."""
    path = tmp_path / "a.ann"
    _build(path)
    reader = AnnoyVectorIndex()
    reader.load(path)
    before = reader.nearest(ItemRef.movie(1), k=4)
    small = AnnoyVectorIndex()
    small.build([(ItemRef.tv(n), np.ones(48, np.float32)) for n in (1, 2)])
    small.save(path)
    path.unlink()
    assert reader.nearest(ItemRef.movie(1), k=4) == before
    assert len(reader) == 1000


def test_search_k_zero_means_annoys_default() -> None:
    """annoy_search_k=0 still answers (Annoy then inspects n_trees * n candidates)."""
    index = AnnoyVectorIndex(VectorConfig(annoy_trees=10, annoy_search_k=0))
    index.build(clustered_vectors())
    assert len(index.nearest(ItemRef.movie(1), k=4)) == 4
