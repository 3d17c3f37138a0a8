"""The app: routes, the shared state of a running app, and the lifespan that runs the jobs."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

import attrs
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import Mount, Route

from examples.chilllink_app.admin import AdminGuard, AdminSecret, admin_routes, run_sweep
from examples.chilllink_app.feeds import FeedsEndpoint, FeedsService, ManifestEndpoint
from examples.chilllink_app.health import healthz, publish
from examples.chilllink_app.heap import FREEZE_INTERVAL, HeapFreezer
from examples.chilllink_app.jobs import JobBoard, Periodic, Scheduler, worker_name
from reclio import bootstrap
from reclio.config import AppConfig, ReclioConfig
from reclio.errors import ConfigurationError, ReclioError
from reclio.sync import LAST_RUN_CURSOR

if TYPE_CHECKING:
    from starlette.types import Scope

    from reclio.domain import ProgressCallback
    from reclio.ports import Recommender

__all__ = ["AppState", "create_app", "default_build", "periodic_jobs"]

CONTENT_LEASE_TTL: Final = timedelta(minutes=30)
SWEEP_LEASE_TTL: Final = timedelta(minutes=10)


def default_build(config: ReclioConfig) -> bootstrap.Runtime:
    """The runtime of an app process: with the sync side when it runs jobs or has admin."""
    app = config.app
    return bootstrap.build(config, jobs=app.scheduler or app.admin_token is not None)


@attrs.define
class AppState:
    """What the routes of a running app share (``app.state.reclio``)."""

    runtime: bootstrap.Runtime
    settings: AppConfig
    feeds: FeedsService
    board: JobBoard
    admin: AdminSecret
    scheduler: Scheduler | None = None

    @property
    def jobs(self) -> bootstrap.Jobs | None:
        """The runtime's sync side, or ``None`` for a process that only serves feeds."""
        try:
            return self.runtime.jobs
        except ConfigurationError:
            return None

    @property
    def recommender(self) -> Recommender | None:
        """The recommender, when this process runs jobs."""
        jobs = self.jobs
        return jobs.recommender if jobs is not None else None

    def require_jobs(self) -> bootstrap.Jobs:
        """The sync side, or a 503 for a process that only serves feeds."""
        jobs = self.jobs
        if jobs is None:
            detail = (
                "this app process serves feeds only: set RECLIO_APP_SCHEDULER=on (or an admin"
                " token) so it builds the sync side"
            )
            raise HTTPException(503, detail=detail)
        return jobs


def periodic_jobs(runtime: bootstrap.Runtime, settings: AppConfig) -> list[Periodic]:
    """Content sync (daily), the user sweep (due users only) and the health round."""
    jobs = runtime.jobs
    store = runtime.store

    async def content(progress: ProgressCallback) -> Mapping[str, object]:
        return (await jobs.content_sync.run(progress=progress)).to_dict()

    async def content_first_due() -> datetime | None:
        # A content sync run by the CLI counts: the next one is a day after it.
        text = await store.get_cursor(LAST_RUN_CURSOR)
        if text is None:
            return None
        return datetime.fromisoformat(text) + timedelta(seconds=settings.content_interval)

    async def sweep(progress: ProgressCallback) -> Mapping[str, object]:
        return await run_sweep(jobs, concurrency=settings.sweep_concurrency, progress=progress)

    async def health(_progress: ProgressCallback) -> Mapping[str, object]:
        report = await runtime.health.check_once()
        await publish(store, report)
        return report.as_json()

    return [
        Periodic(
            "content-sync",
            settings.content_interval,
            content,
            lease_ttl=CONTENT_LEASE_TTL,
            first_due=content_first_due,
        ),
        Periodic("user-sweep", settings.sweep_interval, sweep, lease_ttl=SWEEP_LEASE_TTL),
        Periodic("health", settings.health_interval, health, retry_after=settings.health_interval),
    ]


def _admin_secret(scope: Scope) -> AdminSecret:
    return scope["app"].state.reclio.admin  # type: ignore[no-any-return]


def create_app(
    config: ReclioConfig | None = None,
    *,
    build: Callable[[ReclioConfig], bootstrap.Runtime] | None = None,
    scheduler_tick: float = 60.0,
    reuse_users: int = 10_000,
    count_window: float = 60.0,
    freeze_interval: float | None = FREEZE_INTERVAL,
) -> Starlette:
    """The ChillLink app. Nothing is read or opened until the server starts it (lifespan).

    Args:
        config: The configuration (default: ``ReclioConfig.from_env()`` at startup).
        build: Makes the runtime from the config (default: `default_build`); tests pass
            ``bootstrap.build`` with overrides.
        scheduler_tick: Longest sleep between two looks at a job's due time (seconds).
        reuse_users: Users whose last ``/feeds`` body is reused while their state is
            unchanged (`FeedsService`); 0 builds every body afresh.
        count_window: Seconds in which a user's ``/feeds`` requests count once (they set
            the sync cadence); 0 counts every request.
        freeze_interval: Seconds between freezes of the long-lived objects, which keeps
            the collector's full passes (and so the loop's stalls) short (`HeapFreezer`);
            ``None`` leaves the collector alone.
    """

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            settled = config or ReclioConfig.from_env()
            runtime = (build or default_build)(settled)
        except ReclioError as exc:
            if config is not None or build is not None:
                raise  # an embedding application handles its own errors
            # Run under uvicorn: one line that names the fix, not a 30-line traceback.
            sys.stderr.write(f"reclio: the app cannot start: {exc}\n")
            sys.stderr.flush()
            os._exit(2)
        settings = settled.app
        async with runtime:
            board = JobBoard(runtime.clock)
            feeds = FeedsService(
                runtime.feed_builder,
                runtime.store,
                runtime.feed_requests,
                user_id_param=settings.user_id_param,
                reuse_users=reuse_users,
                count_window=count_window,
            )
            await feeds.prepare()
            state = AppState(runtime, settings, feeds, board, AdminSecret(settings.admin_token))
            if settings.scheduler and state.jobs is not None:
                state.scheduler = Scheduler(
                    runtime.store,
                    periodic_jobs(runtime, settings),
                    board,
                    clock=runtime.clock,
                    owner=worker_name(),
                    tick=scheduler_tick,
                )
            app.state.reclio = state
            freezer = HeapFreezer(freeze_interval) if freeze_interval is not None else None
            if freezer is not None:
                freezer.start()
            if state.scheduler is not None:
                state.scheduler.start()
            try:
                yield
            finally:
                if state.scheduler is not None:
                    await state.scheduler.aclose()
                await board.aclose()
                if freezer is not None:
                    await freezer.aclose()

    manifest = ManifestEndpoint()
    return Starlette(
        routes=[
            # First, so every /admin/... path meets the guard (even one no route matches).
            Mount("/admin", app=AdminGuard(admin_routes(), _admin_secret)),
            Route("/manifest", manifest, methods=["GET"]),
            Route("/feeds", FeedsEndpoint(by_token=False), methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/{token}/manifest", manifest, methods=["GET"]),
            Route("/{token}/feeds", FeedsEndpoint(by_token=True), methods=["GET"]),
        ],
        lifespan=lifespan,
    )
