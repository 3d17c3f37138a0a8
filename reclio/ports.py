"""The edge of the hexagon: every port reclio's core talks to, in one place.

Ports are small `typing.Protocol` classes over reclio's own frozen domain values.
Methods that do I/O are ``async``; pure computation (the vector index) is plain.

Two rules hold for every port:

* **Absence is data, failure is an exception.** An unknown title is ``None``; nothing to
  recommend is an empty sequence. Anything that went wrong raises a
  `SourceError` subclass, never a vendor exception.
* **Options are keyword-only**, with defaults; pagination, batching limits and rate limits are
  the adapter's business.

Lifecycle and health are separate capability protocols (`SupportsPing`,
`SupportsAclose`), runtime-checkable so diagnostics can find them.

Stability: caller-stable; implementer-stable within a minor version (methods may gain
keyword options with defaults).
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final, Protocol, runtime_checkable

from reclio.domain import (
    AccountLimits,
    ActivityStamp,
    CatalogRecord,
    Interaction,
    ItemRef,
    ListAccount,
    ListDiff,
    ListHandle,
    ListSnapshot,
    MediaType,
    OAuthToken,
    PlaybackProgress,
    Title,
    UserHistory,
    UserState,
    Vector,
    WriteResult,
)

__all__ = [
    "VECTORS_CURSOR",
    "AddonTokenStore",
    "CandidateList",
    "CatalogSource",
    "CatalogStore",
    "CredentialStore",
    "CursorStore",
    "Embedder",
    "EmbeddingStore",
    "FeedLog",
    "HistoryStore",
    "InteractionSource",
    "LeaseStore",
    "ListSink",
    "Recommender",
    "SharedVectorIndex",
    "StateStore",
    "SupportsAclose",
    "SupportsPing",
    "UserStore",
    "VectorIndex",
    "VectorStore",
]


class CandidateList(enum.Enum):
    """The catalog's ranked lists that content sync draws candidates from."""

    POPULAR = "popular"
    TOP_RATED = "top_rated"
    TRENDING = "trending"
    CURRENT = "current"
    """Now playing (movies) or on the air (shows)."""


class CatalogSource(Protocol):
    """**Port:** read access to the catalog (TMDB, or an in-memory catalog).

    Adapters: ``TmdbCatalogSource``, ``InMemoryCatalogSource``.
    """

    async def get_title(self, ref: ItemRef) -> Title | None:
        """The title with its details and credits, or ``None`` if the source does not know it.

        Raises:
            SourceError: the source failed.
        """
        ...

    async def candidates(
        self, which: CandidateList, media_type: MediaType, *, page: int = 1
    ) -> Sequence[ItemRef]:
        """One page of a ranked list, best first; empty past the last page.

        Raises:
            SourceError: the source failed.
        """
        ...

    async def changed_since(self, media_type: MediaType, since: datetime) -> Sequence[ItemRef]:
        """Titles whose data changed after ``since``.

        Raises:
            SourceError: the source failed.
        """
        ...


class InteractionSource(Protocol):
    """**Port:** one person's activity (Trakt, or in memory).

    Every method returns all pages; adapters page internally.

    Adapters: ``TraktInteractionSource``, ``InMemoryInteractionSource``.
    """

    async def activity(self, user_id: str) -> ActivityStamp:
        """The cheap poll: when each category of activity last moved.

        Raises:
            SourceError: the source failed.
        """
        ...

    async def history(
        self, user_id: str, *, since: datetime | None = None
    ) -> Sequence[Interaction]:
        """Views at or after ``since`` (everything when ``None``), newest first.

        Raises:
            SourceError: the source failed.
        """
        ...

    async def ratings(self, user_id: str) -> Sequence[Interaction]:
        """Every rating the user holds now, newest first.

        Raises:
            SourceError: the source failed.
        """
        ...

    async def watchlist(self, user_id: str) -> Sequence[Interaction]:
        """Every watchlist entry as a bookmark, newest first.

        Raises:
            SourceError: the source failed.
        """
        ...

    async def playback(self, user_id: str) -> Sequence[PlaybackProgress]:
        """Titles paused part-way, newest first.

        Raises:
            SourceError: the source failed.
        """
        ...


