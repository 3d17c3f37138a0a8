"""`SentenceTransformerEmbedder`: a sentence-transformers model, loaded once per process."""

from __future__ import annotations

import asyncio
import importlib.util
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Final

import attrs
import numpy as np

from reclio.domain import Vector
from reclio.errors import ConfigurationError, SourceUnavailable
from reclio.ports import Embedder
from reclio.settings import DEFAULT_EMBEDDING_MODEL, EmbeddingConfig

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["SentenceTransformerEmbedder"]

_SERVICE: Final = "sentence-transformers"


@attrs.frozen(eq=False)
class _Loaded:
    """A model in memory, with the lock that keeps one batch at a time on it."""

    model: SentenceTransformer
    dimension: int
    device: str
    lock: threading.Lock = attrs.field(factory=threading.Lock)


# The process-wide model cache: a model is hundreds of MB and seconds to load, so every
# embedder of one (model, device) in a process shares one copy. It holds no per-user state.
_MODELS: dict[tuple[str, str | None], _Loaded] = {}
_MODELS_LOCK = threading.Lock()


class SentenceTransformerEmbedder(Embedder):
    """**Embedder** on a sentence-transformers model (extra ``reclio[embeddings]``).

    The model (``config.model``, a hub name or a local folder; default
    ``sentence-transformers/all-MiniLM-L6-v2``, 384 dimensions) loads lazily on first use,
    once per process, on ``config.device`` (``None``: the library picks, so a GPU is used
    when torch sees one). Encoding runs in a worker thread, never on the event loop, one
    batch at a time per model; rows come back L2-normalized as float32. On the CPU,
    ``config.cpu_threads`` sets torch's (process-wide) thread count.

    With no network, point ``config.model`` at a local copy of the model and set
    ``HF_HUB_OFFLINE=1``. Content sync feeds it `reclio.domain.title_text` of each title.

    Stability: caller-stable; vectors change when the model does (re-embed then).

    Args:
        config: Model, device, batch size, CPU threads.

    Raises:
        ConfigurationError: sentence-transformers is not installed.
    """

    def __init__(self, config: EmbeddingConfig | None = None) -> None:
        if importlib.util.find_spec("sentence_transformers") is None:
            msg = (
                "sentence-transformers is not installed: install torch for your hardware,"
                " then pip install 'reclio[embeddings]' (docs/vectors.md)"
            )
            raise ConfigurationError(msg)
        self._config = config or EmbeddingConfig()
        self._model = self._config.model or DEFAULT_EMBEDDING_MODEL

    def __repr__(self) -> str:
        return f"SentenceTransformerEmbedder(model={self._model!r}, device={self._config.device!r})"

    @property
    def model(self) -> str:
        """The model's name or path."""
        return self._model

    @property
    def identity(self) -> str:
        """The configured model name or path (the model is not loaded for this)."""
        return self._model

    @property
    def dimension(self) -> int:
        """Length of every vector (loads the model on first use: call `load` from async code).

        Raises:
            SourceUnavailable: the model could not be loaded.
        """
        return self._loaded().dimension

    @property
    def device(self) -> str:
        """Where the model runs, e.g. ``"cpu"`` or ``"cuda:0"`` (loads the model).

        Raises:
            SourceUnavailable: the model could not be loaded.
        """
        return self._loaded().device

    async def load(self) -> None:
        """Load the model in a worker thread now, instead of on the first embedding.

        Raises:
            SourceUnavailable: the model could not be loaded.
        """
        await asyncio.to_thread(self._loaded)

    async def embed(self, texts: Sequence[str]) -> Vector:
        """One unit-length float32 row per text, in order, computed in a worker thread.

        Raises:
            SourceUnavailable: the model could not be loaded or failed on this batch.
        """
        return await asyncio.to_thread(self.embed_sync, list(texts))

    def embed_sync(self, texts: Sequence[str]) -> Vector:
        """The same as `embed`, in the calling thread (for scripts and benchmarks).

        Raises:
            SourceUnavailable: the model could not be loaded or failed on this batch.
        """
        loaded = self._loaded()
        if not texts:
            return np.zeros((0, loaded.dimension), dtype=np.float32)
        with loaded.lock, _translate("embed", self._model):
            rows = loaded.model.encode(
                list(texts),
                batch_size=self._config.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        matrix: Vector = np.ascontiguousarray(rows, dtype=np.float32).reshape(
            len(texts), loaded.dimension
        )
        return matrix

    def _loaded(self) -> _Loaded:
        key = (self._model, self._config.device)
        loaded = _MODELS.get(key)
        if loaded is not None:
            return loaded
        with _MODELS_LOCK:
            loaded = _MODELS.get(key)
            if loaded is None:
                loaded = _load(self._model, self._config)
                _MODELS[key] = loaded
        return loaded


def _load(model: str, config: EmbeddingConfig) -> _Loaded:
    with _translate("load", model):
        from sentence_transformers import SentenceTransformer  # noqa: PLC0415 - torch is slow to import

        transformer = SentenceTransformer(model, device=config.device)
        device = str(transformer.device)
        if device == "cpu" and config.cpu_threads is not None:
            import torch  # noqa: PLC0415 - already imported by sentence-transformers

            torch.set_num_threads(config.cpu_threads)
        # Renamed in sentence-transformers 5 (the old name warns); 3 and 4 have the old one.
        named = getattr(transformer, "get_embedding_dimension", None)
        dimension = named() if named else transformer.get_sentence_embedding_dimension()
        if dimension is None:
            msg = f"{model} does not say its embedding dimension"
            raise ValueError(msg)
    return _Loaded(transformer, int(dimension), device)


@contextmanager
def _translate(operation: str, model: str) -> Iterator[None]:
    """The one place sentence-transformers' and torch's errors become `SourceUnavailable`."""
    try:
        yield
    except (OSError, ValueError, RuntimeError, ImportError) as exc:
        if operation == "load":
            msg = (
                f"could not load the embedding model {model!r}: {type(exc).__name__}: {exc}"
                " (set RECLIO_EMBEDDING_MODEL to a model name or a local folder; offline,"
                " a local folder and HF_HUB_OFFLINE=1)"
            )
        else:
            msg = f"the embedding model {model!r} failed: {type(exc).__name__}: {exc}"
        raise SourceUnavailable(msg, service=_SERVICE, operation=operation) from exc
