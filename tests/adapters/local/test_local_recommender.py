"""What is particular to LocalRecommender: refits, signed ratings, persistence, algorithms."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from reclio.adapters import local
from reclio.adapters.local import LocalRecommender, LocalRecommenderConfig
from reclio.adapters.local._model import _ease_inverse_dual, _ease_inverse_primal, fit_itemknn
from reclio.domain import Interaction, ItemRef, MediaType
from reclio.errors import DecodeError
from reclio.testing.contracts.recommender import checkerboard

AT = datetime(2024, 6, 1, tzinfo=UTC)


async def loaded(config: LocalRecommenderConfig | None = None) -> LocalRecommender:
    board = checkerboard()
    recommender = LocalRecommender(config)
    await recommender.upsert_items(board.titles)
    await recommender.add_interactions(board.interactions)
    return recommender


def test_package_exports_only_the_recommender_and_config() -> None:
    """The package's public names are exactly the recommender and its configuration."""
    assert sorted(local.__all__) == ["LocalRecommender", "LocalRecommenderConfig"]


def test_import_reclio_does_not_import_numpy() -> None:
    """``import reclio`` leaves numpy and scipy unloaded."""
    code = "import sys, reclio; print('numpy' in sys.modules or 'scipy' in sys.modules)"
    # A fresh interpreter: this test process has numpy loaded already.
    result = subprocess.run(  # noqa: S603 - our own interpreter and a constant script
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


@pytest.mark.anyio
async def test_lazy_fit_on_first_recommend() -> None:
    """The first recommend fits the model; EASE is chosen for a small catalog."""
    recommender = await loaded()
    assert recommender.algorithm is None
    await recommender.recommend("a0", media_type=MediaType.MOVIE, count=3)
    assert recommender.algorithm == "ease"


@pytest.mark.anyio
async def test_auto_switches_to_itemknn_past_the_dense_limit() -> None:
    """With more interacted titles than ``ease_max_items``, auto fits item-kNN."""
    recommender = await loaded(LocalRecommenderConfig(ease_max_items=5))
    await recommender.fit()
    assert recommender.algorithm == "itemknn"


@pytest.mark.anyio
async def test_new_interactions_count_without_refit() -> None:
    """A user's new interaction changes their picks at once, before any refit."""
    recommender = await loaded(LocalRecommenderConfig(refit_fraction=10.0))
    await recommender.fit()
    withheld = checkerboard().withheld["a1"]
    await recommender.add_interactions([Interaction.view("a1", withheld, AT)])
    picks = await recommender.recommend("a1", media_type=MediaType.MOVIE, count=20)
    assert withheld not in picks


@pytest.mark.anyio
async def test_cold_start_follows_popularity() -> None:
    """A user with no history gets the titles most users interacted with."""
    recommender = LocalRecommender()
    everyone = [f"u{n}" for n in range(5)]
    await recommender.add_interactions(
        [Interaction.view(user, ItemRef.movie(7), AT) for user in everyone]
        + [Interaction.view(user, ItemRef.movie(8), AT) for user in everyone[:3]]
        + [Interaction.view("u0", ItemRef.movie(9), AT)]
    )
    picks = await recommender.recommend("new", media_type=MediaType.MOVIE, count=3)
    assert picks == [ItemRef.movie(7), ItemRef.movie(8), ItemRef.movie(9)]


@pytest.mark.anyio
async def test_full_count_when_the_catalog_allows() -> None:
    """Recommend returns ``count`` titles whenever that many unseen ones exist."""
    recommender = await loaded()
    picks = await recommender.recommend("a0", media_type=MediaType.MOVIE, count=10)
    # 19 movies in the catalog, 7 seen by a0: 12 remain.
    assert len(picks) == 10
    assert len(await recommender.recommend("a0", media_type=MediaType.MOVIE, count=50)) == 12


@pytest.mark.anyio
async def test_negative_rating_pushes_similar_titles_away() -> None:
    """A 1/10 rating ranks the disliked title's block below titles the user never met."""
    config = LocalRecommenderConfig(rating_influence=1.5, recency_half_life=None)
    recommender = await loaded(config)
    board = checkerboard()
    disliked = board.blocks["a"][0]
    await recommender.add_interactions([Interaction.rating("critic", disliked, 1, AT)])
    picks = await recommender.recommend("critic", media_type=MediaType.MOVIE, count=40)
    positions = {ref: n for n, ref in enumerate(picks)}
    block_a = [r for r in board.blocks["a"] if r in positions]
    loners = [ItemRef.movie(n) for n in (90, 91, 92)]
    assert min(positions[r] for r in loners) < min(positions[r] for r in block_a)
    assert max(positions[r] for r in block_a) == len(picks) - 1


@pytest.mark.anyio
async def test_positive_rating_pulls_similar_titles_in() -> None:
    """A 10/10 rating puts the liked title's block first."""
    recommender = await loaded()
    board = checkerboard()
    await recommender.add_interactions([Interaction.rating("fan", board.blocks["b"][0], 10, AT)])
    picks = await recommender.recommend("fan", media_type=MediaType.MOVIE, count=5)
    assert all(board.group_of(ref) == "b" for ref in picks)


@pytest.mark.anyio
async def test_recency_prefers_the_newest_taste() -> None:
    """With recency, a user who moved from block a to block b gets block b first."""
    recommender = await loaded(LocalRecommenderConfig(recency_half_life=1.0))
    board = checkerboard()
    old = [Interaction.view("mover", ref, AT) for ref in board.blocks["a"][:3]]
    new = [Interaction.view("mover", ref, AT + timedelta(days=1)) for ref in board.blocks["b"][:2]]
    await recommender.add_interactions(old + new)
    picks = await recommender.recommend("mover", media_type=MediaType.MOVIE, count=1)
    assert board.group_of(picks[0]) == "b"


@pytest.mark.anyio
async def test_stale_model_refits_lazily() -> None:
    """Once interactions grow past ``refit_fraction``, the next recommend refits."""
    recommender = LocalRecommender(LocalRecommenderConfig(refit_fraction=0.5))
    await recommender.add_interactions(
        [Interaction.view(f"u{n}", ItemRef.movie(1), AT) for n in range(4)]
    )
    assert await recommender.similar(ItemRef.movie(2), count=3) == []
    await recommender.add_interactions(
        [Interaction.view(f"u{n}", ItemRef.movie(2), AT) for n in range(4)]
    )
    assert await recommender.similar(ItemRef.movie(2), count=3) == [ItemRef.movie(1)]


@pytest.mark.anyio
async def test_similar_of_unknown_anchor_is_empty() -> None:
    """An anchor the recommender never saw has no neighbours."""
    recommender = await loaded()
    assert await recommender.similar(ItemRef.movie(4242), count=5) == []


@pytest.mark.anyio
@pytest.mark.parametrize("algorithm", ["ease", "itemknn"])
async def test_save_and_load_round_trip(tmp_path: Path, algorithm: str) -> None:
    """A loaded recommender answers exactly as the saved one, without refitting."""
    recommender = await loaded(LocalRecommenderConfig(algorithm=algorithm))  # type: ignore[arg-type]
    await recommender.fit()
    recommender.save(tmp_path / "model")
    restored = LocalRecommender.load(tmp_path / "model")
    assert restored.algorithm == algorithm
    assert restored.config == recommender.config
    for user in ("a0", "b3", "nobody"):
        for media_type in MediaType:
            assert await restored.recommend(
                user, media_type=media_type, count=6
            ) == await recommender.recommend(user, media_type=media_type, count=6)
    anchor = checkerboard().blocks["a"][1]
    assert await restored.similar(anchor, count=4) == await recommender.similar(anchor, count=4)


@pytest.mark.anyio
async def test_save_before_fit_loads_unfitted(tmp_path: Path) -> None:
    """Saving an unfitted recommender keeps its data; the loaded one fits on demand."""
    recommender = await loaded()
    recommender.save(tmp_path)
    restored = LocalRecommender.load(tmp_path)
    assert restored.algorithm is None
    picks = await restored.recommend("a5", media_type=MediaType.MOVIE, count=1)
    assert picks == [checkerboard().withheld["a5"]]


def test_load_missing_folder_raises_file_not_found(tmp_path: Path) -> None:
    """Loading from an empty folder is a FileNotFoundError."""
    with pytest.raises(FileNotFoundError):
        LocalRecommender.load(tmp_path)


@pytest.mark.anyio
async def test_load_mismatched_files_is_a_decode_error(tmp_path: Path) -> None:
    """state.json and arrays.npz from two different saves are refused."""
    recommender = await loaded()
    recommender.save(tmp_path / "one")
    recommender.save(tmp_path / "two")
    (tmp_path / "two" / "arrays.npz").replace(tmp_path / "one" / "arrays.npz")
    with pytest.raises(DecodeError):
        LocalRecommender.load(tmp_path / "one")


def test_load_garbage_is_a_decode_error(tmp_path: Path) -> None:
    """Files that are not a save are a DecodeError."""
    (tmp_path / "state.json").write_text("{not json")
    (tmp_path / "arrays.npz").write_bytes(b"nope")
    with pytest.raises(DecodeError):
        LocalRecommender.load(tmp_path)


def test_ease_dual_equals_primal() -> None:
    """The Woodbury (users-side) EASE inverse equals the direct one."""
    rng = np.random.default_rng(0)
    matrix = sp.csr_matrix((rng.random((15, 40)) < 0.3).astype(np.float32))
    primal = _ease_inverse_primal(matrix, 5.0)
    dual = _ease_inverse_dual(matrix, 5.0)
    np.testing.assert_allclose(primal, dual, atol=1e-5)


def test_itemknn_keeps_at_most_k_neighbours_with_shrunk_cosine() -> None:
    """item-kNN keeps ``neighbors`` per item, with cosine / (norms + shrinkage)."""
    matrix = sp.csr_matrix(
        np.array([[1, 1, 0, 1], [1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]], dtype=np.float32)
    )
    model = fit_itemknn(matrix, neighbors=1, shrinkage=1.0)
    assert model.sparse is not None
    dense = model.sparse.toarray()
    assert ((dense != 0).sum(axis=0) <= 1).all()
    # items 0 and 1 share 2 users; norms sqrt(2) and sqrt(3): 2 / (sqrt(6) + 1)
    assert dense[1, 0] == pytest.approx(2 / (np.sqrt(6) + 1), rel=1e-5)
