"""The Embedder contract: what every embedder must do, as a pytest suite.

Subclass `EmbedderContract` and override ``embedder``::

    class TestMyEmbedder(EmbedderContract):
        @pytest.fixture
        def embedder(self) -> Embedder: ...

Stability: testing (may change between minor versions).
"""

from __future__ import annotations

import numpy as np
import pytest

from reclio.ports import Embedder

__all__ = ["EmbedderContract"]

_TEXTS = (
    "The Haunting. Horror. A family moves into a haunted house where a ghost stalks them.",
    "Haunted Manor. Horror. A ghost haunts the family in their old haunted house at night.",
    "Galaxy Raiders. Science Fiction. Space pilots battle an alien fleet across the galaxy.",
    "Love in Paris. Romance, Comedy. Two strangers fall in love during a summer in Paris.",
)


class EmbedderContract:
    """Behaviour every `Embedder` must have."""

    @pytest.fixture
    def embedder(self) -> Embedder:
        """The embedder under test; subclasses must override this."""
        raise NotImplementedError

    @pytest.mark.anyio
    async def test_shape_and_dtype(self, embedder: Embedder) -> None:
        """One float32 row of the embedder's dimension per text, in order."""
        vectors = await embedder.embed(list(_TEXTS))
        assert vectors.shape == (len(_TEXTS), embedder.dimension)
        assert vectors.dtype == np.float32

    @pytest.mark.anyio
    async def test_unit_length(self, embedder: Embedder) -> None:
        """Every row has unit length, including the row of an empty text."""
        vectors = await embedder.embed([*_TEXTS, "", "!!!"])
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)

    @pytest.mark.anyio
    async def test_identity_is_stable(self, embedder: Embedder) -> None:
        """A non-empty identity that embedding does not change (content sync keys on it)."""
        before = embedder.identity
        assert isinstance(before, str)
        assert before.strip()
        await embedder.embed(list(_TEXTS))
        assert embedder.identity == before

    @pytest.mark.anyio
    async def test_empty_batch(self, embedder: Embedder) -> None:
        """No texts give a 0-row matrix of the right width."""
        vectors = await embedder.embed([])
        assert vectors.shape == (0, embedder.dimension)

    @pytest.mark.anyio
    async def test_deterministic(self, embedder: Embedder) -> None:
        """The same text gives the same vector, alone or in a batch."""
        batch = await embedder.embed(list(_TEXTS))
        alone = await embedder.embed([_TEXTS[2]])
        assert np.allclose(batch[2], alone[0], atol=1e-5)

    @pytest.mark.anyio
    async def test_similar_texts_are_closer(self, embedder: Embedder) -> None:
        """Two haunted-house stories are closer to each other than to space or romance."""
        vectors = await embedder.embed(list(_TEXTS))
        similarity = vectors @ vectors.T
        assert similarity[0, 1] > similarity[0, 2]
        assert similarity[0, 1] > similarity[0, 3]
