"""One process of the PostgreSQL sweep tests: set up, work as a Procrastinate worker, or pick.

Usage: ``python _pg_worker.py MODE URL LISTS USERS LOG [SLOW CONCURRENCY]``, where MODE is
``setup`` (content sync, then every generated user registered as due), ``work`` (a worker
until SIGTERM; each interaction call takes SLOW seconds), ``defer-content`` and
``defer-demo`` (queue a content run, or a forced sync of the demo user), ``lists`` (print
the demo user's lists as JSON) or ``picks`` (a late worker: force-sync the demo user as a
job would, then print its lists).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from datetime import timedelta
from pathlib import Path

from reclio.adapters.memory import InMemoryInteractionSource
from reclio.adapters.postgres import PostgresConfig, PostgresStateStore
from reclio.adapters.sqlite import SqliteListSink
from reclio.bootstrap import build, load_into
from reclio.config import ReclioConfig
from reclio.domain import UserState
from reclio.embedded.demo import DEMO_NOW
from reclio.embedded.world import DEMO_USER, WORLD_MOMENT, generate_activity, generate_catalog
from reclio.jobs import (
    CONTENT_TASK,
    SyncJobs,
    WorkerSettings,
    defer_user_sync,
    make_app,
    serve,
)
from reclio.sync import UserSyncConfig
from reclio.testing.faults import FaultPlan, FlakyInteractionSource

SETTINGS = WorkerSettings(
    enqueue_cron="* * * * * *",  # every second
    stalled_cron="* * * * * *",
    content_cron="0 0 1 1 *",  # never during a test: content runs when deferred
    heartbeat_interval=0.5,
    stalled_after=2.0,
    backoff_initial=0.5,
    backoff_max=2.0,
    fetch_interval=0.5,
)


async def main(mode: str, url: str, lists: str, users: int, slow: float) -> None:
    store = PostgresStateStore(PostgresConfig(url))
    activity = generate_activity(generate_catalog(), users=users, now=WORLD_MOMENT)
    source = InMemoryInteractionSource(clock=lambda: DEMO_NOW)
    load_into([], activity, interaction_source=source)
    plan = FaultPlan()
    plan.delay("interactions.*", slow)
    config = ReclioConfig.embedded_default(lists)
    runtime = build(
        config,
        store=store,
        interactions=FlakyInteractionSource(source, plan),
        clock=lambda: DEMO_NOW,
        user_sync=UserSyncConfig(lease_ttl=timedelta(seconds=10)),
    )
    try:
        async with runtime:
            if mode == "setup":
                await runtime.content_sync.run()
                for user_id in sorted(activity):
                    await store.put_user(UserState(user_id))
            elif mode == "work":
                await serve(runtime, url, concurrency=int(sys.argv[7]), settings=SETTINGS)
            elif mode == "defer-content":
                async with make_app(url).open_async() as app:
                    await app.configure_task(
                        CONTENT_TASK, queue=SETTINGS.queue, lock=CONTENT_TASK
                    ).defer_async(timestamp=0)
            elif mode == "defer-demo":
                async with make_app(url).open_async() as app:
                    assert await defer_user_sync(app, DEMO_USER, force=True, settings=SETTINGS)
            else:
                if mode == "picks":
                    async with make_app(url).open_async() as app:
                        jobs = SyncJobs(runtime, app, SETTINGS)
                        await jobs.start()
                        assert await jobs.sync_user(DEMO_USER, force=True) == "synced"
                state = await store.get_user(DEMO_USER)
                assert state is not None
                sink = SqliteListSink(lists, read_only=True)
                out = {
                    record.kind.name.lower(): [
                        ref.item_id for ref in await sink.items(DEMO_USER, record.list_id)
                    ]
                    for record in state.lists
                }
                await sink.aclose()
                print(json.dumps(out))  # noqa: T201 - the result, for the test
    finally:
        await store.aclose()


if __name__ == "__main__":
    mode, url, lists, users, log = sys.argv[1:6]
    logging.basicConfig(
        filename=log, level=logging.WARNING, format="%(asctime)s %(name)s %(message)s"
    )
    logging.getLogger("reclio.jobs").setLevel(logging.INFO)
    slow = float(sys.argv[6]) if len(sys.argv) > 6 else 0.0
    asyncio.run(main(mode, url, str(Path(lists)), int(users), slow))
