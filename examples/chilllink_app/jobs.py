"""Background work in the app's process: a board of jobs, and a scheduler of periodic ones.

* `JobBoard` runs admin-triggered work (``POST /admin/sync/...``) as tasks and keeps what
  each did (state, progress, result) for ``GET /admin/jobs/{id}``. Starting work that is
  already running returns the running job instead of a second copy.
* `Scheduler` runs periodic jobs (content sync daily, the user sweep, the health round)
  in every app process, and makes sure only one process runs each: a job runs under its
  lease in the state store (`reclio.leases.hold`), and its next due time is a cursor in
  the same store, read again under the lease, so a job one process just ran is not run
  again by another. A process that finds the lease taken waits for the next look.

Both stop cleanly: `aclose` cancels what runs and waits for it (each sync gives its
leases back, or they expire).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final, Literal, Protocol

import attrs

from reclio.errors import LeaseHeld, SourceError, SyncError
from reclio.leases import hold
from reclio.ports import CursorStore, LeaseStore

if TYPE_CHECKING:
    from reclio._clock import Clock
    from reclio.domain import Progress, ProgressCallback

__all__ = ["Job", "JobBoard", "Periodic", "Scheduler", "Work", "worker_name"]

_log = logging.getLogger("reclio.examples.app.jobs")

JobState = Literal["running", "done", "failed", "skipped", "cancelled"]
Work = Callable[["ProgressCallback"], Awaitable[Mapping[str, object]]]
"""A job's body: gets a progress callback, returns a JSON-ready summary of what it did."""

_KEEP: Final = 200
"""Finished jobs the board remembers."""


def worker_name() -> str:
    """A lease owner name unique to this process: host, pid and a random tail."""
    return f"app-{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}"


@attrs.define
class Job:
    """One run of background work, as ``GET /admin/jobs/{id}`` shows it."""

    id: str
    kind: str
    subject: str | None
    started_at: datetime
    state: JobState = "running"
    finished_at: datetime | None = None
    progress: dict[str, object] | None = None
    result: Mapping[str, object] | None = None
    error: str | None = None

    def as_json(self) -> dict[str, object]:
        """The job as JSON-ready data."""
        return {
            "id": self.id,
            "kind": self.kind,
            "subject": self.subject,
            "state": self.state,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "progress": self.progress,
            "result": self.result,
            "error": self.error,
        }


