"""The mutable tally of one sync run, turned into a frozen ``SyncReport`` at the end."""

from __future__ import annotations

import logging
from datetime import datetime

import attrs

from reclio.domain.reports import SyncReport
from reclio.errors import ReconnectNeeded, SourceError


@attrs.define
class Run:
    """Counters and error lines of one run (one per call; never shared between runs)."""

    job: str
    started_at: datetime
    logger: logging.Logger
    max_errors: int = 50
    fetched: int = 0
    pushed: int = 0
    failed: int = 0
    embedded: int = 0
    skipped: int = 0
    api_calls: int = 0
    writes: int = 0
    errors: list[str] = attrs.Factory(list)
    error_count: int = 0
    reconnect: str | None = None
    """Why the user must connect again, when a call said so (`ReconnectNeeded`)."""

    def call(self, *, write: bool = False) -> None:
        """Count one remote call (and one write, when it writes)."""
        self.api_calls += 1
        if write:
            self.writes += 1

    def error(self, what: str, exc: SourceError | str) -> None:
        """Record a failure that the run survived (an exception, or a message)."""
        self.error_count += 1
        if isinstance(exc, ReconnectNeeded):
            self.reconnect = str(exc)
        line = f"{what}: {exc}"
        self.logger.warning("%s %s", self.job, line)
        if len(self.errors) < self.max_errors:
            self.errors.append(line)

    def note(self, what: str, message: str) -> None:
        """Report a known condition (not a new failure): an error line, logged at INFO only.

        The run stays `clean`: nothing that this run tried failed.
        """
        line = f"{what}: {message}"
        self.logger.info("%s %s", self.job, line)
        if len(self.errors) < self.max_errors:
            self.errors.append(line)

    @property
    def clean(self) -> bool:
        """Nothing failed so far."""
        return self.error_count == 0 and self.failed == 0

    def report(self, finished_at: datetime) -> SyncReport:
        """The frozen report of the run so far."""
        errors = list(self.errors)
        if self.error_count > len(errors):
            errors.append(f"... and {self.error_count - len(errors)} more")
        return SyncReport(
            job=self.job,
            started_at=self.started_at,
            finished_at=finished_at,
            fetched=self.fetched,
            pushed=self.pushed,
            failed=self.failed,
            embedded=self.embedded,
            skipped=self.skipped,
            api_calls=self.api_calls,
            errors=tuple(errors),
            writes=self.writes,
        )
