"""The in-memory state store: every StateStore promise, held in dictionaries."""

from __future__ import annotations

import bisect
from array import array
from collections import defaultdict
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from datetime import datetime, timedelta

import attrs

from reclio._clock import Clock, require_aware, utc_now
from reclio.adapters.memory._faults import Faults
from reclio.domain import CatalogRecord, ItemRef, UserState
from reclio.errors import SourceError
from reclio.ports import StateStore


class InMemoryStateStore(StateStore):
    """**StateStore** in process memory: fast, exact, gone when the process ends.

    Use it in tests, demos and single-process tools; use
    `SqliteStateStore` when state must survive a restart or be
    shared between processes. Values are the frozen domain objects themselves (no copies are
    needed), vectors are kept as float32.

    Leases expire by the injected ``clock``, so tests can move time instead of sleeping.
    Failures can be injected with `inject_failure`.

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
        self._feed_requests: defaultdict[str, list[datetime]] = defaultdict(list)
        self._leases: dict[str, tuple[str, datetime]] = {}
        self._cursors: dict[str, str] = {}
        self._titles: dict[ItemRef, CatalogRecord] = {}
        self._embeddings: dict[ItemRef, tuple[str, array[float]]] = {}
        self._faults = Faults()

    # -- failure injection -------------------------------------------------------------------

    def inject_failure(
        self, error: SourceError, *, operation: str | None = None, times: int | None = 1
    ) -> None:
        """Make the next ``times`` calls of ``operation`` (any when ``None``) raise ``error``.

        Args:
            error: What to raise, e.g. ``SourceUnavailable("down", service="memory",
                operation="put_user")``.
            operation: A method name such as ``"put_user"``; ``None`` matches every method.
            times: How many calls fail; ``None`` fails every call until
                `clear_failures`.
        """
        self._faults.inject(error, operation=operation, times=times)

    def clear_failures(self) -> None:
        """Forget every injected failure."""
        self._faults.clear()

    # -- users -------------------------------------------------------------------------------

    async def ping(self) -> None:
        """Healthy unless a failure was injected for ``ping``."""
        self._faults.check("ping")

    async def get_user(self, user_id: str) -> UserState | None:
        """The user's state, or ``None`` for an unknown user."""
        self._faults.check("get_user")
        return self._users.get(user_id)

    async def put_user(self, state: UserState) -> None:
        """Create or replace one user's state."""
        self._faults.check("put_user")
        self._users[state.user_id] = state

    async def user_ids(self) -> Sequence[str]:
        """Every known user id, sorted."""
        self._faults.check("user_ids")
        return sorted(self._users)

    async def due_users(self, now: datetime) -> Sequence[str]:
        """Users never scheduled first, then by ``next_sync_at``, ties by id."""
        self._faults.check("due_users")
        require_aware(now, "now")
        due = [
            (state.next_sync_at is not None, state.next_sync_at or now, user_id)
            for user_id, state in self._users.items()
            if state.next_sync_at is None or state.next_sync_at <= now
        ]
        due.sort()
        return [user_id for _, _, user_id in due]

    async def record_feed_request(self, user_id: str, at: datetime) -> None:
        """Count one feed request."""
        self._faults.check("record_feed_request")
        require_aware(at, "at")
        log = self._feed_requests[user_id]
        bisect.insort(log, at)
        if self._retention is not None:
            del log[: bisect.bisect_left(log, log[-1] - self._retention)]

    async def feed_requests_since(self, user_id: str, since: datetime) -> int:
        """How many feed requests the user made at or after ``since``."""
        self._faults.check("feed_requests_since")
        require_aware(since, "since")
        log = self._feed_requests.get(user_id, [])
        return len(log) - bisect.bisect_left(log, since)

    # -- leases ------------------------------------------------------------------------------

    async def acquire_lease(self, key: str, owner: str, ttl: timedelta) -> bool:
        """Take or extend the lease unless another owner holds an unexpired one."""
        self._faults.check("acquire_lease")
        now = self._clock()
        held = self._leases.get(key)
        if held is not None and held[0] != owner and held[1] > now:
            return False
        self._leases[key] = (owner, now + ttl)
        return True

    async def release_lease(self, key: str, owner: str) -> None:
        """Give the lease back; a no-op unless ``owner`` holds it."""
        self._faults.check("release_lease")
        held = self._leases.get(key)
        if held is not None and held[0] == owner:
            del self._leases[key]

    # -- cursors -----------------------------------------------------------------------------

    async def get_cursor(self, name: str) -> str | None:
        """A named cursor, or ``None`` if never set."""
        self._faults.check("get_cursor")
        return self._cursors.get(name)

    async def set_cursor(self, name: str, value: str) -> None:
        """Set a named cursor."""
        self._faults.check("set_cursor")
        self._cursors[name] = value

    # -- catalog -----------------------------------------------------------------------------

    async def get_titles(self, refs: Collection[ItemRef]) -> Sequence[CatalogRecord]:
        """Stored records among ``refs``, in ``refs`` order."""
        self._faults.check("get_titles")
        return [record for ref in refs if (record := self._titles.get(ref)) is not None]

    async def put_titles(self, records: Sequence[CatalogRecord]) -> None:
        """Create or replace catalog records."""
        self._faults.check("put_titles")
        for record in records:
            self._titles[record.title.ref] = record

    async def iter_titles(self, *, batch_size: int = 500) -> AsyncIterator[Sequence[CatalogRecord]]:
        """Every record, in batches ordered by ref."""
        self._faults.check("iter_titles")
        _check_batch_size(batch_size)
        refs = sorted(self._titles)
        for start in range(0, len(refs), batch_size):
            yield [self._titles[ref] for ref in refs[start : start + batch_size]]

    async def mark_synced(self, confirmed: Mapping[ItemRef, str]) -> None:
        """Record confirmed content hashes; refs the store does not hold are ignored."""
        self._faults.check("mark_synced")
        for ref, content_hash in confirmed.items():
            record = self._titles.get(ref)
            if record is not None:
                self._titles[ref] = attrs.evolve(record, synced_hash=content_hash)

    async def put_embeddings(self, rows: Sequence[tuple[ItemRef, str, Sequence[float]]]) -> None:
        """Store float32 vectors and set each record's embedded hash."""
        self._faults.check("put_embeddings")
        for ref, text_hash, vector in rows:
            self._embeddings[ref] = (text_hash, array("f", vector))
            record = self._titles.get(ref)
            if record is not None:
                self._titles[ref] = attrs.evolve(record, embedded_hash=text_hash)

    async def iter_embeddings(
        self, *, batch_size: int = 1000
    ) -> AsyncIterator[Sequence[tuple[ItemRef, Sequence[float]]]]:
        """Every stored vector (float32), in batches ordered by ref."""
        self._faults.check("iter_embeddings")
        _check_batch_size(batch_size)
        refs = sorted(self._embeddings)
        for start in range(0, len(refs), batch_size):
            yield [(ref, self._embeddings[ref][1]) for ref in refs[start : start + batch_size]]


def _check_batch_size(batch_size: int) -> None:
    if batch_size < 1:
        msg = f"batch_size must be at least 1, got {batch_size}"
        raise ValueError(msg)