class Recommender(Protocol):
    """**Port:** collaborative filtering over titles and interactions.

    Writes are idempotent: re-sending an item or an interaction is success. A confirmed
    write is durable: a later process (or another worker) sees it. An engine that lives in
    process memory meets this by restoring itself from the state store, which records every
    confirmed interaction (``LocalRecommender.restore``).

    Adapters: ``RecombeeRecommender``, ``LocalRecommender``.
    """

    async def upsert_items(self, titles: Sequence[Title]) -> WriteResult[ItemRef]:
        """Create or update titles with their catalog properties.

        Raises:
            SourceError: the whole write failed (per-item failures are in the result).
        """
        ...

    async def add_interactions(
        self, interactions: Sequence[Interaction]
    ) -> WriteResult[Interaction]:
        """Record interactions; one already recorded counts as confirmed.

        Raises:
            SourceError: the whole write failed (per-member failures are in the result).
        """
        ...

    async def recommend(
        self,
        user_id: str,
        *,
        media_type: MediaType,
        count: int,
        exclude: Collection[ItemRef] = (),
    ) -> Sequence[ItemRef]:
        """Up to ``count`` titles of ``media_type`` for the user, best first.

        Titles the user interacted with and titles in ``exclude`` are never returned.

        Raises:
            SourceError: the recommender failed.
        """
        ...

    async def similar(
        self,
        ref: ItemRef,
        *,
        count: int,
        media_type: MediaType | None = None,
        target_user: str | None = None,
        exclude: Collection[ItemRef] = (),
    ) -> Sequence[ItemRef]:
        """Up to ``count`` titles like ``ref`` (item-to-item), best first, never ``ref`` itself.

        Args:
            ref: The anchor title.
            count: How many at most.
            media_type: Only titles of this type, when given.
            target_user: Personalize for this user (and leave out what they interacted with).
            exclude: Never return these.

        Raises:
            SourceError: the recommender failed.
        """
        ...


class VectorIndex(Protocol):
    """**Port:** nearest-neighbour search over title vectors (cosine similarity).

    Build once, then query; rebuilding replaces the whole index. Plain (not async): it is
    in-process computation. Callers offload large builds with `asyncio.to_thread`.

    Adapters: ``AnnoyVectorIndex``, ``ExactVectorIndex``.
    """

    def build(self, items: Iterable[tuple[ItemRef, Vector]]) -> None:
        """Replace the index with these vectors (all of one dimension)."""
        ...

    def nearest(
        self,
        query: ItemRef | Vector,
        *,
        k: int,
        media_type: MediaType | None = None,
        exclude: Collection[ItemRef] = (),
    ) -> Sequence[tuple[ItemRef, float]]:
        """Up to ``k`` items nearest ``query``, with their cosine similarity, best first.

        A query by ``ItemRef`` never returns that item; an unknown ref yields an empty result.
        """
        ...

    def __len__(self) -> int:
        """How many items the index holds."""
        ...

    def save(self, path: Path) -> None:
        """Write the index to ``path``."""
        ...

    def load(self, path: Path) -> None:
        """Replace the index with the one saved at ``path``."""
        ...


class Embedder(Protocol):
    """**Port:** texts to unit-length vectors.

    Adapters: ``SentenceTransformerEmbedder``, ``HashingEmbedder``.
    """

    @property
    def dimension(self) -> int:
        """Length of every vector this embedder produces."""
        ...

    @property
    def identity(self) -> str:
        """Names what produces the vectors (the model), cheaply, without loading it.

        Content sync embeds a title again when its text or this identity changes, so
        switching models re-embeds every title (docs/vectors.md, "Changing the model").
        """
        ...

    async def embed(self, texts: Sequence[str]) -> Vector:
        """One unit-length float32 row per text, in order."""
        ...