class JobBoard:
    """Runs work as tasks of the running loop and remembers how each run went.

    Args:
        clock: Stamps starts and ends.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def get(self, job_id: str) -> Job | None:
        """The job, or ``None`` when unknown (or long forgotten)."""
        return self._jobs.get(job_id)

    def recent(self, limit: int = 20) -> list[Job]:
        """The newest jobs first."""
        return list(reversed(self._jobs.values()))[:limit]

    def running(self, kind: str, subject: str | None = None) -> Job | None:
        """The running job of this kind and subject, if any."""
        for job in self._jobs.values():
            if job.state == "running" and job.kind == kind and job.subject == subject:
                return job
        return None

    def start(self, kind: str, work: Work, *, subject: str | None = None) -> tuple[Job, bool]:
        """Start ``work`` in the background unless the same kind and subject is running.

        Returns:
            The job, and whether it was started now (False: it was already running).
        """
        already = self.running(kind, subject)
        if already is not None:
            return already, False
        job = self._new(kind, subject)
        task = asyncio.create_task(self._run(job, work), name=f"reclio-job-{job.id}")
        self._tasks[job.id] = task
        task.add_done_callback(lambda _t: self._tasks.pop(job.id, None))
        return job, True

    async def run(self, kind: str, work: Work, *, subject: str | None = None) -> Job:
        """Run ``work`` now, in this task, recording it as a job (the scheduler's runs)."""
        job = self._new(kind, subject)
        await self._run(job, work)
        return job

    async def aclose(self) -> None:
        """Cancel every running job and wait for them."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _new(self, kind: str, subject: str | None) -> Job:
        job = Job(secrets.token_hex(8), kind, subject, self._clock())
        self._jobs[job.id] = job
        while len(self._jobs) > _KEEP:
            oldest = next(iter(self._jobs))
            if self._jobs[oldest].state == "running":
                break
            del self._jobs[oldest]
        return job

    async def _run(self, job: Job, work: Work) -> None:
        def progress(step: Progress) -> None:
            job.progress = {"stage": step.stage, "done": step.done, "total": step.total}

        try:
            job.result = await work(progress)
        except LeaseHeld as exc:
            job.state, job.error = "skipped", str(exc)
        except (SourceError, SyncError) as exc:
            job.state, job.error = "failed", str(exc)
            _log.warning("%s job %s failed: %s", job.kind, job.id, exc)
        except asyncio.CancelledError:
            job.state, job.error = "cancelled", "the app shut down"
            raise
        except Exception as exc:  # noqa: BLE001 - a bug in one job must not take the app down
            job.state, job.error = "failed", f"{type(exc).__name__}: {exc}"
            _log.exception("%s job %s failed", job.kind, job.id)
        else:
            job.state = "done"
        finally:
            job.finished_at = self._clock()


class ScheduleStore(LeaseStore, CursorStore, Protocol):
    """The state roles the scheduler uses: leases, and cursors for the due times."""


@attrs.frozen
class Periodic:
    """A job the scheduler runs every ``every`` seconds, in one process at a time.

    Attributes:
        name: The job's name: its lease is ``app:<name>``, its due time the cursor
            ``app:<name>:next``.
        every: Seconds from one run's start to the next.
        work: What it does.
        lease_ttl: How long the lease outlives a process that died holding it.
        retry_after: Seconds before another try when a run failed.
        first_due: Reads when the job is first due, for a store that has no cursor yet
            (content sync: a day after the last ``reclio sync content``); ``None``: now.
    """

    name: str
    every: float
    work: Work
    lease_ttl: timedelta = timedelta(minutes=10)
    retry_after: float = 900.0
    first_due: Callable[[], Awaitable[datetime | None]] | None = None


class Scheduler:
    """Runs each `Periodic` job when due, under its lease, until closed.

    Args:
        store: Leases and due-time cursors (shared by every app process).
        jobs: The periodic jobs.
        board: Where each run is recorded.
        clock: The current aware datetime.
        owner: This process's lease owner name.
        tick: Longest sleep between two looks at a job's due time (seconds).
    """

    def __init__(
        self,
        store: ScheduleStore,
        jobs: Sequence[Periodic],
        board: JobBoard,
        *,
        clock: Clock,
        owner: str,
        tick: float = 60.0,
    ) -> None:
        self._store = store
        self._jobs = tuple(jobs)
        self._board = board
        self._clock = clock
        self._owner = owner
        self._tick = tick
        self._tasks: list[asyncio.Task[None]] = []
        self.last: dict[str, Job] = {}

    @property
    def jobs(self) -> tuple[Periodic, ...]:
        """The periodic jobs."""
        return self._jobs

    def start(self) -> None:
        """Start one loop per job."""
        for job in self._jobs:
            self._tasks.append(asyncio.create_task(self._loop(job), name=f"reclio-{job.name}"))

    async def aclose(self) -> None:
        """Stop every loop (a run in progress is cancelled) and wait for them."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def run_if_due(self, job: Periodic) -> Job | None:
        """Run ``job`` if it is due and no other process holds it.

        Returns:
            The run, or ``None`` when it was not due or another process holds its lease.

        Raises:
            SourceError: the store failed reading the due time or taking the lease.
        """
        if await self._due_at(job) > self._clock():
            return None
        try:
            async with hold(
                self._store, f"app:{job.name}", owner=self._owner, ttl=job.lease_ttl
            ):
                # Read again under the lease: another process may have just run it.
                if await self._due_at(job) > self._clock():
                    return None
                run = await self._board.run(job.name, job.work)
                wait = job.every if run.state in ("done", "skipped") else job.retry_after
                due = run.started_at + timedelta(seconds=wait)
                await self._store.set_cursor(f"app:{job.name}:next", due.isoformat())
        except LeaseHeld:
            return None
        self.last[job.name] = run
        return run

    async def _due_at(self, job: Periodic) -> datetime:
        text = await self._store.get_cursor(f"app:{job.name}:next")
        if text is not None:
            with contextlib.suppress(ValueError):
                return datetime.fromisoformat(text)
        if job.first_due is not None:
            first = await job.first_due()
            if first is not None:
                return first
        return self._clock()

    async def _loop(self, job: Periodic) -> None:
        while True:
            try:
                ran = await self.run_if_due(job)
                wait = (await self._due_at(job) - self._clock()).total_seconds()
                if ran is None and wait <= 0:
                    wait = self._tick  # another process is running it: look again later
            except SourceError as exc:
                _log.warning("scheduler: %s not checked, the store failed: %s", job.name, exc)
                wait = self._tick
            # Look again at the due time at least every tick: another process may run it.
            await asyncio.sleep(min(max(wait, 0.0), self._tick) + 0.01)
