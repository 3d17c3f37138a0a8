"""``reclio demo``: the whole pipeline on the embedded default, with no keys and no network.

A deterministic world (a generated catalog and a few hundred users' activity, see
`reclio.demo_data`) goes into in-memory sources; state lives in SQLite; content sync and
user sync run on it as they would in production; the demo user's feeds are built by the
same ``FeedBuilder`` an application uses, from the managed lists user sync wrote.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import attrs

from reclio.demo_data import DEMO_USER
from reclio.domain import FeedsResponse, Preferences, UserState
from reclio.feeds import FeedBuilder
from reclio.sync import SyncReport
from reclio.sync._embedded import embedded_pipelines

__all__ = ["DEMO_NOW", "DemoResult", "run_demo"]

DEMO_NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
"""The demo world's "now": fixed, so every run prints the same feeds."""


@attrs.frozen
class DemoResult:
    """What the demo did: the sync reports and the demo user's feeds."""

    user_id: str
    response: FeedsResponse
    reports: tuple[SyncReport, ...] = ()


async def run_demo(*, state_path: str | Path = ":memory:", users: int = 300) -> DemoResult:
    """Generate the demo world, run content sync and user sync on it, and build feeds.

    The real pipelines run end to end (`reclio.sync`): content sync fills the catalog,
    the recommender and the vector index; user sync pushes every user's activity and
    materializes their managed lists; the demo user's feeds then point at those lists.

    Args:
        state_path: SQLite file for the state (default: in memory, gone afterwards).
        users: How many users to generate (the demo user is one of them).

    The function prints nothing: the sync reports are returned, and the CLI prints them.
    """
    pipelines = embedded_pipelines(
        state_path=state_path, now=DEMO_NOW, users=users, clock=lambda: DEMO_NOW
    )
    store = pipelines.store
    try:
        # The demo user's preferences exist before the first sync, which keeps them.
        prefs = Preferences(excluded_movie_genres={27}, excluded_show_genres={10764})
        await store.put_user(UserState(DEMO_USER, preferences=prefs))
        content, sweep = await pipelines.sync_everything()
        reports = (content, SyncReport.total(f"users ({len(pipelines.user_ids)})", sweep.reports))
        builder = FeedBuilder(store, today=DEMO_NOW.date)
        response = await builder.build(DEMO_USER)
    finally:
        await store.aclose()
    return DemoResult(DEMO_USER, response, reports)
