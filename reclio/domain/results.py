"""Outcomes of batched writes: which members a remote side confirmed, and which failed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Generic, TypeVar

import attrs

T = TypeVar("T")


@attrs.frozen
class WriteResult(Generic[T]):
    """Per-member outcome of one batched write.

    A member counts as written only when it is in `ok`; callers mark progress
    (titles synced, cursors advanced) from that alone.

    Attributes:
        ok: Members the remote side confirmed (a duplicate of an existing one counts).
        failed: Members that were not written, each with the reason.
    """

    ok: tuple[T, ...] = ()
    failed: tuple[tuple[T, str], ...] = ()

    @classmethod
    def all_ok(cls, members: Iterable[T]) -> WriteResult[T]:
        """Every member confirmed."""
        return cls(ok=tuple(members))

    @classmethod
    def all_failed(cls, members: Iterable[T], reason: str) -> WriteResult[T]:
        """Every member failed for the same reason (a whole batch was refused)."""
        return cls(failed=tuple((member, reason) for member in members))

    def __add__(self, other: WriteResult[T]) -> WriteResult[T]:
        return WriteResult(ok=self.ok + other.ok, failed=self.failed + other.failed)
