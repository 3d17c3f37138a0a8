"""A state store that could not open: every call fails, so a serving process keeps answering.

A damaged state file must not take ``/feeds`` down with it: the feed builder treats a
failing store like any other `SourceError` and serves the non-personal layout, and
``/healthz`` reports the store (its ping fails with the reason) until someone restores it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, NoReturn, cast

from reclio.errors import SourceUnavailable
from reclio.ports import StateStore

__all__ = ["unavailable_store"]

_STREAMS = frozenset({"iter_titles", "iter_embeddings", "iter_interactions"})


class _Unavailable:
    def __init__(self, reason: str) -> None:
        self._reason = reason

    def __repr__(self) -> str:
        return f"<unavailable state store: {self._reason}>"

    def _fail(self, operation: str) -> NoReturn:
        raise SourceUnavailable(self._reason, service="state", operation=operation)

    async def aclose(self) -> None:
        """Nothing was opened."""

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in _STREAMS:

            async def stream(*_args: object, **_kwargs: object) -> AsyncIterator[NoReturn]:
                for _ in ():  # an async generator that fails on its first step
                    yield _
                self._fail(name)

            return stream

        async def call(*_args: object, **_kwargs: object) -> Coroutine[Any, Any, NoReturn]:
            self._fail(name)

        return call


def unavailable_store(reason: str) -> StateStore:
    """A `StateStore` whose every call (``ping`` included) raises `SourceUnavailable`."""
    return cast("StateStore", _Unavailable(reason))
