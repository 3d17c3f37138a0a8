"""Content sync: catalog titles in, recommender items, embeddings and the vector index out.

DESIGN section 6. The run has four phases, each streaming in batches so memory stays
bounded by ``batch_size`` (plus the vector index itself, which is in memory by nature):

1. **Candidates**: stored titles to refresh (the change feed since the last run, intersected
   with the catalog, plus refreshes carried from earlier runs), then new titles: the ranked
   lists and titles in users' histories that the catalog lacks (one store query). The
   change-feed cursor moves on every run that read the feed.
2. **Fetch and store**: refreshes first, then new titles, at most ``max_new_per_run``; each
   is fetched once and stored with its content hash (hashes it was already pushed and
   embedded with are kept). Refreshes beyond the limit, or whose fetch failed, are carried
   to the next run (``REFRESH_CURSOR``), never dropped; a stored title the catalog no longer
   has is removed.
3. **Push and embed**: every stored title whose content hash the recommender has not
   confirmed is pushed; a title is marked synced only with the hash its own write confirmed.
   Every title whose text hash differs from the one embedded is embedded. Failures stay
   pending in the store and are retried by the next run.
4. **Index**: when anything was embedded (or the index is empty), the vector index is
   rebuilt from the stored vectors and swapped in atomically (`SharedVectorIndex`); the
   published adapter also writes the file every other process loads.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from reclio._clock import Clock, utc_now
from reclio.domain import CatalogRecord, ItemRef, MediaType, Title
from reclio.domain.reports import Progress, ProgressCallback, SyncReport
from reclio.errors import LeaseHeld, SourceError, SyncError
from reclio.ports import (
    VECTORS_CURSOR,
    CandidateList,
    CatalogSource,
    CatalogStore,
    CursorStore,
    Embedder,
    EmbeddingStore,
    LeaseStore,
    Recommender,
    SharedVectorIndex,
)
from reclio.sync._config import ContentSyncConfig
from reclio.sync._run import Run

__all__ = [
    "CONTENT_LEASE",
    "LAST_RUN_CURSOR",
    "REFRESH_CURSOR",
    "ContentStore",
    "ContentSync",
    "rebuild_index",
]

_log = logging.getLogger("reclio.sync.content")

LAST_RUN_CURSOR = "content:last_run"
"""The state-store cursor holding when the last run that read the change feed started."""

REFRESH_CURSOR = "content:refresh"
"""The state-store cursor holding the stored titles still to refresh (changed upstream but
not fetched yet: beyond a run's limit, or the fetch failed), oldest first, as JSON."""

CONTENT_LEASE = "content-sync"
"""The state-store lease a content sync holds; anything else that rewrites catalog rows
(``reclio diagnose recombee --repair``) takes it too, so the two never interleave."""

_LEASE = CONTENT_LEASE


class ContentStore(LeaseStore, CursorStore, CatalogStore, EmbeddingStore, Protocol):
    """The state roles content sync uses: its lease and cursors, the catalog, the vectors.

    Every `reclio.ports.StateStore` is one.
    """


class ContentSync:
    """Keeps the catalog, the recommender's items, the embeddings and the index in step.

    Single writer: a run holds the ``content-sync`` lease in the state store, so two
    workers never run it at once. Every phase is idempotent; a run that fails anywhere
    leaves the rest pending for the next run.

    Stability: caller-stable.

    Args:
        catalog: Where titles come from (TMDB).
        recommender: Receives the titles as items.
        embedder: Turns title texts into vectors.
        store: Catalog rows, hashes, vectors (and the titles users' histories name), the
            lease and cursors.
        index: The slot the rebuilt vector index is swapped into (user sync reads it).
        config: Tunables.
        clock: Returns the current aware datetime.
    """

    def __init__(
        self,
        *,
        catalog: CatalogSource,
        recommender: Recommender,
        embedder: Embedder,
        store: ContentStore,
        index: SharedVectorIndex,
        config: ContentSyncConfig | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._catalog = catalog
        self._recommender = recommender
        self._embedder = embedder
        self._store = store
        self._index = index
        self._config = config or ContentSyncConfig()
        self._clock = clock
        self._owner = self._config.worker_id or f"content-sync-{uuid.uuid4().hex[:12]}"

    async def run(self, *, progress: ProgressCallback | None = None) -> SyncReport:
        """One content sync.

        Args:
            progress: Called as phases advance (stages ``candidates``, ``fetch``, ``push``,
                ``embed``, ``index``).

        Returns:
            Counts: ``fetched`` titles read from the catalog, ``pushed`` confirmed by the
            recommender, ``embedded``, ``skipped`` (already stored and unchanged, or unknown
            to the catalog), ``failed`` (left pending for the next run).

        Raises:
            LeaseHeld: another worker is running content sync.
            SyncError: the state store failed (the report says what got done).
        """
        run = Run("content", self._clock(), _log, max_errors=self._config.max_errors)
        notify = progress or _ignore
        try:
            if not await self._store.acquire_lease(_LEASE, self._owner, self._config.lease_ttl):
                raise LeaseHeld("another worker is running content sync")
            try:
                await self._run_leased(run, notify)
            finally:
                await self._store.release_lease(_LEASE, self._owner)
        except SourceError as exc:
            raise SyncError(f"state store failed: {exc}", report=run.report(self._clock())) from exc
        return run.report(self._clock())

    async def _run_leased(self, run: Run, notify: ProgressCallback) -> None:
        last_text = await self._store.get_cursor(LAST_RUN_CURSOR)
        last = datetime.fromisoformat(last_text) if last_text else None
        refresh, changes_read = await self._changes(run, last)
        # The queue is stored before the cursor moves: a run that dies anywhere after this
        # still refreshes every change it read (the next run starts from the stored queue).
        await self._store.set_cursor(REFRESH_CURSOR, _dump_refs(refresh))
        if changes_read:
            # The change feed was read up to this run's start: every change it reported for
            # a stored title is now in the refresh queue, so the cursor always moves on.
            await self._store.set_cursor(LAST_RUN_CURSOR, run.started_at.isoformat())
        new = await self._new_candidates(run)
        notify(Progress("candidates", len(refresh) + len(new), len(refresh) + len(new)))
        carried = await self._fetch_and_store(run, refresh, new, notify)
        await self._store.set_cursor(REFRESH_CURSOR, _dump_refs(carried))
        dimension = await self._push_and_embed(run, notify)
        await self._rebuild_index(run, notify, dimension)

    # -- phase 1 -------------------------------------------------------------------------------

    async def _changes(self, run: Run, last: datetime | None) -> tuple[list[ItemRef], bool]:
        """Stored titles to refresh: those carried from earlier runs, then new changes.

        The change feed lists every title TMDB touched (thousands a day), most of which the
        catalog never held: only stored titles are refreshed; new titles come from the
        ranked lists and from users' histories.

        Returns:
            The refresh queue, oldest first, and whether the change feed was read.
        """
        queue = dict.fromkeys(_load_refs(await self._store.get_cursor(REFRESH_CURSOR)))
        if last is None:
            return list(queue), True
        reported: set[ItemRef] = set()
        read = True
        for media in MediaType:
            try:
                run.call()
                reported.update(await self._catalog.changed_since(media, last))
            except SourceError as exc:
                run.error(f"changed_since {media.value}", exc)
                read = False
        ordered = sorted(reported - set(queue))
        size = self._config.batch_size
        for start in range(0, len(ordered), size):
            chunk = ordered[start : start + size]
            queue.update(dict.fromkeys(r.title.ref for r in await self._store.get_titles(chunk)))
        return list(queue), read

    async def _new_candidates(self, run: Run) -> list[ItemRef]:
        """Titles not stored yet: the ranked lists' pages, then users' histories."""
        ordered = dict.fromkeys(await self._listed(run))
        if self._config.include_history:
            limit = self._config.max_new_per_run
            missing = await self._store.titles_missing_from_catalog(limit=limit)
            ordered.update(dict.fromkeys(missing))
        candidates = list(ordered)
        new: list[ItemRef] = []
        size = self._config.batch_size
        for start in range(0, len(candidates), size):
            chunk = candidates[start : start + size]
            stored = {r.title.ref for r in await self._store.get_titles(chunk)}
            run.skipped += len(stored)
            new.extend(ref for ref in chunk if ref not in stored)
        return new

    async def _listed(self, run: Run) -> list[ItemRef]:
        """Every ref on the configured pages of the ranked lists, in list order.

        The pages of every list are read at once (the catalog source's rate limiter keeps
        that polite); a list ends at its first empty or failed page.
        """

        async def page_of(which: CandidateList, media: MediaType, page: int) -> list[ItemRef]:
            try:
                run.call()
                return list(await self._catalog.candidates(which, media, page=page))
            except SourceError as exc:
                run.error(f"candidates {which.value} {media.value} page {page}", exc)
                return []

        lists = [
            (which, media, pages)
            for which, pages in self._config.pages.items()
            for media in MediaType
        ]
        answers = await asyncio.gather(
            *(
                asyncio.gather(*(page_of(w, m, n) for n in range(1, pages + 1)))
                for w, m, pages in lists
            )
        )
        listed: list[ItemRef] = []
        for pages_read in answers:
            for refs in pages_read:
                if not refs:
                    break
                listed.extend(refs)
        return listed

    # -- phase 2 -------------------------------------------------------------------------------

    async def _fetch_and_store(
        self,
        run: Run,
        refresh: Sequence[ItemRef],
        new: Sequence[ItemRef],
        notify: ProgressCallback,
    ) -> list[ItemRef]:
        """Fetch and store refreshes first, then new titles, at most ``max_new_per_run``.

        A stored title the catalog no longer knows (deleted upstream) is removed.

        Returns:
            The refreshes still to do (beyond the limit, or failed), carried to the next run.
        """
        limit = self._config.max_new_per_run
        to_fetch = list(dict.fromkeys([*refresh, *new]))[:limit]
        refreshing = set(refresh)
        carried = [ref for ref in refresh if ref not in set(to_fetch)]
        gate = asyncio.Semaphore(self._config.concurrency)
        gone: list[ItemRef] = []

        async def fetch(ref: ItemRef) -> Title | None:
            async with gate:
                try:
                    run.call()
                    title = await self._catalog.get_title(ref)
                except SourceError as exc:
                    run.error(f"get_title {ref}", exc)
                    run.failed += 1
                    if ref in refreshing:
                        carried.append(ref)
                    return None
            if title is None:
                run.skipped += 1
                if ref in refreshing:
                    gone.append(ref)
            return title

        size = self._config.batch_size
        for start in range(0, len(to_fetch), size):
            chunk = to_fetch[start : start + size]
            titles = [t for t in await asyncio.gather(*(fetch(ref) for ref in chunk)) if t]
            run.fetched += len(titles)
            old = {r.title.ref: r for r in await self._store.get_titles([t.ref for t in titles])}
            records = [
                old[t.ref].updated(t) if t.ref in old else CatalogRecord.of(t) for t in titles
            ]
            fresh = [r for r in records if r is not old.get(r.title.ref)]
            if fresh:
                await self._store.put_titles(fresh)
            notify(Progress("fetch", min(start + size, len(to_fetch)), len(to_fetch)))
        if gone:
            await self._store.delete_titles(gone)
            _log.info("content removed %d titles the catalog no longer has", len(gone))
        return carried

    # -- phase 3 -------------------------------------------------------------------------------

    async def _push_and_embed(self, run: Run, notify: ProgressCallback) -> int | None:
        """Push and embed what needs it; returns the dimension embedded (None: nothing)."""
        # Collect refs first, then work: no writes while the store is being paged through.
        pending: list[ItemRef] = []
        embeds = False
        needs_embedding = self._needs_embedding
        async for batch in self._store.iter_titles(batch_size=self._config.batch_size):
            pending.extend(r.title.ref for r in batch if r.needs_push or needs_embedding(r))
            embeds = embeds or any(needs_embedding(r) for r in batch)
        if embeds:
            # A new version before any vector changes: an index built earlier is now stale,
            # even if this run dies before it rebuilds the index.
            await self._store.set_cursor(VECTORS_CURSOR, uuid.uuid4().hex)
        size = self._config.batch_size
        dimension = None
        for start in range(0, len(pending), size):
            records = await self._store.get_titles(pending[start : start + size])
            await self._push(run, [r for r in records if r.needs_push])
            embedded = await self._embed(run, [r for r in records if needs_embedding(r)])
            dimension = embedded or dimension
            notify(Progress("push", min(start + size, len(pending)), len(pending)))
        return dimension

    async def _push(self, run: Run, records: Sequence[CatalogRecord]) -> None:
        if not records:
            return
        try:
            run.call(write=True)
            result = await self._recommender.upsert_items([r.title for r in records])
        except SourceError as exc:
            run.error("upsert_items", exc)
            run.failed += len(records)
            return
        confirmed = set(result.ok)
        for ref, reason in result.failed[: self._config.max_errors]:
            run.error("upsert_items", f"{ref} not written: {reason}")
        run.failed += len(result.failed)
        hashes = {r.title.ref: r.content_hash for r in records if r.title.ref in confirmed}
        if hashes:
            await self._store.mark_synced(hashes)
        run.pushed += len(hashes)

    async def _embed(self, run: Run, records: Sequence[CatalogRecord]) -> int | None:
        """Embed and store ``records``; returns the vectors' dimension (None: none stored)."""
        if not records:
            return None
        try:
            run.call()
            vectors = await self._embedder.embed([r.title.embedding_text() for r in records])
        except SourceError as exc:
            run.error("embed", exc)
            run.failed += len(records)
            return None
        identity = self._embedder.identity
        rows = [
            (r.title.ref, r.title.text_hash(identity), vector)
            for r, vector in zip(records, vectors, strict=True)
        ]
        await self._store.put_embeddings(rows)
        run.embedded += len(rows)
        return int(vectors.shape[1])

    def _needs_embedding(self, record: CatalogRecord) -> bool:
        # The hash covers the embedder too: a new model re-embeds every title.
        return record.embedded_hash != record.title.text_hash(self._embedder.identity)

    # -- phase 4 -------------------------------------------------------------------------------

    async def _rebuild_index(
        self, run: Run, notify: ProgressCallback, dimension: int | None
    ) -> None:
        # Rebuilds (and publishes) only when the stored vectors' version moved. While a new
        # model's vectors replace an old one's, only those of the new model's length are
        # indexed (the length embedded now, or the model's own when nothing was).
        try:
            count = await self._index.update(self._store, dimension=dimension)
        except ValueError:
            try:
                # An empty batch loads the model off the loop and says its length.
                dimension = int((await self._embedder.embed([])).shape[1])
            except SourceError as exc:
                run.error("embed", exc)
                return
            count = await self._index.update(self._store, dimension=dimension)
        if count is not None:
            notify(Progress("index", count, count))


async def rebuild_index(store: ContentStore, index: SharedVectorIndex) -> int:
    """Bring a worker's index up to date with what content sync stored or published.

    A worker that only runs user syncs calls this at start-up (content sync updates the
    index itself). A published index loads the published file and builds nothing; a
    one-process slot rebuilds from the stored vectors when their version moved.
    An empty store leaves the index as it is.

    Returns:
        How many vectors the index now holds.

    Raises:
        SourceError: the store failed.
    """
    await index.refresh(store)
    return len(index)


def _ignore(_progress: Progress) -> None:
    """The progress callback used when the caller passes none."""


def _dump_refs(refs: Sequence[ItemRef]) -> str:
    return json.dumps([ref.item_id for ref in refs])


def _load_refs(text: str | None) -> list[ItemRef]:
    """A stored list of refs; an unreadable one is dropped (the change feed re-reports)."""
    if not text:
        return []
    try:
        return [ItemRef.parse(item) for item in json.loads(text)]
    except (ValueError, TypeError) as exc:
        _log.warning("content sync dropped an unreadable refresh queue: %s", exc)
        return []
