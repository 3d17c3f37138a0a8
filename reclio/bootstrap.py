"""The composition root: the one place reclio's adapters are chosen, built and wired.

`build` turns a `ReclioConfig` into a `Runtime`, an async context manager that owns every
adapter and shared resource it made (state store, HTTP clients and rate limiters, the
engine, the feed-request counter) and closes them all on exit::

    async with build(ReclioConfig.from_env()) as runtime:
        response = await runtime.feed_builder.build("user-1")

For each port a configured service wins; a missing one selects the embedded default for
that port, said in one INFO line (logger ``reclio.bootstrap``). Tests and applications pass
overrides (``build(config, store=..., recommender=...)``); an override is used as given and
is not closed by the runtime. The CLI, the demo and the example app all get their graph
here; no other module constructs adapters (an import-linter contract holds this).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self

import attrs

from reclio._clock import Clock, utc_now
from reclio.config import ReclioConfig
from reclio.diagnostics import HealthMonitor
from reclio.domain import Title
from reclio.embedded.world import (
    WORLD_MOMENT,
    UserActivity,
    generate_activity,
    generate_catalog,
)
from reclio.errors import ConfigurationError, SourceError
from reclio.feeds import DEFAULT_LAYOUT, FeedBuilder, FeedRequestCounter, FeedSpec
from reclio.ports import (
    CandidateList,
    CatalogSource,
    Embedder,
    InteractionSource,
    ListSink,
    Recommender,
    SharedVectorIndex,
    StateStore,
    SupportsAclose,
    VectorIndex,
)
from reclio.sync import (
    ContentSync,
    ContentSyncConfig,
    UserSync,
    UserSyncConfig,
)
from reclio.sync import rebuild_index as _rebuild_index

if TYPE_CHECKING:
    from reclio.adapters.memory import InMemoryCatalogSource, InMemoryInteractionSource
    from reclio.adapters.trakt import TraktSession

__all__ = ["EmbeddedWorld", "Jobs", "Runtime", "build", "load_into"]

_log = logging.getLogger("reclio.bootstrap")


@attrs.frozen
class EmbeddedWorld:
    """The generated catalog and users the embedded default syncs (no keys, no network).

    Attributes:
        user_ids: Every generated user, sorted (the demo user is one of them).
        moment: The instant the generated activity leads up to.
    """

    user_ids: tuple[str, ...]
    moment: datetime


@attrs.frozen
class Jobs:
    """The adapters and services a process needs to run syncs (not to serve feeds).

    Attributes:
        catalog: The catalog source.
        interactions: The interaction source.
        recommender: The recommender.
        embedder: The embedder.
        index: The vector index (a slot content sync swaps rebuilt indexes into).
        content_sync: Content sync on these adapters.
        user_sync: User sync on these adapters.
        world: The generated world, when interactions are the embedded default's.
    """

    catalog: CatalogSource
    interactions: InteractionSource
    recommender: Recommender
    embedder: Embedder
    index: SharedVectorIndex
    content_sync: ContentSync
    user_sync: UserSync
    world: EmbeddedWorld | None


@attrs.define(eq=False)
class Runtime:
    """Every adapter of one process, wired, with the services built on them.

    Use it as ``async with``: entering prepares what the services need (the engine restored
    from the store and the vector index loaded, when the runtime runs jobs; the
    feed-request flusher started); leaving flushes the counts and closes everything the
    runtime made, in reverse order.

    Stability: caller-stable; attributes may be added.

    Attributes:
        config: What it was built from.
        store: The state store (every state role).
        sink: The list sink (where the managed lists are).
        feed_requests: Counts ``/feeds`` requests in memory; flushed on a timer.
        feed_builder: Builds a user's feeds from the store (counting known users' requests).
        trakt: The process's Trakt session (OAuth, limits), when Trakt is configured.
        health: Pings every adapter that can (state store, recommender, ...); ``/healthz``
            reads ``health.last``. Probes on a schedule when built with ``health_interval``.
        clock: The services' clock.
    """

    config: ReclioConfig
    store: StateStore
    sink: ListSink
    feed_requests: FeedRequestCounter
    feed_builder: FeedBuilder
    health: HealthMonitor
    clock: Clock
    trakt: TraktSession | None
    _jobs: Jobs | None
    _owned: list[object]
    _flush_interval: float
    _restore: Callable[[StateStore], Awaitable[int]] | None = None
    _health_interval: float | None = None
    _tasks: list[asyncio.Task[object]] = attrs.Factory(list)

    @property
    def jobs(self) -> Jobs:
        """The sync side: sources, recommender, sink, embedder, index and both pipelines.

        Raises:
            ConfigurationError: the runtime was built to serve feeds only (``jobs=False``).
        """
        if self._jobs is None:
            msg = "this runtime only serves feeds: build it with jobs=True to run syncs"
            raise ConfigurationError(msg)
        return self._jobs

    @property
    def content_sync(self) -> ContentSync:
        """Content sync (see `jobs`)."""
        return self.jobs.content_sync

    @property
    def user_sync(self) -> UserSync:
        """User sync (see `jobs`)."""
        return self.jobs.user_sync

    async def __aenter__(self) -> Self:
        try:
            await self._start()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _start(self) -> None:
        jobs = self._jobs
        if jobs is not None:
            if self._restore is not None:
                loaded = await self._restore(self.store)
                _log.info("local engine restored from the store: %d interactions", loaded)
            vectors = await _rebuild_index(self.store, jobs.index)
            _log.debug("vector index loaded: %d vectors", vectors)
        self._tasks.append(
            asyncio.create_task(
                self.feed_requests.run(self._flush_interval), name="reclio-feed-requests"
            )
        )
        if self._health_interval is not None:
            self._tasks.append(asyncio.create_task(self.health.run(), name="reclio-health"))

    async def aclose(self) -> None:
        """Flush pending counts and close everything the runtime made (idempotent)."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.feed_requests.flush()
        owned, self._owned = self._owned, []
        for resource in reversed(owned):
            if isinstance(resource, SupportsAclose):
                await resource.aclose()