class ListSink(Protocol):
    """**Port:** the user-visible lists reclio materializes picks into (Trakt, or in memory).

    Shaped for a sink whose reads may lag its writes (Trakt: a list read a second after a
    write may not show it): user sync reads the account once (`account`), reads each
    list it writes once (`snapshot`), and trusts what `apply` answers, never a read-back.

    Adapters: ``TraktListSink``, ``InMemoryListSink``, ``SqliteListSink``.
    """

    async def account(self, user_id: str) -> ListAccount:
        """The account's limits and every list it holds, in one read (once per sync).

        Raises:
            SourceError: the sink failed.
        """
        ...

    async def ensure_list(
        self,
        user_id: str,
        name: str,
        *,
        description: str = "",
        account: ListAccount | None = None,
    ) -> ListHandle:
        """The user's list called ``name``: an existing one is adopted, else one is created.

        Args:
            user_id: Whose list.
            name: The list's exact name.
            description: The description of a list created here.
            account: What `account` answered in this sync: the list is looked up there
                instead of being read again.

        Raises:
            AccountLimitExceeded: the account may not hold another list.
            SourceError: the sink failed.
        """
        ...

    async def snapshot(self, user_id: str, list_id: int) -> ListSnapshot:
        """What the list holds now, in order, with the sink's entry ids.

        Raises:
            SourceError: the sink failed (an unknown list is an error here).
        """
        ...

    async def items(self, user_id: str, list_id: int) -> Sequence[ItemRef]:
        """What the list holds now, in order (the titles of `snapshot`).

        Raises:
            SourceError: the sink failed (an unknown list is an error here).
        """
        ...

    async def apply(
        self,
        user_id: str,
        list_id: int,
        diff: ListDiff,
        *,
        current: ListSnapshot | None = None,
    ) -> ListHandle:
        """Apply a diff (additions, removals, reorder); returns the list as it is afterwards.

        The result is what ``diff.apply(current)`` says. On the way there the list is only
        ever grown toward the target or shrunk toward it, never emptied (unless the target
        is empty).

        Args:
            user_id: Whose list.
            list_id: Which list.
            diff: What to change.
            current: What the caller read with `snapshot` in this sync; the sink plans its
                calls from it (Trakt's reorder names entry ids) instead of reading again.

        Raises:
            AccountLimitExceeded: the list may not hold that many items.
            SourceError: the sink failed; the list may be partly changed, never emptied by us.
        """
        ...

    async def limits(self, user_id: str) -> AccountLimits:
        """What the account allows (the limits of `account`).

        Raises:
            SourceError: the sink failed.
        """
        ...


class UserStore(Protocol):
    """**Port (state role):** users' state, which feeds read on every request.

    Adapters: every `StateStore`.
    """

    async def get_user(self, user_id: str) -> UserState | None:
        """The user's state, or ``None`` for a user the store has never seen.

        Raises:
            SourceError: the store failed.
        """
        ...

    async def put_user(self, state: UserState) -> None:
        """Create or replace one user's state (the history, if any, is kept).

        Raises:
            SourceError: the store failed.
        """
        ...

    async def user_ids(self) -> Sequence[str]:
        """Every user the store knows, sorted.

        Raises:
            SourceError: the store failed.
        """
        ...

    async def due_users(self, now: datetime) -> Sequence[str]:
        """Users whose ``next_sync_at`` is unset or not after ``now``, most overdue first.

        Raises:
            SourceError: the store failed.
        """
        ...

    async def delete_user(self, user_id: str) -> bool:
        """Forget a user: state, history, credentials and feed log. False if none was held.

        Raises:
            SourceError: the store failed.
        """
        ...


class HistoryStore(Protocol):
    """**Port (state role):** each user's compact history (`UserHistory`).

    Adapters: every `StateStore`.
    """

    async def get_history(self, user_id: str) -> UserHistory | None:
        """The user's history, or ``None`` if none was ever saved.

        Raises:
            SourceError: the store failed.
        """
        ...

    async def save_user(self, state: UserState, *, history: UserHistory | None = None) -> None:
        """Write the user's state and (when given) history in one transaction.

        Raises:
            SourceError: the store failed; neither was written.
        """
        ...

    def iter_interactions(self, *, batch_size: int = 1000) -> AsyncIterator[Sequence[Interaction]]:
        """Every recorded interaction of every user, in batches (bounded memory).

        Ordered by user id, then as `UserHistory.interactions` orders them.

        Raises:
            SourceError: the store failed.
        """
        ...


