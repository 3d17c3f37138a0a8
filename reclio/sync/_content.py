"""Content sync: catalog titles in, recommender items, embeddings and the vector index out.

DESIGN section 6. The run has four phases, each streaming in batches so memory stays
bounded by ``batch_size`` (plus the vector index itself, which is in memory by nature):

1. **Candidates**: the ranked lists, the changes since the last run, and titles in users'
   histories (their ledgers) that the catalog lacks; each title once.
2. **Fetch and store**: every candidate not stored yet, or changed, is fetched once and
   stored with its content hash (hashes it was already pushed and embedded with are kept).
3. **Push and embed**: every stored title whose content hash the recommender has not
   confirmed is pushed; a title is marked synced only with the hash its own write confirmed.
   Every title whose text hash differs from the one embedded is embedded. Failures stay
   pending in the store and are retried by the next run.
4. **Index**: when anything was embedded (or the index is empty), the vector index is
   rebuilt from the stored vectors and swapped in atomically; a `PublishedIndex` also
   publishes the file every other process loads.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from datetime import datetime

from reclio._clock import Clock, utc_now
from reclio.domain import CatalogRecord, ItemRef, MediaType, Title
from reclio.domain.reports import Progress, ProgressCallback, SyncReport
from reclio.errors import LeaseHeld, SourceError, SyncError
from reclio.ports import CatalogSource, Embedder, Recommender, StateStore
from reclio.sync._config import ContentSyncConfig
from reclio.sync._index import VECTORS_CURSOR, IndexSlot
from reclio.sync._ledger import Ledger, ledger_key
from reclio.sync._run import Run

__all__ = ["LAST_RUN_CURSOR", "VECTORS_CURSOR", "ContentSync", "rebuild_index"]

_log = logging.getLogger("reclio.sync.content")

LAST_RUN_CURSOR = "content:last_run"
"""The state-store cursor holding when the last run that read the change feed started."""

_LEASE = "content-sync"


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
        store: Catalog rows, hashes, vectors, users' ledgers, the lease.
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
        store: StateStore,
        index: IndexSlot,
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
        candidates, changed, changes_read = await self._candidates(run, last)
        notify(Progress("candidates", len(candidates), len(candidates)))
        changes_stored = await self._fetch_and_store(run, candidates, changed, notify)
        await self._push_and_embed(run, notify)
        await self._rebuild_index(notify)
        # The change feed is read from the last run on, so the cursor moves only when every
        # change it reported is stored; otherwise the next run reads the same changes again.
        if changes_read and changes_stored:
            await self._store.set_cursor(LAST_RUN_CURSOR, run.started_at.isoformat())

    # -- phase 1 -------------------------------------------------------------------------------

    async def _candidates(
        self, run: Run, last: datetime | None
    ) -> tuple[list[ItemRef], set[ItemRef], bool]:
        ordered = dict.fromkeys(await self._listed(run))
        changed: set[ItemRef] = set()
        changes_read = True
        if last is not None:
            for media in MediaType:
                try:
                    run.call()
                    changed.update(await self._catalog.changed_since(media, last))
                except SourceError as exc:
                    run.error(f"changed_since {media.value}", exc)
                    changes_read = False
        if self._config.include_history:
            for user_id in await self._store.user_ids():
                ledger = Ledger.loads(await self._store.get_cursor(ledger_key(user_id)))
                ordered.update(dict.fromkeys(sorted(ledger.seen)))
        ordered.update(dict.fromkeys(sorted(changed)))
        return list(ordered), changed, changes_read

    async def _listed(self, run: Run) -> list[ItemRef]:
        """Every ref on the configured pages of the ranked lists, in list order."""
        listed: list[ItemRef] = []
        for which, pages in self._config.pages.items():
            for media in MediaType:
                for page in range(1, pages + 1):
                    try:
                        run.call()
                        refs = await self._catalog.candidates(which, media, page=page)
                    except SourceError as exc:
                        run.error(f"candidates {which.value} {media.value} page {page}", exc)
                        break
                    if not refs:
                        break
                    listed.extend(refs)
        return listed

    # -- phase 2 -------------------------------------------------------------------------------

    async def _fetch_and_store(
        self,
        run: Run,
        candidates: Sequence[ItemRef],
        changed: set[ItemRef],
        notify: ProgressCallback,
    ) -> bool:
        """Fetch and store what is new or changed; False if a changed title was not stored."""
        size = self._config.batch_size
        to_fetch: list[ItemRef] = []
        for start in range(0, len(candidates), size):
            chunk = candidates[start : start + size]
            stored = {r.title.ref for r in await self._store.get_titles(chunk)}
            for ref in chunk:
                if ref in stored and ref not in changed:
                    run.skipped += 1
                else:
                    to_fetch.append(ref)
        deferred = to_fetch[self._config.max_new_per_run :]
        to_fetch = to_fetch[: self._config.max_new_per_run]
        missed = {ref for ref in deferred if ref in changed}
        gate = asyncio.Semaphore(self._config.concurrency)

        async def fetch(ref: ItemRef) -> Title | None:
            async with gate:
                try:
                    run.call()
                    return await self._catalog.get_title(ref)
                except SourceError as exc:
                    run.error(f"get_title {ref}", exc)
                    run.failed += 1
                    missed.add(ref)
                    return None

        for start in range(0, len(to_fetch), size):
            chunk = to_fetch[start : start + size]
            titles = [t for t in await asyncio.gather(*(fetch(ref) for ref in chunk)) if t]
            run.fetched += len(titles)
            old = {r.title.ref: r for r in await self._store.get_titles([t.ref for t in titles])}
            records = [_record(title, old.get(title.ref)) for title in titles]
            fresh = [r for r in records if r is not old.get(r.title.ref)]
            if fresh:
                await self._store.put_titles(fresh)
            notify(Progress("fetch", min(start + size, len(to_fetch)), len(to_fetch)))
        return not (missed & changed)

    # -- phase 3 -------------------------------------------------------------------------------

    async def _push_and_embed(self, run: Run, notify: ProgressCallback) -> None:
        # Collect refs first, then work: no writes while the store is being paged through.
        pending: list[ItemRef] = []
        embeds = False
        async for batch in self._store.iter_titles(batch_size=self._config.batch_size):
            pending.extend(r.title.ref for r in batch if r.needs_push or _needs_embedding(r))
            embeds = embeds or any(_needs_embedding(r) for r in batch)
        if embeds:
            # A new version before any vector changes: an index built earlier is now stale,
            # even if this run dies before it rebuilds the index.
            await self._store.set_cursor(VECTORS_CURSOR, uuid.uuid4().hex)
        size = self._config.batch_size
        for start in range(0, len(pending), size):
            records = await self._store.get_titles(pending[start : start + size])
            await self._push(run, [r for r in records if r.needs_push])
            await self._embed(run, [r for r in records if _needs_embedding(r)])
            notify(Progress("push", min(start + size, len(pending)), len(pending)))

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

    async def _embed(self, run: Run, records: Sequence[CatalogRecord]) -> None:
        if not records:
            return
        try:
            run.call()
            vectors = await self._embedder.embed([r.title.embedding_text() for r in records])
        except SourceError as exc:
            run.error("embed", exc)
            run.failed += len(records)
            return
        rows = [
            (r.title.ref, r.title.text_hash(), [float(x) for x in vector])
            for r, vector in zip(records, vectors, strict=True)
        ]
        await self._store.put_embeddings(rows)
        run.embedded += len(rows)

    # -- phase 4 -------------------------------------------------------------------------------

    async def _rebuild_index(self, notify: ProgressCallback) -> None:
        # Rebuilds (and publishes) only when the stored vectors' version moved.
        count = await self._index.update(self._store)
        if count is not None:
            notify(Progress("index", count, count))


async def rebuild_index(store: StateStore, index: IndexSlot) -> int:
    """Bring a worker's index up to date with what content sync stored or published.

    A worker that only runs user syncs calls this at start-up (content sync updates the
    index itself). A `PublishedIndex` loads the published file and builds nothing; a plain
    `IndexSlot` (one process) rebuilds from the stored vectors when their version moved.
    An empty store leaves the index as it is.

    Returns:
        How many vectors the index now holds.

    Raises:
        SourceError: the store failed.
    """
    await index.refresh(store)
    return len(index)


def _record(title: Title, old: CatalogRecord | None) -> CatalogRecord:
    """The record to store for a fetched title; ``old`` itself when nothing changed."""
    content_hash = title.content_hash()
    if old is not None and old.content_hash == content_hash:
        return old
    if old is None:
        return CatalogRecord.of(title)
    return CatalogRecord(title, content_hash, old.synced_hash, old.embedded_hash)


def _needs_embedding(record: CatalogRecord) -> bool:
    return record.embedded_hash != record.title.text_hash()


def _ignore(_progress: Progress) -> None:
    """The progress callback used when the caller passes none."""
