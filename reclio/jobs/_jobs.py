"""The sweep as Procrastinate jobs: any number of workers on any number of machines share it."""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import uuid
from datetime import datetime
from typing import Final, Protocol, runtime_checkable

import attrs
import procrastinate
from procrastinate import exceptions as job_errors
from procrastinate import jobs as job_states
from procrastinate.schema import SchemaManager

from reclio.bootstrap import Runtime, build
from reclio.config import ReclioConfig
from reclio.errors import (
    AccountLimitExceeded,
    AuthenticationError,
    ConfigurationError,
    DecodeError,
    LeaseHeld,
    SourceError,
    SourceUnavailable,
    SyncError,
)
from reclio.ports import VECTORS_CURSOR, HistoryStore, StateStore
from reclio.sync import rebuild_index

__all__ = [
    "CONTENT_TASK",
    "ENQUEUE_TASK",
    "GENERATION_CURSOR",
    "STALLED_TASK",
    "USER_TASK",
    "SyncJobs",
    "WorkerSettings",
    "defer_user_sync",
    "make_app",
    "retry_delay",
    "retryable",
    "run_worker",
    "serve",
]

_log = logging.getLogger("reclio.jobs")

USER_TASK: Final = "reclio.sync_user"
ENQUEUE_TASK: Final = "reclio.enqueue_due_users"
CONTENT_TASK: Final = "reclio.sync_content"
STALLED_TASK: Final = "reclio.retry_stalled_jobs"
GENERATION_CURSOR: Final = "jobs:generation"
"""Set by each content sync job; a worker that sees a new value reloads from the store."""
_SCHEMA_LOCK: Final = "reclio-procrastinate-schema"
_BATCH: Final = 500
"""Jobs queued per statement by the enqueue tick."""
_FINAL: Final = (AuthenticationError, AccountLimitExceeded, DecodeError)
"""Failures that trying again cannot fix: a revoked token, a full account, a bad payload."""


@attrs.frozen
class WorkerSettings:
    """When the periodic jobs run, how failures are retried, how dead workers are found.

    Crons have five fields, or six with seconds first (Procrastinate's syntax).

    Attributes:
        queue: The Procrastinate queue reclio's jobs go to.
        enqueue_cron: How often the due users are enqueued.
        content_cron: When content sync runs.
        stalled_cron: How often jobs of dead workers are put back in the queue.
        enqueue_limit: Most overdue users enqueued per tick (bounds one tick's work).
        max_attempts: Tries of one sync before it is left to the user's next due time.
        backoff_initial: Seconds before the first retry; doubles each retry, with jitter.
        backoff_max: Longest wait between two tries, in seconds.
        heartbeat_interval: Seconds between a worker's heartbeats.
        stalled_after: Seconds without a heartbeat after which a worker counts as dead.
        fetch_interval: Seconds between polls for jobs (LISTEN/NOTIFY wakes workers sooner).
    """

    queue: str = "reclio"
    enqueue_cron: str = "* * * * *"
    content_cron: str = "0 3 * * *"
    stalled_cron: str = "* * * * *"
    enqueue_limit: int = attrs.field(default=10_000, validator=attrs.validators.ge(1))
    max_attempts: int = attrs.field(default=8, validator=attrs.validators.ge(1))
    backoff_initial: float = attrs.field(default=30.0, validator=attrs.validators.gt(0))
    backoff_max: float = attrs.field(default=3600.0, validator=attrs.validators.gt(0))
    heartbeat_interval: float = attrs.field(default=10.0, validator=attrs.validators.gt(0))
    stalled_after: float = attrs.field(default=60.0, validator=attrs.validators.gt(0))
    fetch_interval: float = attrs.field(default=5.0, validator=attrs.validators.gt(0))


