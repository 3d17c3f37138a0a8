"""A model-free Embedder: signed feature hashing of word unigrams and bigrams."""

from __future__ import annotations

import functools
import hashlib
import itertools
import re
from collections.abc import Sequence
from typing import Final

import numpy as np

from reclio.domain import Vector
from reclio.ports import Embedder

_WORD: Final = re.compile(r"\w+")

# Words that carry no topic: dropping them keeps "a story of love" near "love story".
# (Formatting is off so the list stays a paragraph rather than 37 lines.)
# fmt: off
_STOP_WORDS: Final = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "has", "have", "he",
    "her", "his", "in", "is", "it", "its", "of", "on", "or", "she", "that", "the", "their",
    "them", "they", "this", "to", "was", "were", "when", "who", "will", "with",
})
# fmt: on

_EMPTY: Final = "\x00empty"
"""The one feature of a text without words, so every row still has unit length."""


class HashingEmbedder(Embedder):
    """**Embedder** without a model: texts sharing words get nearby vectors.

    Each lower-cased word (stop words dropped) and each pair of adjacent words is hashed
    with BLAKE2b into one of ``dimension`` buckets with a hash-derived sign (the "hashing
    trick"); rows are then L2-normalized. Deterministic across processes and machines
    (no use of `hash`), needs nothing but NumPy, and gives real neighbours for titles
    whose overviews share vocabulary. It knows no synonyms: use the sentence-transformers
    embedder (extra ``reclio[embeddings]``) when that matters.

    Stability: caller-stable; vectors may change between minor versions (re-embed then).

    Args:
        dimension: Buckets per vector (default 256).
    """

    def __init__(self, dimension: int = 256) -> None:
        if dimension < 2:  # noqa: PLR2004 - one bucket cannot tell texts apart
            msg = f"dimension must be at least 2, got {dimension}"
            raise ValueError(msg)
        self._dimension = dimension

    @property
    def dimension(self) -> int:
        """Length of every vector."""
        return self._dimension

    @property
    def identity(self) -> str:
        """``reclio-hashing-v1/{dimension}``: a new dimension (or algorithm) re-embeds."""
        return f"reclio-hashing-v1/{self._dimension}"

    async def embed(self, texts: Sequence[str]) -> Vector:
        """One unit-length float32 row per text, in order (runs inline: microseconds a text)."""
        return self.embed_sync(texts)

    def embed_sync(self, texts: Sequence[str]) -> Vector:
        """The same as `embed`, for callers outside an event loop."""
        matrix = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for feature in _features(text):
                bucket, sign = _bucket(feature, self._dimension)
                matrix[row, bucket] += sign
        norms = np.linalg.norm(matrix, axis=1)
        for row in np.flatnonzero(norms == 0).tolist():
            # Signed collisions cancelled everything (vanishingly rare): fall back to the
            # empty-text feature so the row still has unit length.
            bucket, sign = _bucket(_EMPTY, self._dimension)
            matrix[row, bucket] = sign
            norms[row] = 1.0
        matrix /= norms[:, np.newaxis]
        return matrix


def _features(text: str) -> list[str]:
    words = [w for w in _WORD.findall(text.lower()) if w not in _STOP_WORDS]
    if not words:
        return [_EMPTY]
    return words + [f"{a} {b}" for a, b in itertools.pairwise(words)]


@functools.lru_cache(maxsize=1 << 16)
def _bucket(feature: str, dimension: int) -> tuple[int, float]:
    digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return (value >> 1) % dimension, 1.0 if value & 1 else -1.0
