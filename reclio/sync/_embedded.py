"""The embedded default, composed: every adapter in process, and the two sync pipelines.

Used by ``reclio demo`` and by ``reclio sync`` when the configuration names no external
service: a generated catalog and generated users' activity (`reclio.demo_data`) in the
in-memory sources, state in SQLite, the ``LocalRecommender``, the hashing embedder, an exact
vector index and an in-memory list sink. Nothing touches the network.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

import attrs

from reclio.adapters.local import LocalRecommender, LocalRecommenderConfig
from reclio.adapters.memory import (
    ExactVectorIndex,
    HashingEmbedder,
    InMemoryCatalogSource,
    InMemoryInteractionSource,
    InMemoryListSink,
)
from reclio.adapters.sqlite import SqliteStateStore
from reclio.demo_data import generate_activity, generate_catalog, load_into
from reclio.sync._config import ContentSyncConfig, UserSyncConfig
from reclio.sync._content import ContentSync
from reclio.sync._index import IndexSlot
from reclio.sync._user import SweepReport, UserSync
from reclio.domain.reports import ProgressCallback, SyncReport

__all__ = ["EmbeddedPipelines", "embedded_pipelines"]


@attrs.define
class EmbeddedPipelines:
    """The embedded default's adapters and pipelines, ready to run.

    Attributes:
        store: The SQLite state store (close it with ``await store.aclose()``).
        recommender: The local recommender.
        sink: The in-memory list sink.
        interactions: The in-memory interaction source, holding the generated users.
        index: The vector index slot content sync fills.
        content: Content sync.
        users: User sync.
    """

    store: SqliteStateStore
    recommender: LocalRecommender
    sink: InMemoryListSink
    interactions: InMemoryInteractionSource
    index: IndexSlot
    content: ContentSync
    users: UserSync

    @property
    def user_ids(self) -> Sequence[str]:
        """Every generated user."""
        return self.interactions.user_ids

    async def sync_everything(
        self, *, concurrency: int = 4, progress: ProgressCallback | None = None
    ) -> tuple[SyncReport, SweepReport]:
        """A fresh installation's first day: content, users, content again, users again.

        The first user syncs run before the catalog holds the titles users watched outside
        the ranked lists, and before the recommender has seen anyone else. So content sync
        runs again (it now fetches those titles, from the users' ledgers), the recommender
        is refitted on everyone, and a second pass (no new activity: nothing is fetched or
        pushed again) recomputes every user's lists.

        Returns:
            The two content runs as one report, and the two sweeps merged.
        """
        first_content = await self.content.run(progress=progress)
        first = await self.users.sweep(
            users=self.user_ids, concurrency=concurrency, progress=progress
        )
        second_content = await self.content.run(progress=progress)
        await self.recommender.fit()
        second = await self.users.sweep(
            users=self.user_ids, concurrency=concurrency, progress=progress, force=True
        )
        content = SyncReport.total("content", [first_content, second_content])
        merged = SweepReport(
            first.reports + second.reports,
            first.lease_held + second.lease_held,
            first.failed + second.failed,
        )
        return content, merged


def embedded_pipelines(
    *,
    state_path: str | Path,
    now: datetime | None = None,
    users: int = 300,
    clock: Callable[[], datetime] | None = None,
    user_config: UserSyncConfig | None = None,
    content_config: ContentSyncConfig | None = None,
) -> EmbeddedPipelines:
    """Compose the embedded default around a generated world.

    Args:
        state_path: SQLite file, or ``":memory:"``.
        now: The moment the generated activity leads up to (default: ``clock()``).
        users: Generated users (the demo user is one of them).
        clock: The pipelines' clock (default: the wall clock).
        user_config: User sync tunables.
        content_config: Content sync tunables.
    """
    from reclio._clock import utc_now  # noqa: PLC0415 - keep the default visible here

    tick = clock or utc_now
    moment = now or tick()
    catalog_titles = generate_catalog()
    activity = generate_activity(catalog_titles, users=users, now=moment)
    catalog = InMemoryCatalogSource(clock=tick)
    interactions = InMemoryInteractionSource(clock=tick)
    load_into(
        catalog_titles,
        activity,
        catalog_source=catalog,
        interaction_source=interactions,
        changed_at=moment,
    )
    store = SqliteStateStore(state_path, clock=tick)
    # The embedded default refits explicitly (sync_everything) instead of every 10 % of
    # growth while hundreds of first syncs stream in.
    recommender = LocalRecommender(LocalRecommenderConfig(refit_fraction=1e9))
    sink = InMemoryListSink()
    index = IndexSlot(ExactVectorIndex)
    content = ContentSync(
        catalog=catalog,
        recommender=recommender,
        embedder=HashingEmbedder(),
        store=store,
        index=index,
        config=content_config,
        clock=tick,
    )
    user_sync = UserSync(
        interactions=interactions,
        recommender=recommender,
        sink=sink,
        store=store,
        index=index,
        config=user_config,
        clock=tick,
    )
    return EmbeddedPipelines(store, recommender, sink, interactions, index, content, user_sync)