def retryable(exc: BaseException) -> bool:
    """Whether a failed sync may succeed if tried again later.

    Another worker's lease and transient failures (network, 5xx, a store that is down) are;
    a refused token (`AuthenticationError`), a full account (`AccountLimitExceeded`) and
    a payload that does not decode are not, nor is anything that is not a reclio error (a
    bug, raised as it is).
    """
    if isinstance(exc, SyncError):
        cause = exc.__cause__
        return isinstance(cause, SourceError) and retryable(cause)
    if isinstance(exc, _FINAL):
        return False
    return isinstance(exc, LeaseHeld | SourceUnavailable)


def retry_delay(
    attempt: int, settings: WorkerSettings, *, rng: random.Random | None = None
) -> float:
    """Seconds before try ``attempt + 1``: exponential from ``backoff_initial``, full jitter.

    The jitter spreads the retries of many users failing together (an outage) over the
    whole window instead of sending them back at once.
    """
    ceiling = min(settings.backoff_max, settings.backoff_initial * 2.0**attempt)
    return (rng or random).uniform(ceiling / 2, ceiling)


@runtime_checkable
class _InProcessEngine(Protocol):
    """**Capability:** a recommender that lives in the worker's memory (the local engine)."""

    async def restore(self, store: StateStore) -> int: ...

    async def fit(self) -> None: ...


def make_app(url: str, *, max_connections: int = 4) -> procrastinate.App:
    """A Procrastinate app queueing in the PostgreSQL at ``url`` (its own small pool)."""
    connector = procrastinate.PsycopgConnector(
        conninfo=url,
        min_size=1,
        max_size=max_connections,
        kwargs={"application_name": "reclio-jobs"},
    )
    return procrastinate.App(connector=connector)


async def defer_user_sync(
    app: procrastinate.App,
    user_id: str,
    *,
    force: bool = False,
    attempt: int = 0,
    delay: float = 0.0,
    settings: WorkerSettings | None = None,
) -> bool:
    """Queue one sync of ``user_id`` unless one is already waiting (its queueing lock).

    For an application process (an admin trigger, a new sign-up) as well as the workers.

    Returns:
        False when a sync of the user was already queued (it will do the work).
    """
    settings = settings or WorkerSettings()
    lock = f"user:{user_id}"
    deferrer = app.configure_task(
        USER_TASK,
        queue=settings.queue,
        lock=lock,
        queueing_lock=lock,
        schedule_in={"seconds": delay} if delay > 0 else None,
    )
    try:
        await deferrer.defer_async(user_id=user_id, force=force, attempt=attempt)
    except job_errors.AlreadyEnqueued:
        return False
    return True


