"""What a sync run did, counted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import attrs

__all__ = ["Progress", "ProgressCallback", "SyncReport"]


@attrs.frozen
class Progress:
    """One step of a long sync, for progress bars.

    Attributes:
        stage: What is being done, e.g. ``"fetch"``, ``"push"``, ``"embed"``, ``"users"``.
        done: Units finished in this stage so far.
        total: Units in the stage, when known.
    """

    stage: str
    done: int
    total: int | None = None


ProgressCallback = Callable[[Progress], None]
"""Called with each :class:`Progress` step; must return quickly and not raise."""


@attrs.frozen
class SyncReport:
    """The outcome of one content sync or one user sync.

    Stability: caller-stable; counters may be added with defaults.

    Attributes:
        job: ``"content"`` or ``"user:<id>"``.
        started_at: When the run began.
        finished_at: When it ended.
        fetched: Records read from sources.
        pushed: Records the recommender (or list sink) confirmed.
        failed: Records that were not written (they are retried next run).
        embedded: Titles embedded.
        skipped: Records left alone because nothing changed.
        api_calls: Calls made to remote sources and sinks.
        errors: One line per failure, for people.
        writes: Write calls made to the recommender and the list sink (a subset of
            ``api_calls``); zero for a user whose activity did not move.
    """

    job: str
    started_at: datetime
    finished_at: datetime
    fetched: int = 0
    pushed: int = 0
    failed: int = 0
    embedded: int = 0
    skipped: int = 0
    api_calls: int = 0
    errors: tuple[str, ...] = ()
    writes: int = 0

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return self.failed == 0 and not self.errors