def _state_store(config: ReclioConfig, clock: Clock, *, read_only: bool) -> StateStore:
    from reclio.adapters.sqlite import SqliteStateStore  # noqa: PLC0415 - chosen by config

    if config.state.url is not None:
        from reclio.adapters.postgres import (  # noqa: PLC0415 - the extra reclio[postgres]
            PostgresConfig,
            PostgresStateStore,
        )

        # The database's clock, not the services': a fixed demo clock would mean leases
        # never expire.
        _log.info("state: PostgreSQL (RECLIO_STATE_URL)")
        return PostgresStateStore(PostgresConfig(config.state.url))
    path = config.state.path
    if read_only:
        if str(path) != ":memory:" and not Path(path).is_file():
            msg = f"no state file at {path}: run `reclio demo --state {path}` or a sync first"
            raise ConfigurationError(msg)
        return SqliteStateStore(path, clock=clock, read_only=True)
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)  # a fresh machine has no folder
    return SqliteStateStore(path, clock=clock)


def build(
    config: ReclioConfig | None = None,
    *,
    jobs: bool = True,
    read_only: bool = False,
    count_feed_requests: bool = True,
    store: StateStore | None = None,
    catalog: CatalogSource | None = None,
    interactions: InteractionSource | None = None,
    recommender: Recommender | None = None,
    sink: ListSink | None = None,
    embedder: Embedder | None = None,
    index: Callable[[], VectorIndex] | None = None,
    clock: Clock | None = None,
    today: Callable[[], date] | None = None,
    layout: Sequence[FeedSpec] = DEFAULT_LAYOUT,
    user_sync: UserSyncConfig | None = None,
    content_sync: ContentSyncConfig | None = None,
    world_users: int = 300,
    flush_interval: float = 5.0,
    health_interval: float | None = None,
) -> Runtime:
    """Wire every port from ``config`` (default: `ReclioConfig.from_env`) and the overrides.

    Args:
        config: What to build.
        jobs: Also build the sync side (`Runtime.jobs`); ``False`` for a process that only
            serves feeds, which then opens nothing but the state store and the list sink.
        read_only: Open the state for reading only (a command that only looks): a missing
            file, or one that is not a reclio state, is a one-line `ConfigurationError`, and
            nothing is ever written (no tables, no counts). Implies ``jobs=False``.
        count_feed_requests: The feed builder counts known users' requests (they set how
            often a user is synced); ``False`` for a command that only looks.
        store: Use this state store instead of the configured one.
        catalog: Use this catalog source.
        interactions: Use this interaction source.
        recommender: Use this recommender.
        sink: Use this list sink.
        embedder: Use this embedder.
        index: Makes empty vector indexes (default: from ``config.vectors``).
        clock: The services' clock (default: the wall clock).
        today: The feeds' date (default: the clock's date).
        layout: The feeds, in order.
        user_sync: User sync tunables.
        content_sync: Content sync tunables.
        world_users: Users in the generated world (embedded interactions only).
        flush_interval: Seconds between writes of the buffered feed-request counts.
        health_interval: Probe every adapter this often (seconds) while the runtime runs;
            ``None``: only on `HealthMonitor.check_once`.

    Raises:
        ConfigurationError: a configured service cannot be built; the message names the
            variable to fix.
    """
    config = config or ReclioConfig.from_env()
    tick = clock or utc_now
    owned: list[object] = []
    if read_only:
        jobs, count_feed_requests = False, False
    if store is None:
        try:
            store = _state_store(config, tick, read_only=read_only)
        except SourceError as exc:
            if jobs or read_only:
                raise
            # A process that serves feeds keeps answering (non-personal rows, /healthz
            # degraded) rather than dying on a damaged state file.
            from reclio.adapters._unavailable import unavailable_store  # noqa: PLC0415

            _log.error("the state store could not open, serving without it: %s", exc)
            store = unavailable_store(str(exc))
        owned.append(store)
    counter = FeedRequestCounter(store, clock=tick)
    feed_builder = FeedBuilder(
        store,
        counter=counter if count_feed_requests else None,
        layout=layout,
        today=today or (lambda: tick().date()),
    )
    wired = _Wiring(config, tick, owned, world_users, store)
    sink = sink or wired.sink(read_only=not jobs)
    built: Jobs | None = None
    if jobs:
        built = wired.jobs(
            store,
            sink,
            catalog=catalog,
            interactions=interactions,
            recommender=recommender,
            embedder=embedder,
            index=index,
            user_sync=user_sync,
            content_sync=content_sync,
        )
    probes: dict[str, object] = {"state": store, "lists": sink}
    if built is not None:
        probes |= {
            "catalog": built.catalog,
            "interactions": built.interactions,
            "recommender": built.recommender,
        }
    health = HealthMonitor(probes, interval=health_interval or 3600.0, clock=tick)
    return Runtime(
        config=config,
        store=store,
        sink=sink,
        feed_requests=counter,
        feed_builder=feed_builder,
        health=health,
        clock=tick,
        trakt=wired.trakt() if config.trakt is not None else None,
        jobs=built,
        owned=owned,
        flush_interval=flush_interval,
        restore=wired.restore,
        health_interval=health_interval,
    )