class SyncJobs:
    """reclio's jobs on a Procrastinate app, run on one process's `Runtime`.

    * ``reclio.enqueue_due_users`` (periodic, ``enqueue_cron``, one at a time): queues one
      ``reclio.sync_user`` job per due user (`UserSync.due`), most overdue first.
    * ``reclio.sync_user``: one user's sync. The user's id is its lock and queueing lock,
      so two syncs of one user never run together and never wait in the queue together.
      The job checks that the user is still due before syncing (a duplicate costs one
      read). A retryable failure (`retryable`) queues the next try with backoff; other
      failures fail the job, and the user's next due time brings them back.
    * ``reclio.sync_content`` (periodic, ``content_cron``, one lock, one queued): content
      sync, single-writer under its lease too.
    * ``reclio.retry_stalled_jobs`` (periodic, ``stalled_cron``): jobs of workers whose
      heartbeat stopped go back to the queue; the dead worker's user lease expires by
      itself, so the retried sync runs once it has.

    Retries are new jobs (``attempt`` + 1, scheduled with `retry_delay`) rather than
    Procrastinate's in-place retry: putting a job back in the queue while another job of
    the same user waits there breaks the queueing lock's unique index (Procrastinate
    issues 1446 and 1543), whereas a new job under the same queueing lock simply finds
    the waiting one, which does the work.

    Per-worker state stays out of process memory: each content sync job publishes a new
    generation (a cursor); before each job a worker that sees a new one rebuilds its
    vector index from the stored vectors and restores and refits an in-process engine
    from the store, exactly as a worker starting then would. Before a user's sync it loads
    that user's stored history into an in-process engine, so the user's profile never
    depends on which worker synced them before.

    Args:
        runtime: The process's runtime, built with ``jobs=True`` (entered).
        app: The Procrastinate app (see `make_app`).
        settings: Schedules and retry policy.
    """

    def __init__(
        self,
        runtime: Runtime,
        app: procrastinate.App,
        settings: WorkerSettings | None = None,
    ) -> None:
        self.runtime = runtime
        self.app = app
        self.settings = settings or WorkerSettings()
        self._refreshing = asyncio.Lock()
        self._generation: str | None = None
        self._register()

    # -- tasks ------------------------------------------------------------------------------

    def _register(self) -> None:
        app, settings = self.app, self.settings
        app.task(name=USER_TASK, queue=settings.queue)(self.sync_user)
        enqueue = app.task(
            name=ENQUEUE_TASK, queue=settings.queue, lock=ENQUEUE_TASK, queueing_lock=ENQUEUE_TASK
        )(self._enqueue_tick)
        app.periodic(cron=settings.enqueue_cron)(enqueue)
        content = app.task(
            name=CONTENT_TASK, queue=settings.queue, lock=CONTENT_TASK, queueing_lock=CONTENT_TASK
        )(self._content_tick)
        app.periodic(cron=settings.content_cron)(content)
        stalled = app.task(
            name=STALLED_TASK, queue=settings.queue, lock=STALLED_TASK, queueing_lock=STALLED_TASK
        )(self._stalled_tick)
        app.periodic(cron=settings.stalled_cron)(stalled)

    async def sync_user(self, user_id: str, force: bool = False, attempt: int = 0) -> str:  # noqa: FBT001, FBT002 - job arguments are JSON keywords
        """Sync one user (the ``reclio.sync_user`` job).

        Returns:
            ``"synced"``, ``"not due"`` (someone synced the user since it was queued) or
            ``"retry"`` (a retryable failure; the next try is queued).

        Raises:
            SyncError: the store failed in a way trying again cannot fix, or the last try
                failed (the job fails; the user's next due time brings them back).
            LeaseHeld: the last try found the user still leased.
        """
        runtime = self.runtime
        try:
            if not force and not await self._due(user_id):
                _log.info("user %s: not due, skipped", user_id)
                return "not due"
            await self._refresh()
            await self._load_user(user_id)
            report = await runtime.user_sync.sync(user_id, force=force)
        except (LeaseHeld, SyncError, SourceError) as exc:
            if not retryable(exc) or attempt + 1 >= self.settings.max_attempts:
                _log.warning(
                    "user %s: sync failed for good (try %d): %s", user_id, attempt + 1, exc
                )
                raise
            delay = retry_delay(attempt, self.settings)
            queued = await defer_user_sync(
                self.app,
                user_id,
                force=force,
                attempt=attempt + 1,
                delay=delay,
                settings=self.settings,
            )
            _log.info(
                "user %s: %s; try %d %s",
                user_id,
                exc,
                attempt + 2,
                f"in {delay:.1f} s" if queued else "already queued",
            )
            return "retry"
        _log.info("user %s: synced: %s", user_id, report.summary())
        return "synced"

    async def _due(self, user_id: str) -> bool:
        state = await self.runtime.store.get_user(user_id)
        if state is None or state.next_sync_at is None:
            return True
        return state.next_sync_at <= self.runtime.clock()

    async def enqueue_due(self, now: datetime | None = None) -> int:
        """Queue a sync of every due user, most overdue first (up to ``enqueue_limit``).

        Users with a sync already waiting or running are left out (one read of the queue),
        the rest are queued in batches, so a tick costs a few statements, not one failed
        insert per user still in the queue.

        Returns:
            How many jobs were queued.
        """
        due = list(await self.runtime.user_sync.due(now))[: self.settings.enqueue_limit]
        if not due:
            return 0
        manager = self.app.job_manager
        busy: set[str | None] = set()
        for status in ("todo", "doing"):
            jobs = await manager.list_jobs_async(
                queue=self.settings.queue, task=USER_TASK, status=status
            )
            busy.update(job.lock for job in jobs)
        todo = [user_id for user_id in due if f"user:{user_id}" not in busy]
        queued = 0
        for start in range(0, len(todo), _BATCH):
            batch = todo[start : start + _BATCH]
            try:
                await manager.batch_defer_jobs_async([self._user_job(u) for u in batch])
                queued += len(batch)
            except job_errors.AlreadyEnqueued:
                # Someone queued one of them meanwhile: queue the others one by one.
                for user_id in batch:
                    queued += await defer_user_sync(self.app, user_id, settings=self.settings)
        _log.info("enqueued %d of %d due users", queued, len(due))
        return queued

    def _user_job(self, user_id: str) -> job_states.Job:
        lock = f"user:{user_id}"
        deferrer = self.app.configure_task(
            USER_TASK, queue=self.settings.queue, lock=lock, queueing_lock=lock
        )
        return deferrer.make_new_job(user_id=user_id, force=False, attempt=0)

    async def sync_content(self) -> str:
        """Run content sync (the ``reclio.sync_content`` job); a held lease skips this run."""
        try:
            report = await self.runtime.content_sync.run()
        except LeaseHeld as exc:
            _log.info("content sync skipped: %s", exc)
            return "lease held"
        await self.runtime.store.set_cursor(GENERATION_CURSOR, uuid.uuid4().hex)
        await self._refresh()
        _log.info("content synced: %s", report.summary())
        return "synced"

    async def retry_stalled(self) -> int:
        """Put the jobs of workers whose heartbeat stopped back in the queue.

        A job whose user (or task) already has another job waiting is closed as aborted
        instead: the waiting one does the work.

        Returns:
            How many stalled jobs were found.
        """
        manager = self.app.job_manager
        stalled = list(
            await manager.get_stalled_jobs(
                queue=self.settings.queue, seconds_since_heartbeat=self.settings.stalled_after
            )
        )
        for job in stalled:
            try:
                await manager.retry_job(job)
            except job_errors.UniqueViolation:
                await manager.finish_job(job, status=job_states.Status.ABORTED, delete_job=False)
            _log.warning("job %s (%s) of a dead worker put back", job.id, job.call_string)
        await manager.prune_stalled_workers(self.settings.stalled_after)
        return len(stalled)

    async def _enqueue_tick(self, timestamp: int) -> int:
        del timestamp
        return await self.enqueue_due()

    async def _content_tick(self, timestamp: int) -> str:
        del timestamp
        return await self.sync_content()

    async def _stalled_tick(self, timestamp: int) -> int:
        del timestamp
        return await self.retry_stalled()

    # -- per-worker state -------------------------------------------------------------------

    async def _refresh(self) -> None:
        """Catch up with the generation the last content sync published (one point read).

        A new generation rebuilds the vector index from the store (when its vectors
        changed) and restores and refits an in-process engine on everything stored, so
        every worker, early or late, recommends from the same data.
        """
        store = self.runtime.store
        generation = await store.get_cursor(GENERATION_CURSOR)
        if generation == self._generation:
            return
        async with self._refreshing:
            if generation == self._generation:
                return
            jobs = self.runtime.jobs
            if await store.get_cursor(VECTORS_CURSOR) != jobs.index.version:
                await rebuild_index(store, jobs.index)
            engine = jobs.recommender
            if isinstance(engine, _InProcessEngine):
                await engine.restore(store)
                await engine.fit()
            self._generation = generation
            _log.info("worker caught up with generation %s", generation)

    async def _load_user(self, user_id: str) -> None:
        """Give an in-process engine the user's stored history (idempotent)."""
        engine = self.runtime.jobs.recommender
        if not isinstance(engine, _InProcessEngine):
            return
        store: HistoryStore = self.runtime.store
        history = await store.get_history(user_id)
        if history is not None:
            await self.runtime.jobs.recommender.add_interactions(
                list(history.interactions(user_id))
            )

    # -- the worker --------------------------------------------------------------------------

    async def start(self) -> None:
        """Note the generation this worker's runtime loaded (call before `work`)."""
        self._generation = await self.runtime.store.get_cursor(GENERATION_CURSOR)

    async def ensure_schema(self) -> None:
        """Create Procrastinate's tables if the database has none (once, under a lock)."""
        pool = self.app.connector.pool  # type: ignore[attr-defined]
        async with pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (_SCHEMA_LOCK,))
            cur = await conn.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL")
            row = await cur.fetchone()
            if not (row and row[0]):
                await conn.execute(SchemaManager.get_schema())
                _log.info("created Procrastinate's tables")

    async def work(
        self,
        *,
        concurrency: int = 4,
        name: str | None = None,
        wait: bool = True,
        install_signal_handlers: bool = True,
    ) -> None:
        """Run this process's worker until it is stopped (SIGINT/SIGTERM), or idle (``wait=False``).

        Args:
            concurrency: Jobs run at once by this worker.
            name: The worker's name in Procrastinate's tables and logs.
            wait: False: return once the queue is empty.
            install_signal_handlers: Stop gracefully on SIGINT and SIGTERM.
        """
        if concurrency < 1:
            msg = f"concurrency must be at least 1, got {concurrency}"
            raise ConfigurationError(msg)
        settings = self.settings
        await self.app.run_worker_async(
            queues=[settings.queue],
            concurrency=concurrency,
            name=name or f"reclio@{socket.gethostname()}",
            wait=wait,
            install_signal_handlers=install_signal_handlers,
            update_heartbeat_interval=settings.heartbeat_interval,
            stalled_worker_timeout=settings.stalled_after,
            fetch_job_polling_interval=settings.fetch_interval,
            delete_jobs="successful",
        )


