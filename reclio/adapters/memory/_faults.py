"""Failure injection for the in-memory adapters: a documented hook instead of mocks.

Each in-memory adapter holds a `Faults` and calls `Faults.check` at the top of
every I/O method, so tests (and demos of fallbacks) can make a real adapter fail the way a
remote service would, then heal it.
"""

from __future__ import annotations

from collections import Counter

import attrs

from reclio.errors import SourceError


@attrs.define
class _Planned:
    error: SourceError
    operation: str | None
    remaining: int | None


@attrs.define
class Faults:
    """Planned failures and a per-operation call counter for one adapter.

    Attributes:
        calls: How many times each operation was called (failed calls included).
    """

    calls: Counter[str] = attrs.field(factory=Counter)
    _planned: list[_Planned] = attrs.field(factory=list)

    def inject(
        self, error: SourceError, *, operation: str | None = None, times: int | None = 1
    ) -> None:
        """Make the next ``times`` calls of ``operation`` (any operation when ``None``) raise.

        ``times=None`` fails every call until `clear`.
        """
        if times is not None and times < 1:
            msg = f"times must be at least 1 (or None for always), got {times}"
            raise ValueError(msg)
        self._planned.append(_Planned(error, operation, times))

    def clear(self) -> None:
        """Forget every planned failure."""
        self._planned.clear()

    def check(self, operation: str) -> None:
        """Count a call of ``operation`` and raise the first planned failure that matches it."""
        self.calls[operation] += 1
        for planned in self._planned:
            if planned.operation in (None, operation):
                if planned.remaining is not None:
                    planned.remaining -= 1
                    if planned.remaining == 0:
                        self._planned.remove(planned)
                raise planned.error
