"""Choose the embedder and the vector index from configuration (for the composition root).

`index_kind` turns a `VectorConfig` into the factory of empty indexes and the kind name
its published files carry; `make_embedder` turns an `EmbeddingConfig` into an embedder.
Each imports its optional dependency only when that backend is chosen, and says which
extra to install when it is missing.

Stability: caller-stable.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import attrs

from reclio.errors import ConfigurationError
from reclio.ports import Embedder, VectorIndex
from reclio.settings import EmbeddingConfig, VectorConfig

__all__ = ["IndexKind", "index_kind", "make_embedder"]


@attrs.frozen
class IndexKind:
    """A configured kind of vector index.

    Attributes:
        name: The stem of its published files: the backend and a digest of the parameters
            the file depends on (a changed parameter is a new kind: the next content sync
            publishes a fresh file instead of serving one built otherwise).
        make: Makes an empty index of this kind.
    """

    name: str
    make: Callable[[], VectorIndex]


def index_kind(config: VectorConfig) -> IndexKind:
    """The index ``config.backend`` selects, with its parameters.

    Raises:
        ConfigurationError: the backend's extra is not installed.
    """
    make: Callable[[], VectorIndex]
    if config.backend == "annoy":
        try:
            from reclio.adapters.annoy import AnnoyVectorIndex  # noqa: PLC0415 - optional
        except ImportError as exc:
            raise ConfigurationError(f"RECLIO_VECTOR_INDEX=annoy: {exc}") from exc

        def make() -> VectorIndex:
            return AnnoyVectorIndex(config)

        shape: dict[str, object] = {"trees": config.annoy_trees, "seed": config.seed}
    elif config.backend == "voyager":
        try:
            from reclio.adapters.voyager import VoyagerVectorIndex  # noqa: PLC0415 - optional
        except ImportError as exc:
            raise ConfigurationError(f"RECLIO_VECTOR_INDEX=voyager: {exc}") from exc

        def make() -> VectorIndex:
            return VoyagerVectorIndex(config)

        shape = {
            "m": config.voyager_m,
            "ef_construction": config.voyager_ef_construction,
            "seed": config.seed,
        }
    else:
        from reclio.adapters.memory import ExactVectorIndex  # noqa: PLC0415 - pulls numpy

        make = ExactVectorIndex
        shape = {}
    digest = hashlib.blake2b(json.dumps(shape, sort_keys=True).encode(), digest_size=4)
    return IndexKind(f"{config.backend}-{digest.hexdigest()}", make)


def make_embedder(config: EmbeddingConfig) -> Embedder:
    """The sentence-transformers embedder when ``config.model`` is set, else hashing.

    Raises:
        ConfigurationError: a model is configured but sentence-transformers is missing.
    """
    if config.model is None:
        from reclio.adapters.memory import HashingEmbedder  # noqa: PLC0415 - pulls numpy

        return HashingEmbedder()
    from reclio.adapters.sentence_transformers import (  # noqa: PLC0415 - optional
        SentenceTransformerEmbedder,
    )

    return SentenceTransformerEmbedder(config)
