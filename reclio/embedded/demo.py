"""``reclio demo``: the whole pipeline on the embedded default, with no keys and no network.

A deterministic world (a generated catalog and a few hundred users' activity, see
`reclio.embedded.world`) feeds the in-memory sources; state and the managed lists live in
SQLite; content sync and user sync run on it as they would in production; the demo user's
feeds are built by the same ``FeedBuilder`` an application uses, from the managed lists
user sync wrote. Everything is wired by `reclio.bootstrap.build`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import attrs

from reclio.bootstrap import Runtime, build
from reclio.config import ReclioConfig
from reclio.domain import FeedsResponse, Preferences, ProgressCallback, SyncReport, UserState
from reclio.embedded.world import DEMO_USER, WORLD_MOMENT
from reclio.sync import SweepReport

__all__ = ["DEMO_NOW", "DemoResult", "run_demo", "sync_everything"]

DEMO_NOW: datetime = WORLD_MOMENT
"""The demo's "now": fixed, so every run prints the same feeds."""


@attrs.frozen
class DemoResult:
    """What the demo did: the sync reports and the demo user's feeds."""

    user_id: str
    response: FeedsResponse
    reports: tuple[SyncReport, ...] = ()


async def sync_everything(
    runtime: Runtime, *, concurrency: int = 4, progress: ProgressCallback | None = None
) -> tuple[SyncReport, SweepReport]:
    """A fresh installation's first day: content, users, content again, users again.

    The first user syncs run before the catalog holds the titles users watched outside the
    ranked lists, and before the recommender has seen anyone else. So content sync runs again
    (it now fetches those titles, from the users' histories), the recommender is refitted on
    everyone, and a second pass (no new activity: nothing is fetched or pushed again)
    recomputes every user's lists.

    Returns:
        The two content runs as one report, and the two sweeps merged.
    """
    jobs = runtime.jobs
    users = jobs.world.user_ids if jobs.world is not None else await runtime.store.user_ids()
    first_content = await jobs.content_sync.run(progress=progress)
    first = await jobs.user_sync.sweep(users=users, concurrency=concurrency, progress=progress)
    second_content = await jobs.content_sync.run(progress=progress)
    fit = getattr(jobs.recommender, "fit", None)  # the local engine refits on demand
    if fit is not None:
        await fit()
    second = await jobs.user_sync.sweep(
        users=users, concurrency=concurrency, progress=progress, force=True
    )
    content = SyncReport.total("content", [first_content, second_content])
    merged = SweepReport(
        first.reports + second.reports,
        first.lease_held + second.lease_held,
        first.failed + second.failed,
    )
    return content, merged


async def run_demo(
    *,
    state_path: str | Path = ":memory:",
    users: int = 300,
    progress: ProgressCallback | None = None,
) -> DemoResult:
    """Generate the demo world, run content sync and user sync on it, and build feeds.

    Args:
        state_path: SQLite file for the state and lists (default: in memory, gone after).
        users: How many users to generate (the demo user is one of them).
        progress: Called with each step of the syncs (for progress bars).

    The function prints nothing: the sync reports are returned, and the CLI prints them.
    """
    config = ReclioConfig.embedded_default(state_path)
    async with build(config, clock=lambda: DEMO_NOW, world_users=users) as runtime:
        # The demo user's preferences exist before the first sync, which keeps them.
        prefs = Preferences(excluded_movie_genres={27}, excluded_show_genres={10764})
        if await runtime.store.get_user(DEMO_USER) is None:
            await runtime.store.put_user(UserState(DEMO_USER, preferences=prefs))
        content, sweep = await sync_everything(runtime, progress=progress)
        reports = (content, SyncReport.total(f"users ({users})", sweep.reports))
        response = await runtime.feed_builder.build(DEMO_USER)
    return DemoResult(DEMO_USER, response, reports)
