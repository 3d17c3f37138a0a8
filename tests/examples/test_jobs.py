"""Background jobs: the board, and a scheduler that runs each job once across processes."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime, timedelta

import httpx
import pytest
from starlette.applications import Starlette

from examples.chilllink_app.jobs import JobBoard, Periodic, Scheduler
from reclio.adapters.memory import InMemoryStateStore
from reclio.config import AppConfig
from reclio.domain import Progress, ProgressCallback, UserState
from reclio.errors import LeaseHeld, SourceUnavailable
from reclio.testing.contracts.state import ManualClock

pytestmark = pytest.mark.anyio

HOUR = 3600.0


class _Counting:
    """Work that counts its runs, optionally waiting for a gate or failing."""

    def __init__(self) -> None:
        self.runs = 0
        self.started = asyncio.Event()
        self.gate: asyncio.Event | None = None
        self.fail: BaseException | None = None

    async def __call__(self, progress: ProgressCallback) -> Mapping[str, object]:
        self.runs += 1
        self.started.set()
        progress(Progress("step", self.runs, None))
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        return {"runs": self.runs}


def _scheduler(
    store: InMemoryStateStore, clock: ManualClock, job: Periodic, owner: str
) -> Scheduler:
    return Scheduler(store, [job], JobBoard(clock), clock=clock, owner=owner, tick=0.01)


async def test_two_processes_run_a_due_job_once() -> None:
    """Two schedulers on one store (two app processes): a due job runs in one of them;
    it is not due again until ``every`` has passed, then it runs once more."""
    store, clock, work = InMemoryStateStore(), ManualClock(), _Counting()
    job = Periodic("content-sync", HOUR, work)
    one, two = (_scheduler(store, clock, job, name) for name in ("one", "two"))
    results = await asyncio.gather(one.run_if_due(job), two.run_if_due(job))
    assert work.runs == 1
    assert sum(r is not None for r in results) == 1
    assert await one.run_if_due(job) is None
    assert await two.run_if_due(job) is None
    clock.advance(timedelta(seconds=HOUR))
    assert await two.run_if_due(job) is not None
    assert await one.run_if_due(job) is None
    assert work.runs == 2


async def test_a_running_job_holds_its_lease() -> None:
    """While one process runs the job, another finds the lease taken and skips it; after
    the run the lease is given back."""
    store, clock, work = InMemoryStateStore(), ManualClock(), _Counting()
    work.gate = asyncio.Event()
    job = Periodic("user-sweep", 60.0, work)
    one, two = (_scheduler(store, clock, job, name) for name in ("one", "two"))
    running = asyncio.create_task(one.run_if_due(job))
    await work.started.wait()
    assert await two.run_if_due(job) is None
    assert not await store.acquire_lease("app:user-sweep", "someone", timedelta(minutes=1))
    work.gate.set()
    run = await running
    assert run is not None
    assert run.state == "done"
    assert run.result == {"runs": 1}
    assert run.progress == {"stage": "step", "done": 1, "total": None}
    assert await store.acquire_lease("app:user-sweep", "someone", timedelta(minutes=1))


async def test_a_failed_run_is_retried_sooner() -> None:
    """A run that fails is recorded as failed and due again after retry_after, not every;
    a LeaseHeld inside the work (content sync's own lease) counts as skipped."""
    store, clock, work = InMemoryStateStore(), ManualClock(), _Counting()
    work.fail = SourceUnavailable("down", service="tmdb", operation="candidates")
    job = Periodic("content-sync", 86_400.0, work, retry_after=900.0)
    scheduler = _scheduler(store, clock, job, "one")
    run = await scheduler.run_if_due(job)
    assert run is not None
    assert (run.state, run.error) == ("failed", str(work.fail))
    clock.advance(timedelta(seconds=899))
    assert await scheduler.run_if_due(job) is None
    clock.advance(timedelta(seconds=1))
    work.fail = LeaseHeld("another worker is running content sync")
    run = await scheduler.run_if_due(job)
    assert run is not None
    assert run.state == "skipped"


async def test_first_due_comes_from_the_store() -> None:
    """A job's first due time may come from elsewhere in the store (a CLI content sync an
    hour ago: the next is due a day after it)."""
    store, clock, work = InMemoryStateStore(), ManualClock(), _Counting()
    last_cli_run = clock.now - timedelta(hours=1)

    async def first_due() -> datetime | None:
        return last_cli_run + timedelta(days=1)

    job = Periodic("content-sync", 86_400.0, work, first_due=first_due)
    scheduler = _scheduler(store, clock, job, "one")
    assert await scheduler.run_if_due(job) is None
    clock.advance(timedelta(hours=23))
    assert await scheduler.run_if_due(job) is not None


async def test_the_loops_run_and_stop_cleanly() -> None:
    """Started loops run due jobs; aclose cancels a run in progress (recorded as
    cancelled) and gives its lease back."""
    store, clock = InMemoryStateStore(), ManualClock()
    quick, slow = _Counting(), _Counting()
    slow.gate = asyncio.Event()
    jobs = [Periodic("quick", HOUR, quick), Periodic("slow", HOUR, slow)]
    board = JobBoard(clock)
    scheduler = Scheduler(store, jobs, board, clock=clock, owner="one", tick=0.01)
    scheduler.start()
    async with asyncio.timeout(10):
        await quick.started.wait()
        await slow.started.wait()
    await scheduler.aclose()
    assert quick.runs == slow.runs == 1
    states = {job.kind: job.state for job in board.recent()}
    assert states == {"quick": "done", "slow": "cancelled"}
    assert await store.acquire_lease("app:slow", "someone", timedelta(minutes=1))


async def test_the_board_returns_the_running_job_instead_of_a_second() -> None:
    """Starting work of a kind and subject that is running returns that job."""
    clock, work = ManualClock(), _Counting()
    work.gate = asyncio.Event()
    board = JobBoard(clock)
    first, started = board.start("user-sync", work, subject="ann")
    same, again = board.start("user-sync", work, subject="ann")
    other, _ = board.start("user-sync", work, subject="bo")
    assert started
    assert not again
    assert same is first
    assert other is not first
    work.gate.set()
    await asyncio.sleep(0)
    await board.aclose()
    await asyncio.sleep(0)
    assert {job.state for job in board.recent()} <= {"done", "cancelled"}


@pytest.mark.parametrize("jobs", [True])
@pytest.mark.parametrize(
    "settings",
    [AppConfig(scheduler=True, sweep_interval=HOUR, content_interval=HOUR, health_interval=HOUR)],
)
async def test_the_app_runs_its_jobs_in_the_background(
    store: InMemoryStateStore, app: Starlette, client: httpx.AsyncClient
) -> None:
    """With the scheduler on, the lifespan runs content sync, the sweep and the health
    round on their own; /healthz then shows the verdict and the scheduler's last runs."""
    await store.put_user(UserState("u1"))
    scheduler = app.state.reclio.scheduler
    assert scheduler is not None
    async with asyncio.timeout(60):
        while len(scheduler.last) < 3:  # noqa: ASYNC110 - polling the scheduler's own record
            await asyncio.sleep(0.05)
    assert {name: job.state for name, job in scheduler.last.items()} == {
        "content-sync": "done",
        "user-sweep": "done",
        "health": "done",
    }
    body = (await client.get("/healthz")).json()
    assert body["health"]["status"] == "ok"
    assert set(body["scheduler"]) == {"content-sync", "user-sweep", "health"}
    assert await store.get_cursor("app:content-sync:next") is not None