class CredentialStore(Protocol):
    """**Port (state role):** per-user OAuth tokens, never part of `UserState`.

    Adapters: every `StateStore`.
    """

    async def get_token(self, user_id: str, service: str) -> OAuthToken | None:
        """The user's token for ``service`` (e.g. ``"trakt"``), or ``None``.

        Raises:
            SourceError: the store failed.
        """
        ...

    async def put_token(self, user_id: str, service: str, token: OAuthToken) -> None:
        """Store (replace) the user's token for ``service``.

        Raises:
            SourceError: the store failed.
        """
        ...

    async def delete_token(self, user_id: str, service: str) -> None:
        """Forget the user's token for ``service`` (a no-op when there is none).

        Raises:
            SourceError: the store failed.
        """
        ...


class AddonTokenStore(Protocol):
    """**Port (state role):** each user's addon token, kept as a hash (never the token).

    A ChillLink addon URL carries an unguessable token in its path
    (``<base>/<token>/manifest``); the app hashes the token of each request and asks whose
    it is. See `reclio.addons` for issuing tokens and building the URLs.

    Adapters: every `StateStore`.
    """

    async def set_addon_token(self, user_id: str, token_hash: str) -> None:
        """Make ``token_hash`` the user's only addon token hash (the previous one stops working).

        Setting the hash the user already holds is a no-op.

        Raises:
            ValueError: another user holds ``token_hash`` (nothing is changed).
            SourceError: the store failed (nothing is changed).
        """
        ...

    async def addon_token_owner(self, token_hash: str) -> str | None:
        """The user whose current addon token hashes to ``token_hash``, or ``None``.

        Raises:
            SourceError: the store failed.
        """
        ...


class FeedLog(Protocol):
    """**Port (state role):** counts of ``/feeds`` requests (they drive the sync cadence).

    Adapters: every `StateStore`.
    """

    async def record_feed_requests(self, requests: Sequence[tuple[str, datetime]]) -> None:
        """Count ``/feeds`` requests, one ``(user_id, at)`` each, in one write.

        Raises:
            SourceError: the store failed; none was counted.
        """
        ...

    async def feed_requests_since(self, user_id: str, since: datetime) -> int:
        """How many feed requests the user made at or after ``since``.

        Raises:
            SourceError: the store failed.
        """
        ...


class LeaseStore(Protocol):
    """**Port (state role):** cross-process leases that expire when their holder dies.

    Hold one with `reclio.leases.hold`, which renews it while the work runs.

    Adapters: every `StateStore`.
    """

    async def acquire_lease(self, key: str, owner: str, ttl: timedelta) -> bool:
        """Take the lease ``key`` for ``owner`` unless someone else holds an unexpired one.

        Re-acquiring a lease one already holds extends it.

        Raises:
            SourceError: the store failed.
        """
        ...

    async def release_lease(self, key: str, owner: str) -> None:
        """Give the lease back (a no-op unless ``owner`` holds it).

        Raises:
            SourceError: the store failed.
        """
        ...


class CursorStore(Protocol):
    """**Port (state role):** named cursors (e.g. content sync's last run).

    Adapters: every `StateStore`.
    """

    async def get_cursor(self, name: str) -> str | None:
        """A named cursor, or ``None`` if never set.

        Raises:
            SourceError: the store failed.
        """
        ...

    async def set_cursor(self, name: str, value: str) -> None:
        """Set a named cursor.

        Raises:
            SourceError: the store failed.
        """
        ...


class CatalogStore(Protocol):
    """**Port (state role):** catalog rows with their content hashes.

    Adapters: every `StateStore`.
    """

    async def get_titles(self, refs: Collection[ItemRef]) -> Sequence[CatalogRecord]:
        """The stored records among ``refs`` (unknown refs left out), in ``refs`` order.

        One consistent snapshot: never records from two concurrent writes.

        Raises:
            SourceError: the store failed.
        """
        ...

    async def put_titles(self, records: Sequence[CatalogRecord]) -> None:
        """Create or replace catalog records.

        Raises:
            SourceError: the store failed.
        """
        ...

    async def delete_titles(self, refs: Collection[ItemRef]) -> None:
        """Remove titles the catalog no longer has (with their vectors).

        Raises:
            SourceError: the store failed.
        """
        ...

    def iter_titles(self, *, batch_size: int = 500) -> AsyncIterator[Sequence[CatalogRecord]]:
        """Every catalog record, in batches, ordered by ref (bounded memory).

        Raises:
            SourceError: the store failed.
        """
        ...

    async def mark_synced(self, confirmed: Mapping[ItemRef, str]) -> None:
        """Record that the recommender confirmed these content hashes of these titles.

        Raises:
            SourceError: the store failed.
        """
        ...

    async def titles_missing_from_catalog(self, *, limit: int) -> Sequence[ItemRef]:
        """Up to ``limit`` titles named in users' histories that the catalog lacks, by ref.

        A history names a title it holds a view, a rating or a bookmark of. ``limit=0``
        asks for nothing.

        Raises:
            ValueError: ``limit`` is negative.
            SourceError: the store failed.
        """
        ...


