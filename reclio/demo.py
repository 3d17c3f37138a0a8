"""``reclio demo``: the whole pipeline on the embedded default, with no keys and no network.

A deterministic world (a generated catalog and a few hundred users' activity, see
`reclio.demo_data`) goes into in-memory sources; state lives in SQLite; the demo
user's feeds are built by the same ``FeedBuilder`` an application uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs

from reclio.adapters.sqlite import SqliteStateStore
from reclio.demo_data import DEMO_USER, UserActivity, generate_activity, generate_catalog
from reclio.domain import (
    Anchor,
    CatalogRecord,
    FeedsResponse,
    ItemRef,
    MediaType,
    Preferences,
    Title,
    UserState,
)
from reclio.feeds import FeedBuilder
from reclio.sync import SyncReport
from reclio.sync._plan import Rating, taste_profile

__all__ = ["DEMO_NOW", "DemoResult", "run_demo"]

DEMO_NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
"""The demo world's "now": fixed, so every run prints the same feeds."""


@attrs.frozen
class DemoResult:
    """What the demo did: the sync reports and the demo user's feeds."""

    user_id: str
    response: FeedsResponse
    reports: tuple[SyncReport, ...] = ()


def _anchor(titles: dict[ItemRef, Title], refs: Sequence[ItemRef]) -> Anchor | None:
    known = [ref for ref in refs if ref in titles]
    return Anchor(known[0], titles[known[0]].title) if known else None


def _state(user: UserActivity, titles: dict[ItemRef, Title]) -> UserState:
    """The demo user's state, derived directly from their activity (no recommender yet)."""
    views: dict[ItemRef, datetime] = {}
    for view in sorted(user.views, key=lambda v: v.at):
        views[view.ref] = view.at
    ratings = {r.ref: Rating(r.value or 0.0, r.at) for r in user.ratings}
    genres = {ref: [g.id for g in t.genres] for ref, t in titles.items()}
    newest = sorted(views, key=views.__getitem__, reverse=True)
    best = sorted(ratings, key=lambda ref: (-ratings[ref].value, ref))

    def of(refs: Sequence[ItemRef], media_type: MediaType) -> list[ItemRef]:
        return [ref for ref in refs if ref.media_type is media_type]

    return UserState(
        user.user_id,
        taste=taste_profile(views, ratings, genres, now=DEMO_NOW, half_life=timedelta(days=365)),
        last_watched_movie=_anchor(titles, of(newest, MediaType.MOVIE)),
        last_watched_show=_anchor(titles, of(newest, MediaType.TV)),
        highest_rated_movie=_anchor(titles, of(best, MediaType.MOVIE)),
        highest_rated_show=_anchor(titles, of(best, MediaType.TV)),
        movies_watched=len(of(list(views), MediaType.MOVIE)),
        shows_watched=len(of(list(views), MediaType.TV)),
        preferences=Preferences(excluded_movie_genres={27}, excluded_show_genres={10764}),
    )


async def run_demo(
    *, state_path: str | Path = ":memory:", users: int = 300, quiet: bool = False
) -> DemoResult:
    """Generate the demo world, derive the demo user's state, and build their feeds.

    Args:
        state_path: SQLite file for the state (default: in memory, gone afterwards).
        users: How many users to generate (the demo user is one of them).
        quiet: Print no progress (for ``--json``).
    """
    del quiet  # nothing long-running to report yet
    catalog = generate_catalog()
    activity = generate_activity(catalog, users=users, now=DEMO_NOW)
    titles = {title.ref: title for title in catalog}
    store = SqliteStateStore(state_path)
    try:
        await store.put_titles([CatalogRecord.of(title) for title in catalog])
        await store.put_user(_state(activity[DEMO_USER], titles))
        builder = FeedBuilder(store, today=DEMO_NOW.date)
        response = await builder.build(DEMO_USER)
    finally:
        await store.aclose()
    return DemoResult(DEMO_USER, response)