@attrs.define
class _Wiring:
    """One decision per port: the configured service, else the embedded default."""

    config: ReclioConfig
    clock: Clock
    owned: list[object]
    world_users: int
    store: StateStore
    restore: Callable[[StateStore], Awaitable[int]] | None = None
    _trakt: TraktSession | None = None

    def trakt(self) -> TraktSession:
        """One Trakt session per process: its limiter, write pacer and tokens are shared."""
        if self._trakt is None:
            from reclio.adapters.trakt import (  # noqa: PLC0415 - only when configured
                TraktSession,
                TraktWritePacer,
                trakt_limiter,
            )

            trakt = self.config.trakt
            assert trakt is not None  # noqa: S101 - callers check
            self._trakt = TraktSession(
                trakt,
                store=self.store,
                policy=self.config.http,
                limiter=trakt_limiter(trakt, self.config.http),
                pacer=TraktWritePacer(trakt.writes_per_second),
                clock=self.clock,
            )
            self.owned.append(self._trakt)
            _log.info("Trakt: the app's API at %s", trakt.base_url)
        return self._trakt

    def jobs(
        self,
        store: StateStore,
        sink: ListSink,
        *,
        catalog: CatalogSource | None,
        interactions: InteractionSource | None,
        recommender: Recommender | None,
        embedder: Embedder | None,
        index: Callable[[], VectorIndex] | None,
        user_sync: UserSyncConfig | None,
        content_sync: ContentSyncConfig | None,
    ) -> Jobs:
        world, catalog, interactions = self._sources(catalog, interactions)
        recommender = recommender or self._recommender()
        embedder = embedder or self._embedder()
        if content_sync is None and self.config.tmdb is not None:
            pages = self.config.tmdb.candidate_pages
            content_sync = ContentSyncConfig(pages=dict.fromkeys(CandidateList, pages))
        slot = self._index_slot(index)
        content = ContentSync(
            catalog=catalog,
            recommender=recommender,
            embedder=embedder,
            store=store,
            index=slot,
            config=content_sync,
            clock=self.clock,
        )
        users = UserSync(
            interactions=interactions,
            recommender=recommender,
            sink=sink,
            store=store,
            index=slot,
            config=user_sync,
            clock=self.clock,
        )
        return Jobs(
            catalog=catalog,
            interactions=interactions,
            recommender=recommender,
            embedder=embedder,
            index=slot,
            content_sync=content,
            user_sync=users,
            world=world,
        )

    def _sources(
        self, catalog: CatalogSource | None, interactions: InteractionSource | None
    ) -> tuple[EmbeddedWorld | None, CatalogSource, InteractionSource]:
        config = self.config
        want_catalog = catalog is None and config.tmdb is None
        want_users = interactions is None and config.trakt is None
        if catalog is None and config.tmdb is not None:
            from reclio.adapters.tmdb import (  # noqa: PLC0415 - only when configured
                TmdbCatalogSource,
                tmdb_limiter,
            )

            # One limiter per process: every task's TMDB calls share TMDB's budget.
            limiter = tmdb_limiter(config.tmdb, config.http)
            catalog = TmdbCatalogSource(
                config.tmdb, policy=config.http, limiter=limiter, clock=self.clock
            )
            self.owned.append(catalog)
            _log.info("catalog: TMDB at %s", config.tmdb.base_url)
        if interactions is None and config.trakt is not None:
            from reclio.adapters.trakt import TraktInteractionSource  # noqa: PLC0415

            interactions = TraktInteractionSource(self.trakt())
        world: EmbeddedWorld | None = None
        if want_catalog or want_users:
            from reclio.adapters.memory import (  # noqa: PLC0415 - pulls numpy; the default only
                InMemoryCatalogSource,
                InMemoryInteractionSource,
            )

            titles = generate_catalog()
            if want_catalog:
                catalog = InMemoryCatalogSource(clock=self.clock)
                load_into(titles, {}, catalog_source=catalog, changed_at=WORLD_MOMENT)
                _log.info("catalog: the embedded demo catalog (RECLIO_TMDB_TOKEN is unset)")
            if want_users:
                activity = generate_activity(titles, users=self.world_users, now=WORLD_MOMENT)
                world = EmbeddedWorld(tuple(sorted(activity)), WORLD_MOMENT)
                interactions = InMemoryInteractionSource(clock=self.clock)
                load_into([], activity, interaction_source=interactions)
                _log.info(
                    "interactions: %d generated users (RECLIO_TRAKT_* unset)", self.world_users
                )
        assert catalog is not None  # noqa: S101 - chosen above
        assert interactions is not None  # noqa: S101
        return world, catalog, interactions

    def sink(self, *, read_only: bool) -> ListSink:
        if self.config.trakt is not None:
            from reclio.adapters.trakt import TraktListSink  # noqa: PLC0415

            _log.info("lists: the users' Trakt accounts")
            return TraktListSink(self.trakt())
        from reclio.adapters.sqlite import SqliteListSink  # noqa: PLC0415

        sink = SqliteListSink(self.config.state.path, read_only=read_only)
        self.owned.append(sink)
        _log.info("lists: kept in the state file (no Trakt account)")
        return sink

    def _recommender(self) -> Recommender:
        if self.config.recombee is not None:
            from reclio.adapters.recombee import RecombeeRecommender  # noqa: PLC0415 - an extra

            remote = RecombeeRecommender(self.config.recombee)
            self.owned.append(remote)
            _log.info("recommender: Recombee database %s", self.config.recombee.database_id)
            return remote
        from reclio.adapters.local import (  # noqa: PLC0415
            LocalRecommender,
            LocalRecommenderConfig,
        )

        # Refit explicitly after a sweep (and when the interactions doubled), not every
        # 10 % of growth while hundreds of first syncs stream in.
        engine = LocalRecommender(LocalRecommenderConfig(refit_fraction=1.0))
        self.restore = engine.restore
        _log.info("recommender: the local engine, restored from the state store")
        return engine

    def _embedder(self) -> Embedder:
        from reclio.adapters.vectors import make_embedder  # noqa: PLC0415 - numpy or torch

        model = self.config.embedding.model
        if model is None:
            _log.info("embeddings: the hashing embedder (RECLIO_EMBEDDING_MODEL is unset)")
        else:
            _log.info("embeddings: sentence-transformers model %s", model)
        return make_embedder(self.config.embedding)

    def _index_slot(self, index: Callable[[], VectorIndex] | None) -> SharedVectorIndex:
        """The vector index: published to files beside the state, loaded by every process."""
        from reclio.adapters.shared_index import IndexSlot, PublishedIndex  # noqa: PLC0415
        from reclio.adapters.vectors import index_kind  # noqa: PLC0415 - an extra's index

        kind = index_kind(self.config.vectors)
        make = index or kind.make
        folder = self.config.vectors.directory
        if folder is None and (beside := self.config.state.directory) is not None:
            folder = beside / "vectors"
        if folder is None:  # a throw-away state: the index lives in this process only
            return IndexSlot(make)
        _log.info("vector index: %s, published in %s", kind.name, folder)
        return PublishedIndex(make, folder, kind=kind.name)


def load_into(
    catalog: Sequence[Title],
    activity: Mapping[str, UserActivity],
    *,
    catalog_source: InMemoryCatalogSource | None = None,
    interaction_source: InMemoryInteractionSource | None = None,
    changed_at: datetime | None = None,
) -> None:
    """Put a generated world into in-memory sources (either may be left out).

    Args:
        catalog: Titles for the catalog source.
        activity: Users' activity for the interaction source.
        catalog_source: Receives every title (logged as changed at ``changed_at``).
        interaction_source: Receives every view, rating, bookmark and paused title.
        changed_at: When the titles count as changed (default: the source's clock).
    """
    if catalog_source is not None:
        for title in catalog:
            catalog_source.add_title(title, changed_at=changed_at)
    if interaction_source is not None:
        for user in activity.values():
            # Oldest first, as they happened; the source keeps its own newest-first order.
            interaction_source.add(reversed(user.views))
            interaction_source.add(reversed(user.ratings))
            interaction_source.add(reversed(user.bookmarks))
            for progress in reversed(user.playback):
                interaction_source.set_playback(user.user_id, progress)