class EmbeddingStore(Protocol):
    """**Port (state role):** title vectors, with the hash of the text they came from.

    Adapters: every `StateStore`.
    """

    async def put_embeddings(self, rows: Sequence[tuple[ItemRef, str, Vector]]) -> None:
        """Store vectors as ``(ref, text_hash, vector)``; also sets each record's embedded hash.

        Raises:
            SourceError: the store failed.
        """
        ...

    def iter_embeddings(
        self, *, batch_size: int = 1000
    ) -> AsyncIterator[Sequence[tuple[ItemRef, Vector]]]:
        """Every stored vector (1-D float32), in batches, ordered by ref.

        Raises:
            SourceError: the store failed.
        """
        ...


class StateStore(
    UserStore,
    HistoryStore,
    CredentialStore,
    AddonTokenStore,
    FeedLog,
    LeaseStore,
    CursorStore,
    CatalogStore,
    EmbeddingStore,
    Protocol,
):
    """**Port:** reclio's own state: the union of every state role.

    A store adapter implements this; each service asks only for the roles it uses
    (`FeedBuilder` needs `UserStore` and `FeedLog`). Everything per user or per worker
    lives here (never in module-level caches), so any number of processes can share one
    store.

    Adapters: ``SqliteStateStore`` (the default), ``PostgresStateStore``, ``InMemoryStateStore``.
    """


VECTORS_CURSOR: Final = "content:vectors"
"""The state-store cursor naming the current version of the stored vectors.

Content sync sets a new version before it writes any vector, so an index built from an
older version (or by a run that died between writing vectors and rebuilding) is rebuilt.
"""


class VectorStore(CursorStore, EmbeddingStore, Protocol):
    """**Port (state roles):** what a `SharedVectorIndex` reads: cursors and stored vectors."""


class SharedVectorIndex(VectorIndex, Protocol):
    """**Port:** the vector index the syncs share, rebuilt from the stored vectors.

    Content sync stores vectors (setting `VECTORS_CURSOR` first) and then calls `update`;
    every other user of the index (user sync, the CLI, the web app) calls `refresh`. A
    query running while the index is replaced answers from the old one, never from a
    half-built one.

    Adapters: ``IndexSlot`` (one process), ``PublishedIndex`` (built once, loaded from
    files by every process), in ``reclio.adapters.shared_index``.
    """

    @property
    def version(self) -> str | None:
        """The version of the stored vectors the current index holds, if known."""
        ...

    async def update(self, store: VectorStore, *, dimension: int | None = None) -> int | None:
        """Content sync's index phase: rebuild from the stored vectors if they changed.

        Args:
            store: The stored vectors and their version.
            dimension: Index only vectors of this length (the one just embedded, so an
                old model's vectors are left out while a new model replaces them).

        Returns:
            How many vectors the rebuilt index holds; ``None`` when nothing was rebuilt.

        Raises:
            SourceError: the store failed, or the index could not be written.
            ValueError: the stored vectors have different lengths and ``dimension`` is
                ``None``.
        """
        ...

    async def refresh(self, store: VectorStore) -> bool:
        """A reader's start-up and periodic check: take up what content sync stored.

        Returns:
            True when the index changed.

        Raises:
            SourceError: the store failed.
        """
        ...


@runtime_checkable
class SupportsPing(Protocol):
    """**Capability:** a cheap health probe."""

    async def ping(self) -> None:
        """Return if healthy.

        Raises:
            SourceError: the service is not healthy.
        """
        ...


@runtime_checkable
class SupportsAclose(Protocol):
    """**Capability:** resources to release (connections, files)."""

    async def aclose(self) -> None:
        """Release resources; the object is unusable afterwards."""
        ...
