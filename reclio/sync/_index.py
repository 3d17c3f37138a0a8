"""``IndexSlot``: a vector index that is replaced whole, so readers never see a half-built one."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Iterable, Sequence
from pathlib import Path

from reclio.domain import ItemRef, MediaType, Vector
from reclio.ports import VectorIndex

__all__ = ["IndexSlot"]


class IndexSlot(VectorIndex):
    """**VectorIndex** that holds the current index and swaps in rebuilt ones atomically.

    Content sync builds a fresh index (from ``factory``) off the event loop and then replaces
    the reference in one assignment; user syncs and feeds querying the slot meanwhile keep
    using the previous index, and afterwards the new one, never a half-built one.

    Stability: caller-stable.

    Args:
        factory: Makes an empty index of the kind to use, e.g. ``ExactVectorIndex``.
    """

    def __init__(self, factory: Callable[[], VectorIndex]) -> None:
        self._factory = factory
        self._current = factory()
        self._version: str | None = None

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
        self, items: Sequence[tuple[ItemRef, Vector]], *, version: str | None = None
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