async def serve(
    runtime: Runtime,
    url: str,
    *,
    concurrency: int = 4,
    settings: WorkerSettings | None = None,
    name: str | None = None,
    wait: bool = True,
    install_signal_handlers: bool = True,
) -> None:
    """Run a worker on an entered ``runtime``, queueing in the PostgreSQL at ``url``.

    Args:
        runtime: Built with ``jobs=True`` and entered (its store should be that database).
        url: The PostgreSQL URL of the queue (usually ``RECLIO_STATE_URL``).
        concurrency: Jobs this worker runs at once.
        settings: Schedules and retry policy.
        name: The worker's name.
        wait: False: return once the queue is empty (tests, one-shot runs).
        install_signal_handlers: Stop gracefully on SIGINT and SIGTERM.
    """
    app = make_app(url, max_connections=max(2, min(concurrency, 8)))
    async with app.open_async():
        jobs = SyncJobs(runtime, app, settings)
        await jobs.ensure_schema()
        await jobs.start()
        await jobs.work(
            concurrency=concurrency,
            name=name,
            wait=wait,
            install_signal_handlers=install_signal_handlers,
        )


def run_worker(
    config: ReclioConfig, *, concurrency: int = 4, settings: WorkerSettings | None = None
) -> None:
    """``reclio worker [--concurrency N]``: sync users and content from the job queue.

    Builds the runtime from ``config`` (its state must be PostgreSQL: ``RECLIO_STATE_URL``)
    and runs until SIGINT or SIGTERM, finishing the jobs in hand.

    Raises:
        ConfigurationError: ``RECLIO_STATE_URL`` is unset (the queue lives in PostgreSQL).
    """
    url = config.state.url
    if url is None:
        msg = (
            "reclio worker needs PostgreSQL: set RECLIO_STATE_URL (the embedded default"
            " syncs in process: reclio sync users)"
        )
        raise ConfigurationError(msg)

    async def main() -> None:
        async with build(config) as runtime:
            await serve(runtime, url, concurrency=concurrency, settings=settings)

    asyncio.run(main())
