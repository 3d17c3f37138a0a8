"""What a sync run did, counted."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import attrs

from reclio.domain._converters import valid_texts

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
    errors: tuple[str, ...] = attrs.field(default=(), converter=valid_texts)
    writes: int = 0

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return self.failed == 0 and not self.errors

    def to_dict(self) -> dict[str, object]:
        """The report as JSON-ready data (times in ISO 8601, ``ok`` included)."""
        data: dict[str, object] = attrs.asdict(self, recurse=False)
        data["started_at"] = self.started_at.isoformat()
        data["finished_at"] = self.finished_at.isoformat()
        data["errors"] = list(self.errors)
        data["ok"] = self.ok
        return data

    def summary(self) -> str:
        """One line for people, e.g. for a CLI or a log."""
        seconds = (self.finished_at - self.started_at).total_seconds()
        line = (
            f"{self.job}: fetched {self.fetched}, pushed {self.pushed}, failed {self.failed},"
            f" embedded {self.embedded}, skipped {self.skipped}; {self.api_calls} calls"
            f" ({self.writes} writes)"
        )
        if seconds > 0:  # a fixed clock (tests, the demo) measures nothing
            line += f" in {seconds:.2f} s"
        if self.errors:
            line += f"; {len(self.errors)} error(s), first: {self.errors[0]}"
        return line

    @classmethod
    def total(cls, job: str, reports: Sequence[SyncReport]) -> SyncReport:
        """One report summing ``reports`` (e.g. every user of a sweep), spanning their times.

        Raises:
            ValueError: ``reports`` is empty.
        """
        if not reports:
            msg = "nothing to total: no reports"
            raise ValueError(msg)
        return cls(
            job=job,
            started_at=min(r.started_at for r in reports),
            finished_at=max(r.finished_at for r in reports),
            fetched=sum(r.fetched for r in reports),
            pushed=sum(r.pushed for r in reports),
            failed=sum(r.failed for r in reports),
            embedded=sum(r.embedded for r in reports),
            skipped=sum(r.skipped for r in reports),
            api_calls=sum(r.api_calls for r in reports),
            errors=tuple(e for r in reports for e in r.errors)[:50],
            writes=sum(r.writes for r in reports),
        )
