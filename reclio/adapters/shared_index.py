"""The vector index the syncs share: replaced whole, and built once for every process.

`IndexSlot` holds the current index and swaps in rebuilt ones, so a reader never sees a
half-built one. It keeps everything in one process: the embedded default and tests.

`PublishedIndex` is the slot for more than one process. Content sync (the single writer)
rebuilds the index from the stored vectors only when they changed, saves it into
``directory`` under a name that carries the vectors' version, and then records that name
in the state store (the `INDEX_CURSOR`). Every other process (user sync workers, the CLI,
the web app) loads the published file (Annoy memory-maps it) instead of rebuilding, and
loads again when the cursor moves (`PublishedIndex.refresh`). Files are written to a
temporary name and renamed, and a version is named in the store only once its files are
complete, so no reader ever opens half an index; the previous version stays on disk for
readers that have not refreshed yet, older ones are deleted.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from pathlib import Path
from typing import Final

import numpy as np

from reclio.domain import ItemRef, MediaType, Vector
from reclio.errors import SourceError
from reclio.ports import (
    VECTORS_CURSOR,
    EmbeddingStore,
    SharedVectorIndex,
    VectorIndex,
    VectorStore,
)

__all__ = ["INDEX_CURSOR", "IndexSlot", "MixedLengths", "PublishedIndex", "stored_vectors"]

_log = logging.getLogger("reclio.adapters.shared_index")

INDEX_CURSOR: Final = "content:index"
"""The state-store cursor naming the published index file (``{kind}-{vectors version}.idx``)."""

_NO_VERSION: Final = "initial"
"""The version of vectors stored before content sync kept versions."""

_SUFFIX: Final = ".idx"
_STALE_TEMPORARY_SECONDS: Final = 3600.0


class MixedLengths(ValueError):
    """The stored vectors have more than one length (an embedding model change is part-way)."""


class IndexSlot(SharedVectorIndex):
    """**SharedVectorIndex** that holds the current index and swaps in rebuilt ones atomically.

    Content sync builds a fresh index (from ``factory``) off the event loop and then replaces
    the reference in one assignment; user syncs and feeds querying the slot meanwhile keep
    using the previous index, and afterwards the new one, never a half-built one. Nothing
    is shared with other processes: each one that uses a plain slot builds its own index
    from the stored vectors (`PublishedIndex` builds once for all).

    Stability: caller-stable.

    Args:
        factory: Makes an empty index of the kind to use, e.g. ``ExactVectorIndex``.
    """

    def __init__(self, factory: Callable[[], VectorIndex]) -> None:
        self._factory = factory
        self._current = factory()
        self._version: str | None = None
        self._mixed_warned: str | None = None

    @property
    def version(self) -> str | None:
        """The version of the stored vectors the current index was built from, if known."""
        return self._version

    @property
    def current(self) -> VectorIndex:
        """The index queries go to right now."""
        return self._current

    def swap(self, index: VectorIndex) -> None:
        """Make ``index`` the current one."""
        self._current = index

    async def rebuild(
        self, items: Iterable[tuple[ItemRef, Vector]], *, version: str | None = None
    ) -> None:
        """Build a fresh index from ``items`` in a worker thread, then swap it in.

        Args:
            items: Every vector the index should hold.
            version: Which version of the stored vectors ``items`` are (see :attr:`version`).
        """
        fresh = self._factory()
        await asyncio.to_thread(fresh.build, items)
        self.swap(fresh)
        self._version = version

    async def update(self, store: VectorStore, *, dimension: int | None = None) -> int | None:
        """Content sync's index phase: rebuild from the stored vectors if they changed.

        Args:
            store: The stored vectors and their version.
            dimension: Index only vectors of this length (content sync passes the one it
                just embedded, so an old model's vectors of another length are left out
                while a new model replaces them). ``None``: every vector.

        Returns:
            How many vectors the rebuilt index holds; ``None`` when nothing was rebuilt
            (the index is current, or the store holds no vectors).

        Raises:
            SourceError: the store failed.
            MixedLengths: the stored vectors have different lengths and ``dimension`` is
                ``None``.
        """
        version = await store.get_cursor(VECTORS_CURSOR)
        if len(self) > 0 and self._version == version:
            return None
        refs, matrix = await stored_vectors(store, dimension=dimension)
        if not refs:
            return None
        await self.rebuild(zip(refs, matrix, strict=True), version=version)
        return len(refs)

    async def refresh(self, store: VectorStore) -> bool:
        """A reader's start-up and periodic check: `update` with every stored vector.

        Stored vectors of two lengths (content sync is part-way through a new embedding
        model) leave the current index as it is, with one WARNING per version; the
        next refresh after content sync finishes picks the new vectors up.

        Returns:
            True when the index changed.

        Raises:
            SourceError: the store failed.
        """
        try:
            return await self.update(store) is not None
        except MixedLengths as exc:
            version = await store.get_cursor(VECTORS_CURSOR)
            if self._mixed_warned != version:
                self._mixed_warned = version
                _log.warning("kept the current vector index (%d vectors): %s", len(self), exc)
            return False

    def build(self, items: Iterable[tuple[ItemRef, Vector]]) -> None:
        """Build a fresh index from ``items`` (in this thread), then swap it in."""
        fresh = self._factory()
        fresh.build(items)
        self.swap(fresh)
        self._version = None

    def nearest(
        self,
        query: ItemRef | Vector,
        *,
        k: int,
        media_type: MediaType | None = None,
        exclude: Collection[ItemRef] = (),
    ) -> Sequence[tuple[ItemRef, float]]:
        """Nearest neighbours from the current index."""
        return self._current.nearest(query, k=k, media_type=media_type, exclude=exclude)

    def __len__(self) -> int:
        return len(self._current)

    def save(self, path: Path) -> None:
        """Save the current index."""
        self._current.save(path)

    def load(self, path: Path) -> None:
        """Load a saved index into a fresh one, then swap it in."""
        fresh = self._factory()
        fresh.load(path)
        self.swap(fresh)
        self._version = None


class PublishedIndex(IndexSlot):
    """**SharedVectorIndex** built once by content sync and loaded by every other process.

    Give every process the same ``directory`` (a local or shared file system), ``kind``
    and state store. Content sync calls `update` after embedding; readers call `refresh`
    at start-up and then as often as they like (it costs one cursor read when nothing
    moved): the CLI before a sweep, a worker before each batch of user syncs, the web app
    on a timer. A reader that has loaded an index keeps answering from it while a new one
    is published, and until its `refresh` swaps the new one in.

    Stability: caller-stable.

    Args:
        factory: Makes an empty index of the kind to use.
        directory: Where published files live (created on first publish).
        kind: Names this kind of index and the parameters its files depend on, e.g.
            ``"annoy-3f2a9c1e"`` (see ``reclio.adapters.vectors.index_kind``); a process
            configured for another kind never loads these files.
        keep: Published versions kept on disk (the current one and those before it).
    """

    def __init__(
        self,
        factory: Callable[[], VectorIndex],
        directory: Path,
        *,
        kind: str,
        keep: int = 2,
    ) -> None:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", kind):
            msg = f"kind must be a plain file-name stem, got {kind!r}"
            raise ValueError(msg)
        if keep < 1:
            msg = f"keep must be at least 1, got {keep}"
            raise ValueError(msg)
        super().__init__(factory)
        self._directory = Path(directory)
        self._kind = kind
        self._keep = keep
        self._published: str | None = None
        self._warned: str | None = None

    @property
    def directory(self) -> Path:
        """Where published files live."""
        return self._directory

    @property
    def published(self) -> str | None:
        """The published file this process has loaded (or built), if any."""
        return self._published

    def file_name(self, version: str) -> str:
        """The file the index of vectors ``version`` is published as."""
        safe = version if re.fullmatch(r"[A-Za-z0-9_.-]+", version) else _digest(version)
        return f"{self._kind}-{safe}{_SUFFIX}"

    async def update(self, store: VectorStore, *, dimension: int | None = None) -> int | None:
        """Content sync's index phase: build and publish, only if the vectors changed.

        When the published index already matches the stored vectors, it is loaded (if
        this process does not hold it yet) and nothing is built. ``dimension`` is as in
        `IndexSlot.update`.

        Returns:
            How many vectors the newly published index holds; ``None`` when nothing was
            built.

        Raises:
            SourceError: the store failed, or the index file could not be written.
            MixedLengths: the stored vectors have different lengths and ``dimension`` is
                ``None``.
        """
        version = await store.get_cursor(VECTORS_CURSOR) or _NO_VERSION
        name = self.file_name(version)
        if await store.get_cursor(INDEX_CURSOR) == name and (self._directory / name).exists():
            if self._published != name:
                await self._load(name, version)
            return None
        refs, matrix = await stored_vectors(store, dimension=dimension)
        if not refs:
            return None
        fresh = await asyncio.to_thread(self._build_and_save, refs, matrix, name)
        # Named in the store only now that its files are complete.
        await store.set_cursor(INDEX_CURSOR, name)
        self.swap(fresh)
        self._version, self._published = version, name
        _log.info("published vector index %s (%d vectors)", name, len(refs))
        await asyncio.to_thread(self._prune, name)
        return len(refs)

    async def refresh(self, store: VectorStore) -> bool:
        """Load the published index if it is not the one this process holds.

        A file that cannot be loaded (deleted meanwhile, unreadable) is logged as a
        WARNING and the current index stays; the next refresh tries again.

        Returns:
            True when a newly published index was swapped in.

        Raises:
            SourceError: the store failed.
        """
        name = await store.get_cursor(INDEX_CURSOR)
        if name is None or name == self._published:
            return False
        version = self._version_of(name)
        if version is None:
            if self._warned != name:
                self._warned = name
                _log.warning(
                    "the published vector index %s is not of this process's kind %s:"
                    " configure every process alike (RECLIO_VECTOR_INDEX)",
                    name,
                    self._kind,
                )
            return False
        try:
            await self._load(name, version)
        except SourceError as exc:
            _log.warning("could not load the published vector index %s: %s", name, exc)
            return False
        return True

    async def _load(self, name: str, version: str) -> None:
        fresh = self._factory()
        await asyncio.to_thread(fresh.load, self._directory / name)
        self.swap(fresh)
        self._version, self._published = version, name
        _log.info("loaded vector index %s (%d vectors)", name, len(fresh))

    def _version_of(self, name: str) -> str | None:
        prefix = f"{self._kind}-"
        if name.startswith(prefix) and name.endswith(_SUFFIX):
            return name[len(prefix) : -len(_SUFFIX)]
        return None

    def _build_and_save(self, refs: list[ItemRef], matrix: Vector, name: str) -> VectorIndex:
        fresh = self._factory()
        fresh.build(zip(refs, matrix, strict=True))
        self._directory.mkdir(parents=True, exist_ok=True)
        fresh.save(self._directory / name)
        return fresh

    def _prune(self, current: str) -> None:
        """Delete published files older than the newest ``keep`` versions, and dead temporaries."""
        try:
            published = sorted(
                (p for p in self._directory.glob(f"{self._kind}-*{_SUFFIX}") if p.name != current),
                key=lambda p: p.stat().st_mtime,
                reverse=True,
            )
            doomed = [p for old in published[self._keep - 1 :] for p in _with_sidecars(old)]
            cutoff = time.time() - _STALE_TEMPORARY_SECONDS
            doomed += [
                p
                for p in self._directory.glob(f".{self._kind}-*.tmp")
                if p.stat().st_mtime < cutoff
            ]
        except OSError as exc:
            _log.warning("could not list old vector index files: %s", exc)
            return
        for path in doomed:
            try:
                # A reader that memory-mapped the file keeps its pages (POSIX).
                path.unlink(missing_ok=True)
            except OSError as exc:
                _log.warning("could not delete old vector index file %s: %s", path, exc)


def _with_sidecars(path: Path) -> list[Path]:
    return [path, *path.parent.glob(f"{path.name}.*")]


def _digest(text: str) -> str:
    import hashlib  # noqa: PLC0415 - only odd version strings need it

    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


async def stored_vectors(
    store: EmbeddingStore, *, dimension: int | None = None
) -> tuple[list[ItemRef], Vector]:
    """The stored vectors (of one length): refs in store order, one float32 matrix of rows.

    One contiguous matrix (not a list of rows) keeps a build's memory at the vectors' size.

    Args:
        store: Where the vectors are.
        dimension: Keep only vectors of this length (the others are counted in a log
            line); ``None``: every vector, which must then have one length.

    Raises:
        SourceError: the store failed.
        MixedLengths: ``dimension`` is ``None`` and the stored vectors have different lengths.
    """
    refs: list[ItemRef] = []
    blocks: list[Vector] = []
    lengths: set[int] = set()
    left_out = 0
    async for batch in store.iter_embeddings():
        kept = [(ref, v) for ref, v in batch if dimension is None or len(v) == dimension]
        left_out += len(batch) - len(kept)
        lengths.update(len(v) for _, v in kept)
        if len(lengths) > 1:
            msg = (
                f"stored vectors have {len(lengths)} lengths: content sync is part-way through"
                " a new embedding model; the index follows once it has embedded every title"
                " (reclio sync content)"
            )
            raise MixedLengths(msg)
        if kept:
            refs.extend(ref for ref, _ in kept)
            blocks.append(np.asarray([v for _, v in kept], dtype=np.float32))
    if left_out:
        _log.info(
            "left %d stored vectors of another length than %s out of the index: content sync"
            " embeds those titles again",
            left_out,
            dimension,
        )
    if not refs:
        return [], np.zeros((0, 0), dtype=np.float32)
    return refs, np.concatenate(blocks)
