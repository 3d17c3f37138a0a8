"""User sync: one person's Trakt activity in, recommender interactions and managed lists out.

The imperative shell around :mod:`reclio.sync._plan`: it gathers inputs from the ports, asks
the planners what to do, and applies the answer. The steps are DESIGN section 5; how they
fail is the point:

* A remote failure (interaction source, recommender, list sink) is recorded in the report
  and the sync goes on with what it has; nothing that failed is marked done, so the next
  sync does it again.
* A state-store failure ends the sync with :class:`~reclio.errors.SyncError`: without the
  store nothing can be recorded safely, and the user stays due.
* Every step is idempotent, so a sync that dies anywhere can simply run again.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Collection, Mapping, Sequence
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Final, Protocol, TypeVar

import attrs

from reclio._clock import Clock, utc_now
from reclio.domain import (
    ActivityCategory,
    Anchor,
    CatalogRecord,
    Interaction,
    ItemRef,
    ListAccount,
    ListHandle,
    ListSnapshot,
    ManagedList,
    ManagedListKind,
    MediaType,
    PlaybackProgress,
    UserHistory,
    UserState,
)
from reclio.domain.reports import Progress, ProgressCallback, SyncReport
from reclio.errors import (
    AccountLimitExceeded,
    LeaseHeld,
    ReconnectNeeded,
    SourceError,
    SyncError,
)
from reclio.ports import (
    CatalogStore,
    FeedLog,
    HistoryStore,
    InteractionSource,
    LeaseStore,
    ListSink,
    Recommender,
    UserStore,
    VectorIndex,
)
from reclio.sync._config import UserSyncConfig
from reclio.sync._picks import DesiredList, PickRules, PickSources, plan_picks
from reclio.sync._plan import (
    advance_cursor,
    allot_lists,
    cadence_tier,
    list_read_lags,
    lists_fresh,
    managed_kinds,
    next_sync_time,
    plan_list_diff,
    should_write,
    taste_profile,
)
from reclio.sync._run import Run

__all__ = ["SweepReport", "UserSync", "UserSyncStore"]

_log = logging.getLogger("reclio.sync.user")

T = TypeVar("T")

_WEEK: Final = timedelta(days=7)
_MARGIN: Final = 10
"""Extra picks asked of each source, so local filtering (watched, genres) still fills a list."""

_LAGGING: Final = (
    "the sink's read of the list is older than reclio's last write to it (Trakt list reads"
    " lag writes); it is written next sync"
)

_PLAYBACK_MOVES: Final = frozenset({ActivityCategory.PAUSED})
"""Playback is read when its stamp moved (or on ``force``): a changed user costs only the
categories that changed."""

_DESCRIPTIONS: Final[Mapping[ManagedListKind, str]] = {
    ManagedListKind.RECOMMENDED_MOVIES: "Auto-updated by reclio with movies you'll love.",
    ManagedListKind.RECOMMENDED_SHOWS: "Auto-updated by reclio with shows you'll love.",
    ManagedListKind.BECAUSE_WATCHED_MOVIES: "Movies like the one you watched last.",
    ManagedListKind.BECAUSE_WATCHED_SHOWS: "Shows like the one you watched last.",
    ManagedListKind.CONTINUE_WATCHING: "What you paused part-way, newest first.",
}


class UserSyncStore(UserStore, HistoryStore, FeedLog, LeaseStore, CatalogStore, Protocol):
    """The state roles user sync uses: users, their history, the feed log, leases, titles.

    Every `reclio.ports.StateStore` is one.
    """


@attrs.frozen
class _Fetched:
    """What the heavy pass read from the interaction source (``None``: not read or failed)."""

    history: Sequence[Interaction] | None = None
    ratings: Sequence[Interaction] | None = None
    watchlist: Sequence[Interaction] | None = None
    playback: Sequence[PlaybackProgress] | None = None
    incomplete: bool = False
    """A category that changed could not be read: the cursor must not move past it."""


@attrs.frozen
class SweepReport:
    """The outcome of one sweep over the users who were due.

    Attributes:
        reports: One report per user synced, in completion order.
        lease_held: Users skipped because another worker was syncing them.
        failed: Users whose sync ended with a ``SyncError`` (their store failed), with why.
    """

    reports: tuple[SyncReport, ...] = ()
    lease_held: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()

    @property
    def ok(self) -> bool:
        """True when every user synced without a failure."""
        return not self.failed and all(report.ok for report in self.reports)


class UserSync:
    """Syncs users: Trakt activity to the recommender, picks to managed lists (DESIGN 5).

    One instance serves any number of users and concurrent syncs; everything per user lives
    in the state store, so any worker may sync any user (never two at once: a lease).

    Stability: caller-stable.

    Args:
        interactions: Where activity comes from (Trakt).
        recommender: Receives interactions; answers picks and item-to-item.
        sink: Holds the managed lists.
        store: reclio's state: users and their histories, feed log, catalog, leases.
        index: Vector neighbours (Because You Watched, cold start); content sync fills it.
        config: Tunables.
        clock: Returns the current aware datetime.
    """

    def __init__(
        self,
        *,
        interactions: InteractionSource,
        recommender: Recommender,
        sink: ListSink,
        store: UserSyncStore,
        index: VectorIndex,
        config: UserSyncConfig | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._source = interactions
        self._recommender = recommender
        self._sink = sink
        self._store = store
        self._index = index
        self._config = config or UserSyncConfig()
        self._clock = clock
        self._owner = self._config.worker_id or f"user-sync-{uuid.uuid4().hex[:12]}"
        config = self._config
        self._rules = PickRules(
            recommended_count=config.recommended_count,
            because_watched_count=config.because_watched_count,
            blend_weight=config.blend_weight,
            min_recommender_results=config.min_recommender_results,
            min_items=config.min_items,
            continue_watching_count=config.continue_watching_count,
            finished_progress=config.finished_progress,
        )

    @property
    def config(self) -> UserSyncConfig:
        """The tunables this instance runs with."""
        return self._config

    # -- scheduling ----------------------------------------------------------------------------

    async def due(self, now: datetime | None = None) -> Sequence[str]:
        """Users whose next sync time has come (or was never set), most overdue first.

        Raises:
            SourceError: the store failed.
        """
        return await self._store.due_users(now or self._clock())

    async def sweep(
        self,
        now: datetime | None = None,
        *,
        concurrency: int = 4,
        users: Sequence[str] | None = None,
        progress: ProgressCallback | None = None,
        force: bool = False,
    ) -> SweepReport:
        """Sync every due user (or ``users``), at most ``concurrency`` at a time.

        A user another worker holds is skipped (``lease_held``); a user whose store failed is
        listed in ``failed``; neither stops the sweep. ``force`` recomputes every user's
        lists even without new activity.

        Raises:
            SourceError: the store could not list the due users.
        """
        if concurrency < 1:
            msg = f"concurrency must be at least 1, got {concurrency}"
            raise ValueError(msg)
        todo = list(users) if users is not None else list(await self.due(now))
        queue = iter(todo)
        reports: list[SyncReport] = []
        held: list[str] = []
        failed: list[tuple[str, str]] = []

        async def worker() -> None:
            # ``concurrency`` workers share one iterator: a task per user would create
            # thousands at once (a stall of the event loop that serves /feeds).
            for user_id in queue:
                try:
                    reports.append(await self.sync(user_id, force=force))
                except LeaseHeld:
                    held.append(user_id)
                except SyncError as exc:
                    failed.append((user_id, str(exc)))
                if progress is not None:
                    done = len(reports) + len(held) + len(failed)
                    progress(Progress("users", done, len(todo)))

        async with asyncio.TaskGroup() as group:
            for _ in range(min(concurrency, len(todo))):
                group.create_task(worker())
        return SweepReport(tuple(reports), tuple(held), tuple(failed))

    # -- one user ------------------------------------------------------------------------------

    async def sync(self, user_id: str, *, force: bool = False) -> SyncReport:
        """Sync one user (DESIGN section 5); safe to run again after any failure.

        Args:
            user_id: Whom to sync.
            force: Recompute lists even when Trakt activity has not moved.

        Returns:
            What was fetched, pushed and written; ``errors`` lists what failed remotely
            (all of it is retried by the next sync).

        Raises:
            LeaseHeld: another worker is syncing this user.
            SyncError: the state store failed; nothing was recorded for the user.
        """
        run = Run(f"user:{user_id}", self._clock(), _log)
        key = f"user:{user_id}"
        try:
            acquired = await self._store.acquire_lease(key, self._owner, self._config.lease_ttl)
        except SourceError as exc:
            raise SyncError(f"state store failed: {exc}", report=run.report(self._clock())) from exc
        if not acquired:
            raise LeaseHeld(f"another worker is syncing user {user_id!r}")
        try:
            await self._sync_leased(run, user_id, force=force)
        except SourceError as exc:
            raise SyncError(f"state store failed: {exc}", report=run.report(self._clock())) from exc
        finally:
            # An unreleased lease expires after lease_ttl; nothing else depends on this.
            with suppress(SourceError):
                await self._store.release_lease(key, self._owner)
        return run.report(self._clock())

    async def _sync_leased(self, run: Run, user_id: str, *, force: bool) -> None:
        now = self._clock()
        state = await self._store.get_user(user_id) or UserState(user_id)
        requests = await self._store.feed_requests_since(user_id, now - _WEEK)

        # Step 2: the cheap poll.
        try:
            run.call()
            stamp = await self._source.activity(user_id)
        except ReconnectNeeded as exc:
            # Only the user can fix this: say it once (WARNING), then only note it, and keep
            # the normal cadence (sooner retries cannot help; the last good lists keep
            # serving). A source with no usable token answers this without a request.
            if state.reconnect_needed is None:
                run.error("activity", exc)
            else:
                run.note("activity", str(exc))
            state = attrs.evolve(state, reconnect_needed=str(exc))
            await self._store.put_user(self._scheduled(state, run, now, requests, failed=False))
            return
        except SourceError as exc:
            run.error("activity", exc)
            await self._store.put_user(self._scheduled(state, run, now, requests))
            return
        if state.reconnect_needed is not None:
            _log.info("user %s is connected again", user_id)
            state = attrs.evolve(state, reconnect_needed=None)
        moved_at = state.activity_moved_at
        if stamp != state.activity and stamp.latest is not None:
            moved_at = stamp.latest
        changed = stamp.changed_since(state.activity)
        if not force and not changed and lists_fresh(state, now, self._config.lists_max_age):
            run.skipped += 1
            state = attrs.evolve(state, activity_moved_at=moved_at)
            await self._store.put_user(self._scheduled(state, run, now, requests))
            return

        # Steps 3 and 4: fetch what changed, push it, advance the cursor.
        history = await self._store.get_history(user_id) or UserHistory()
        fetched = await self._fetch(run, user_id, state, changed, force=force)
        cursor = await self._push(run, state, fetched)
        if fetched.history is not None:
            history = history.with_views(fetched.history)
        if fetched.ratings is not None:
            history = history.with_ratings(fetched.ratings)
        if fetched.watchlist is not None:
            history = history.with_bookmarks(fetched.watchlist)

        # Step 5: taste, anchors, counts.
        catalog = {r.title.ref: r for r in await self._store.get_titles(sorted(history.seen))}
        state = self._derive(state, history, catalog, now)

        # Steps 6 and 7: picks, then materialize by diff.
        desired = await self._picks(run, state, history, fetched)
        state = await self._materialize(run, state, desired, now)

        # Step 8: record state and history in one transaction. The stamp is kept only when
        # everything went through, so a failure anywhere makes the next poll see "changed"
        # and fetch again.
        state = attrs.evolve(
            state,
            history_cursor=cursor,
            activity=stamp if run.clean else state.activity,
            activity_moved_at=moved_at,
            picks_computed_at=now if run.clean else state.picks_computed_at,
            reconnect_needed=run.reconnect,
        )
        await self._store.save_user(self._scheduled(state, run, now, requests), history=history)

    def _scheduled(
        self,
        state: UserState,
        run: Run,
        now: datetime,
        requests: int,
        *,
        failed: bool | None = None,
    ) -> UserState:
        policy = self._config.cadence
        tier = cadence_tier(
            feed_requests_week=requests,
            activity_moved_at=state.activity_moved_at,
            now=now,
            policy=policy,
        )
        return attrs.evolve(
            state,
            cadence=tier,
            next_sync_at=next_sync_time(
                tier, now, policy, failed=not run.clean if failed is None else failed
            ),
            last_sync_at=now,
        )

    # -- steps 3 and 4 -------------------------------------------------------------------------

    async def _fetch(
        self,
        run: Run,
        user_id: str,
        state: UserState,
        changed: Collection[ActivityCategory],
        *,
        force: bool,
    ) -> _Fetched:
        since = None
        if state.history_cursor is not None:
            since = state.history_cursor - self._config.overlap
        history = ratings = watchlist = None
        if "watched_at" in changed:
            history = await _attempt(run, "history", self._source.history(user_id, since=since))
        if "rated_at" in changed:
            ratings = await _attempt(run, "ratings", self._source.ratings(user_id))
        if "watchlisted_at" in changed:
            watchlist = await _attempt(run, "watchlist", self._source.watchlist(user_id))
        playback = None
        if force or _PLAYBACK_MOVES & set(changed):
            playback = await _attempt(run, "playback", self._source.playback(user_id))
        wanted = {"watched_at": history, "rated_at": ratings, "watchlisted_at": watchlist}
        incomplete = any(name in changed and got is None for name, got in wanted.items())
        return _Fetched(history, ratings, watchlist, playback, incomplete=incomplete)

    async def _push(self, run: Run, state: UserState, fetched: _Fetched) -> datetime | None:
        since = None
        if state.history_cursor is not None:
            since = state.history_cursor - self._config.overlap
        candidates = [
            *(fetched.history or ()),
            *(fetched.ratings or ()),
            *(fetched.watchlist or ()),
        ]
        # De-duplicate by (user, kind, title, time): the overlap window re-reads some.
        unique = {i.key: i for i in candidates if since is None or i.at >= since}
        attempted = sorted(unique.values(), key=lambda i: (i.at, i.ref, i.kind.value))
        run.fetched += len(attempted)
        confirmed: list[Interaction] = []
        size = self._config.push_batch_size
        for start in range(0, len(attempted), size):
            batch = attempted[start : start + size]
            try:
                run.call(write=True)
                result = await self._recommender.add_interactions(batch)
            except SourceError as exc:
                run.error("add_interactions", exc)
                run.failed += len(batch)
                continue
            confirmed.extend(result.ok)
            run.failed += len(result.failed)
            for interaction, reason in result.failed[:3]:
                run.error("add_interactions", f"{interaction.ref} not recorded: {reason}")
        run.pushed += len(confirmed)
        if fetched.incomplete:
            # Unread interactions may be older than the confirmed ones: hold the cursor.
            return state.history_cursor
        return advance_cursor(state.history_cursor, attempted, confirmed, now=self._clock())

    # -- step 5 --------------------------------------------------------------------------------

    def _derive(
        self,
        state: UserState,
        history: UserHistory,
        catalog: Mapping[ItemRef, CatalogRecord],
        now: datetime,
    ) -> UserState:
        genres = {ref: [g.id for g in record.title.genres] for ref, record in catalog.items()}
        taste = taste_profile(
            history.views,
            history.ratings,
            genres,
            now=now,
            half_life=self._config.taste_half_life,
            view_weight=self._config.view_weight,
        )

        def anchor(ref: ItemRef | None) -> Anchor | None:
            return None if ref is None else Anchor(ref, catalog[ref].title.title)

        def last_watched(media: MediaType) -> ItemRef | None:
            # Only titles the catalog knows can anchor: a feed needs the name, and vector
            # neighbours need the title's embedding. Content sync fetches the rest.
            known = [(at, ref) for ref, at in history.views.items() if ref.media_type is media]
            known = [(at, ref) for at, ref in known if ref in catalog]
            return max(known)[1] if known else None

        def highest_rated(media: MediaType) -> ItemRef | None:
            rated = [
                (rating.value, rating.at, ref)
                for ref, rating in history.ratings.items()
                if ref.media_type is media and ref in catalog
            ]
            return max(rated)[2] if rated else None

        return attrs.evolve(
            state,
            taste=taste,
            last_watched_movie=anchor(last_watched(MediaType.MOVIE)),
            last_watched_show=anchor(last_watched(MediaType.TV)),
            highest_rated_movie=anchor(highest_rated(MediaType.MOVIE)),
            highest_rated_show=anchor(highest_rated(MediaType.TV)),
            movies_watched=history.watched(MediaType.MOVIE),
            shows_watched=history.watched(MediaType.TV),
        )

    # -- step 6 --------------------------------------------------------------------------------

    async def _picks(
        self, run: Run, state: UserState, history: UserHistory, fetched: _Fetched
    ) -> dict[ManagedListKind, DesiredList]:
        """Read every source the picks need, then let `plan_picks` decide (pure)."""
        config = self._config
        seen = history.seen
        recommended: dict[MediaType, Sequence[ItemRef] | None] = {}
        similar: dict[MediaType, Sequence[ItemRef] | None] = {}
        anchors: dict[MediaType, ItemRef] = {}
        seeds: dict[MediaType, Sequence[ItemRef]] = {}
        anchor_vectors: dict[MediaType, Sequence[ItemRef]] = {}
        for media in MediaType:
            recommended[media] = await _attempt(
                run,
                "recommend",
                self._recommender.recommend(
                    state.user_id, media_type=media, count=config.recommended_count + _MARGIN
                ),
            )
            seed = state.highest_rated(media)
            if seed is not None and _may_be_cold(recommended[media], media, seen, config):
                # Cold start's source, which needs no recommender (also when it failed).
                seeds[media] = await self._nearest(seed.ref, media, config.recommended_count, seen)
            anchor = state.last_watched(media)
            if anchor is not None:
                anchors[media] = anchor.ref
                similar[media] = await _attempt(
                    run,
                    "similar",
                    self._recommender.similar(
                        anchor.ref,
                        count=config.because_watched_count + _MARGIN,
                        media_type=media,
                        target_user=state.user_id,
                    ),
                )
                anchor_vectors[media] = await self._nearest(
                    anchor.ref, media, config.because_watched_count, seen
                )
        sources = PickSources(
            recommended=recommended,
            similar=similar,
            anchors=anchors,
            seed_neighbours=seeds,
            anchor_neighbours=anchor_vectors,
            playback=fetched.playback,
        )
        genres = await self._genres_for_exclusion(state, sources.candidates())
        return plan_picks(
            attrs.evolve(sources, genres=genres),
            seen=seen,
            preferences=state.preferences,
            rules=self._rules,
        )

    async def _nearest(
        self, ref: ItemRef, media: MediaType, count: int, seen: Collection[ItemRef]
    ) -> list[ItemRef]:
        """The index's neighbours of ``ref``, in a worker thread.

        A query is a matrix product (an exact index) or a graph walk: milliseconds, and
        longer when the BLAS threads it waits for are busy; the event loop serving
        ``/feeds`` never waits for it. The slot swaps in rebuilt indexes whole, so a query
        in flight reads one index throughout.
        """
        index, k = self._index, count + _MARGIN
        hits = await asyncio.to_thread(index.nearest, ref, k=k, media_type=media, exclude=seen)
        return [hit for hit, _score in hits]

    async def _genres_for_exclusion(
        self, state: UserState, candidates: Collection[ItemRef]
    ) -> dict[ItemRef, list[int]]:
        prefs = state.preferences
        if not prefs.excluded_movie_genres and not prefs.excluded_show_genres:
            return {}
        records = await self._store.get_titles(sorted(candidates))
        return {r.title.ref: [g.id for g in r.title.genres] for r in records}

    # -- step 7 --------------------------------------------------------------------------------

    async def _materialize(
        self,
        run: Run,
        state: UserState,
        desired: Mapping[ManagedListKind, DesiredList],
        now: datetime,
    ) -> UserState:
        user_id = state.user_id
        wanted = [kind for kind in managed_kinds() if kind in desired]
        # An empty computation never creates (nor empties) a list.
        writable = [kind for kind in wanted if desired[kind].refs]
        for kind in wanted:
            record = state.managed_list(kind)
            if not desired[kind].refs and record is not None and kind in _EMPTY_MEANS_STALE:
                # Nothing paused any more: leave the list alone, stop serving it.
                state = state.with_list(attrs.evolve(record, synced_ok=False, synced_at=now))
        if not writable:
            return state
        try:
            run.call()
            account = await self._sink.account(user_id)
        except SourceError as exc:
            run.error("lists", exc)
            return state
        # The account's free slots go to the rows in priority order; the rest fall back.
        for kind in allot_lists(writable, account):
            state = await self._write_list(
                run, state, kind, desired[kind], account=account, now=now
            )
        return state

    async def _read_list(
        self,
        run: Run,
        user_id: str,
        kind: ManagedListKind,
        record: ManagedList | None,
        *,
        account: ListAccount,
        now: datetime,
    ) -> tuple[ListHandle, ListSnapshot, bool] | None:
        """The list to write, what it holds, and whether it was just created.

        ``None`` when it cannot be written this sync (the failure or the lag is recorded).
        A list the account read shows is used as listed; one it does not is adopted by name
        or created; a read that is behind reclio's last write is never planned from.
        """
        name = kind.list_name
        lag = self._config.list_read_lag
        listed = None
        if record is not None:
            listed = next((h for h in account.lists if h.list_id == record.list_id), None)
        if list_read_lags(record, listed, now=now, lag=lag):
            run.error(f"read list {name!r}", _LAGGING)
            return None
        created = listed is None and account.find(name) is None
        try:
            handle = listed
            if handle is None:
                run.call(write=created)
                handle = await self._sink.ensure_list(
                    user_id, name, description=_DESCRIPTIONS[kind], account=account
                )
            if created:
                return handle, ListSnapshot.empty(handle.list_id), True  # new: nothing to read
            run.call()
            current = await self._sink.snapshot(user_id, handle.list_id)
        except AccountLimitExceeded as exc:
            run.error(f"ensure_list {name!r}", exc)
            return None
        except SourceError as exc:
            # A failed read changes nothing on the list: its record still says whether the
            # last write succeeded (the same rule as a failed account read).
            run.error(f"read list {name!r}", exc)
            return None
        if list_read_lags(record, handle, now=now, lag=lag, entries=current.item_count):
            run.error(f"read list {name!r}", _LAGGING)
            return None
        return handle, current, False

    async def _write_list(
        self,
        run: Run,
        state: UserState,
        kind: ManagedListKind,
        desired: DesiredList,
        *,
        account: ListAccount,
        now: datetime,
    ) -> UserState:
        user_id = state.user_id
        name = kind.list_name
        record = state.managed_list(kind)
        read = await self._read_list(run, user_id, kind, record, account=account, now=now)
        if read is None:
            return state
        handle, current, created = read
        refs = desired.refs[: account.limits.max_items_per_list]
        held = current.refs
        if record is None or record.list_id != handle.list_id:
            # A list created or adopted by name: reclio has not filled it yet. A new list's
            # record keeps the creation's stamp, so a read that does not show it yet is
            # taken for lagging (never answered by creating a second one).
            record = ManagedList(
                kind,
                handle.list_id,
                current.item_count,
                synced_ok=False,
                synced_at=now if created else None,
                updated_at=handle.updated_at if created else None,
            )
        if not should_write(len(held), refs, complete=desired.complete):
            return state.with_list(record)
        diff = plan_list_diff(held, refs)
        count = current.item_count
        stamp = handle.updated_at or record.updated_at
        if not diff.is_empty:
            try:
                run.call(write=True)
                after = await self._sink.apply(user_id, handle.list_id, diff, current=current)
            except SourceError as exc:
                run.error(f"apply {name!r}", exc)
                run.failed += 1
                return state.with_list(attrs.evolve(record, synced_ok=False))
            # The write's answer is the truth: a read-back may lag it (Trakt).
            count, stamp = after.item_count, after.updated_at
        return state.with_list(
            ManagedList(
                kind,
                handle.list_id,
                item_count=count,
                synced_ok=True,
                synced_at=now,
                anchor=desired.anchor,
                updated_at=stamp,
            )
        )


_EMPTY_MEANS_STALE: Final = frozenset({ManagedListKind.CONTINUE_WATCHING})

_MEDIA: Final[Mapping[ManagedListKind, MediaType]] = {
    ManagedListKind.RECOMMENDED_MOVIES: MediaType.MOVIE,
    ManagedListKind.RECOMMENDED_SHOWS: MediaType.TV,
    ManagedListKind.BECAUSE_WATCHED_MOVIES: MediaType.MOVIE,
    ManagedListKind.BECAUSE_WATCHED_SHOWS: MediaType.TV,
}


def _may_be_cold(
    answer: Sequence[ItemRef] | None,
    media: MediaType,
    seen: Collection[ItemRef],
    config: UserSyncConfig,
) -> bool:
    """Whether the planner could need the cold-start neighbours for this answer.

    An index query costs milliseconds, so the shell asks only when the answer (failed, or
    short once watched titles are left out) might leave fewer usable picks than the
    cold-start threshold; genre exclusions remove at most the margin's worth more.
    """
    if answer is None:
        return True
    unseen = sum(1 for ref in answer if ref.media_type is media and ref not in seen)
    return unseen < config.min_recommender_results + _MARGIN


async def _attempt(run: Run, what: str, call: Awaitable[T]) -> T | None:
    """Await one remote read; a ``SourceError`` is recorded and becomes ``None``."""
    run.call()
    try:
        return await call
    except SourceError as exc:
        run.error(what, exc)
        return None
