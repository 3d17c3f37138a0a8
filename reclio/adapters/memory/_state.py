"""The in-memory state store: every state role, held in dictionaries."""

from __future__ import annotations

import bisect
import heapq
from collections import defaultdict
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from datetime import datetime, timedelta

import attrs
import numpy as np

from reclio._clock import Clock, require_aware, utc_now
from reclio.adapters._args import check_batch_size, check_limit
from reclio.domain import (
    CatalogRecord,
    Interaction,
    ItemRef,
    OAuthToken,
    UserHistory,
    UserState,
    Vector,
)
from reclio.ports import StateStore


class InMemoryStateStore(StateStore):
    """**StateStore** in process memory: fast, exact, gone when the process ends.

    Implements every state role (users, history, credentials, addon tokens, feed log,
    leases, cursors, catalog, embeddings). Use it in tests, demos and single-process tools; use
    `SqliteStateStore` when state must survive a restart or be shared between processes.
    Values are the frozen domain objects themselves (no copies are needed); vectors are
    kept as float32 copies, and handed out as fresh copies, so no caller can change what
    the store holds.

    Every method does its work without awaiting anything, so each call is atomic and sees
    one consistent state (`save_user` writes state and history together, `get_titles` is
    one snapshot). Leases expire by the injected ``clock``, so tests can move time instead
    of sleeping. To make the store fail, wrap it in
    `reclio.testing.faults.FlakyStateStore`.

    Stability: caller-stable; implementer: internal.

    Args:
        clock: Returns the current aware datetime (default: the UTC wall clock).
        feed_log_retention: Feed requests older than this (relative to the newest one
            recorded for the user) are forgotten; ``None`` keeps them all.
    """

    def __init__(
        self,
        *,
        clock: Clock = utc_now,
        feed_log_retention: timedelta | None = timedelta(days=90),
    ) -> None:
        self._clock = clock
        self._retention = feed_log_retention
        self._users: dict[str, UserState] = {}
        self._histories: dict[str, UserHistory] = {}
        self._tokens: dict[tuple[str, str], OAuthToken] = {}
        self._addon_hashes: dict[str, str] = {}  # user id -> hash
        self._addon_owners: dict[str, str] = {}  # hash -> user id
        self._feed_requests: defaultdict[str, list[datetime]] = defaultdict(list)
        self._leases: dict[str, tuple[str, datetime]] = {}
        self._cursors: dict[str, str] = {}
        self._titles: dict[ItemRef, CatalogRecord] = {}
        self._embeddings: dict[ItemRef, tuple[str, Vector]] = {}

    async def ping(self) -> None:
        """Always healthy."""

    # -- users -------------------------------------------------------------------------------

    async def get_user(self, user_id: str) -> UserState | None:
        """The user's state, or ``None`` for an unknown user."""
        return self._users.get(user_id)

    async def put_user(self, state: UserState) -> None:
        """Create or replace one user's state (the history is kept)."""
        self._users[state.user_id] = state

    async def user_ids(self) -> Sequence[str]:
        """Every known user id, sorted."""
        return sorted(self._users)

    async def due_users(self, now: datetime) -> Sequence[str]:
        """Users never scheduled first, then by ``next_sync_at``, ties by id."""
        require_aware(now, "now")
        due = [
            (state.next_sync_at is not None, state.next_sync_at or now, user_id)
            for user_id, state in self._users.items()
            if state.next_sync_at is None or state.next_sync_at <= now
        ]
        due.sort()
        return [user_id for _, _, user_id in due]

    async def delete_user(self, user_id: str) -> bool:
        """Forget the user's state, history, credentials and feed log; False if unknown."""
        found = self._users.pop(user_id, None) is not None
        found = self._histories.pop(user_id, None) is not None or found
        found = self._feed_requests.pop(user_id, None) is not None or found
        addon_hash = self._addon_hashes.pop(user_id, None)
        if addon_hash is not None:
            del self._addon_owners[addon_hash]
            found = True
        for key in [key for key in self._tokens if key[0] == user_id]:
            del self._tokens[key]
            found = True
        return found

    # -- history -----------------------------------------------------------------------------

    async def get_history(self, user_id: str) -> UserHistory | None:
        """The user's history, or ``None`` if none was ever saved."""
        return self._histories.get(user_id)

    async def save_user(self, state: UserState, *, history: UserHistory | None = None) -> None:
        """Write the user's state and (when given) history together."""
        self._users[state.user_id] = state
        if history is not None:
            self._histories[state.user_id] = history

    async def iter_interactions(
        self, *, batch_size: int = 1000
    ) -> AsyncIterator[Sequence[Interaction]]:
        """Every recorded interaction, by user id, in batches of ``batch_size``."""
        check_batch_size(batch_size)
        batch: list[Interaction] = []
        for user_id in sorted(self._histories):
            # A history deleted or replaced between batches is read as it is now.
            history = self._histories.get(user_id)
            if history is None:
                continue
            for interaction in history.interactions(user_id):
                batch.append(interaction)
                if len(batch) == batch_size:
                    yield batch
                    batch = []
        if batch:
            yield batch

    # -- credentials -------------------------------------------------------------------------

    async def get_token(self, user_id: str, service: str) -> OAuthToken | None:
        """The user's token for ``service``, or ``None``."""
        return self._tokens.get((user_id, service))

    async def put_token(self, user_id: str, service: str, token: OAuthToken) -> None:
        """Store (replace) the user's token for ``service``."""
        self._tokens[user_id, service] = token

    async def delete_token(self, user_id: str, service: str) -> None:
        """Forget the user's token for ``service``."""
        self._tokens.pop((user_id, service), None)

    # -- addon tokens ------------------------------------------------------------------------

    async def set_addon_token(self, user_id: str, token_hash: str) -> None:
        """Make ``token_hash`` the user's only addon token hash.

        Raises:
            ValueError: another user holds ``token_hash`` (nothing is changed).
        """
        owner = self._addon_owners.get(token_hash)
        if owner is not None and owner != user_id:
            msg = "that addon token hash belongs to another user: issue a fresh token"
            raise ValueError(msg)
        previous = self._addon_hashes.pop(user_id, None)
        if previous is not None:
            del self._addon_owners[previous]
        self._addon_hashes[user_id] = token_hash
        self._addon_owners[token_hash] = user_id

    async def addon_token_owner(self, token_hash: str) -> str | None:
        """The user holding ``token_hash``, or ``None``."""
        return self._addon_owners.get(token_hash)

    # -- feed log ----------------------------------------------------------------------------

    async def record_feed_requests(self, requests: Sequence[tuple[str, datetime]]) -> None:
        """Count feed requests (and forget each user's requests past the retention).

        Raises:
            ValueError: an instant is naive (nothing is counted).
        """
        for _, at in requests:
            require_aware(at, "at")
        for user_id, at in requests:
            bisect.insort(self._feed_requests[user_id], at)
        if self._retention is not None:
            for user_id in {user_id for user_id, _ in requests}:
                log = self._feed_requests[user_id]
                del log[: bisect.bisect_left(log, log[-1] - self._retention)]

    async def feed_requests_since(self, user_id: str, since: datetime) -> int:
        """How many feed requests the user made at or after ``since``."""
        require_aware(since, "since")
        log = self._feed_requests.get(user_id, [])
        return len(log) - bisect.bisect_left(log, since)

    # -- leases ------------------------------------------------------------------------------

    async def acquire_lease(self, key: str, owner: str, ttl: timedelta) -> bool:
        """Take or extend the lease unless another owner holds an unexpired one."""
        now = self._clock()
        held = self._leases.get(key)
        if held is not None and held[0] != owner and held[1] > now:
            return False
        self._leases[key] = (owner, now + ttl)
        return True

    async def release_lease(self, key: str, owner: str) -> None:
        """Give the lease back; a no-op unless ``owner`` holds it."""
        held = self._leases.get(key)
        if held is not None and held[0] == owner:
            del self._leases[key]

    # -- cursors -----------------------------------------------------------------------------

    async def get_cursor(self, name: str) -> str | None:
        """A named cursor, or ``None`` if never set."""
        return self._cursors.get(name)

    async def set_cursor(self, name: str, value: str) -> None:
        """Set a named cursor."""
        self._cursors[name] = value

    # -- catalog -----------------------------------------------------------------------------

    async def get_titles(self, refs: Collection[ItemRef]) -> Sequence[CatalogRecord]:
        """Stored records among ``refs``, in ``refs`` order (one snapshot)."""
        return [record for ref in refs if (record := self._titles.get(ref)) is not None]

    async def put_titles(self, records: Sequence[CatalogRecord]) -> None:
        """Create or replace catalog records."""
        for record in records:
            self._titles[record.title.ref] = record

    async def delete_titles(self, refs: Collection[ItemRef]) -> None:
        """Remove titles and their vectors; unknown refs are ignored."""
        for ref in refs:
            self._titles.pop(ref, None)
            self._embeddings.pop(ref, None)

    async def iter_titles(self, *, batch_size: int = 500) -> AsyncIterator[Sequence[CatalogRecord]]:
        """Every record, in batches ordered by ref."""
        check_batch_size(batch_size)
        refs = sorted(self._titles)
        for start in range(0, len(refs), batch_size):
            batch = [self._titles.get(ref) for ref in refs[start : start + batch_size]]
            yield [record for record in batch if record is not None]

    async def mark_synced(self, confirmed: Mapping[ItemRef, str]) -> None:
        """Record confirmed content hashes; refs the store does not hold are ignored."""
        for ref, content_hash in confirmed.items():
            record = self._titles.get(ref)
            if record is not None:
                self._titles[ref] = attrs.evolve(record, synced_hash=content_hash)

    async def titles_missing_from_catalog(self, *, limit: int) -> Sequence[ItemRef]:
        """Up to ``limit`` titles users' histories name that the catalog lacks, by ref."""
        check_limit(limit)
        named: set[ItemRef] = set()
        for history in self._histories.values():
            named.update(history.refs)
        return heapq.nsmallest(limit, (ref for ref in named if ref not in self._titles))

    # -- embeddings --------------------------------------------------------------------------

    async def put_embeddings(self, rows: Sequence[tuple[ItemRef, str, Vector]]) -> None:
        """Store float32 copies of the vectors and set each record's embedded hash.

        Raises:
            ValueError: a vector is not one-dimensional (nothing is stored).
        """
        vectors = [(ref, text_hash, _float32_row(vector)) for ref, text_hash, vector in rows]
        for ref, text_hash, vector in vectors:
            self._embeddings[ref] = (text_hash, vector)
            record = self._titles.get(ref)
            if record is not None:
                self._titles[ref] = attrs.evolve(record, embedded_hash=text_hash)

    async def iter_embeddings(
        self, *, batch_size: int = 1000
    ) -> AsyncIterator[Sequence[tuple[ItemRef, Vector]]]:
        """Every stored vector (1-D float32, a fresh copy), in batches ordered by ref."""
        check_batch_size(batch_size)
        refs = sorted(self._embeddings)
        for start in range(0, len(refs), batch_size):
            batch = [(ref, self._embeddings.get(ref)) for ref in refs[start : start + batch_size]]
            yield [(ref, row[1].copy()) for ref, row in batch if row is not None]


def _float32_row(vector: Vector) -> Vector:
    row = np.array(vector, dtype=np.float32)
    if row.ndim != 1:
        msg = f"a stored vector is one-dimensional, got shape {row.shape}"
        raise ValueError(msg)
    return row
