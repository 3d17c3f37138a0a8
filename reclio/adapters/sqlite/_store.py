"""The SQLite state store: reclio's default, in a file or in memory, safe across processes."""

from __future__ import annotations

import json
import sqlite3
import sys
import threading
from array import array
from collections.abc import AsyncIterator, Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, TypeVar

import cattrs

from reclio._clock import Clock, require_aware, utc_now
from reclio._serde import make_state_converter
from reclio.adapters.sqlite._schema import MIGRATIONS, SCHEMA_VERSION
from reclio.domain import CatalogRecord, ItemRef, MediaType, Title, UserState
from reclio.errors import ConfigurationError, DecodeError, SourceUnavailable
from reclio.ports import StateStore

_T = TypeVar("_T")
_SERVICE: Final = "sqlite"
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_LITTLE_ENDIAN: Final = sys.byteorder == "little"


def _micros(at: datetime) -> int:
    """An aware instant as integer microseconds since the epoch (exact, sortable)."""
    return (at - _EPOCH) // timedelta(microseconds=1)


def _micros_span(span: timedelta) -> int:
    return span // timedelta(microseconds=1)


def _float32_blob(vector: Sequence[float]) -> bytes:
    values = array("f", vector)
    if not _LITTLE_ENDIAN:
        values.byteswap()
    return values.tobytes()


def _float32_values(blob: bytes) -> array[float]:
    values = array("f", blob)
    if not _LITTLE_ENDIAN:
        values.byteswap()
    return values


class SqliteStateStore(StateStore):
    """**StateStore** in SQLite (stdlib ``sqlite3``): the embedded default.

    A file database runs in WAL mode, so readers (feeds) never wait for a writer (sync) and
    any number of processes may share the file. The schema is versioned with
    ``PRAGMA user_version``; migrations are applied in order when the store opens. Leases
    are rows with an expiry, taken in one ``BEGIN IMMEDIATE`` transaction, so two processes
    can never both hold one. Users are one JSON document per row (reclio's own format, see
    `reclio._serde.make_state_converter`) beside an indexed ``next_sync_at`` column;
    catalog rows keep their content, synced and embedded hashes; vectors are float32 BLOBs.

    Design note: the async methods call ``sqlite3`` directly, on the event loop. A primary
    key lookup takes microseconds, less than the hop to a worker thread would cost, and
    `get_user` sits on the feeds hot path (one cached prepared statement, one JSON
    decode). Bulk reads are paged by key so the loop is never held for long.

    Every ``sqlite3.Error`` reaches the caller as
    `SourceUnavailable` (``service="sqlite"``), chained ``from`` the
    original; a stored document that no longer decodes is a `DecodeError`.

    Stability: caller-stable; the schema is internal (migrated automatically).

    Args:
        path: A database file, or ``":memory:"`` (the default) for a private in-memory one.
        clock: Returns the current aware datetime; decides lease expiry.
        timeout: Seconds to wait for another process's write lock before failing.
        feed_log_retention: When a request is recorded, the user's requests older than this
            before their newest one are deleted; ``None`` keeps them all.

    Raises:
        SourceUnavailable: the file cannot be opened, is not a database, or is locked.
        ConfigurationError: the database was written by a newer reclio (a higher schema).
    """

    def __init__(
        self,
        path: str | Path = ":memory:",
        *,
        clock: Clock = utc_now,
        timeout: float = 5.0,
        feed_log_retention: timedelta | None = timedelta(days=90),
    ) -> None:
        self._path = str(path)
        # The connection may be used from several threads (check_same_thread=False), but
        # sqlite3 connections are not safe for concurrent use: one statement or transaction
        # at a time. Uncontended, the lock costs well under a microsecond.
        self._lock = threading.RLock()
        self._clock = clock
        self._retention = feed_log_retention
        self._converter = make_state_converter()
        self._structure_user = self._converter.get_structure_hook(UserState)
        self._structure_title = self._converter.get_structure_hook(Title)
        with self._translate("open"):
            # Autocommit mode: every transaction below is explicit (BEGIN ... COMMIT).
            self._conn = sqlite3.connect(
                self._path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
            try:
                self._configure()
                self._migrate()
            except (sqlite3.Error, ConfigurationError):
                self._conn.close()
                raise

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def path(self) -> str:
        """The database file, or ``":memory:"``."""
        return self._path

    @property
    def schema_version(self) -> int:
        """The schema version of the open database."""
        with self._translate("schema_version"):
            return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    async def ping(self) -> None:
        """Return if the database answers a trivial query.

        Raises:
            SourceUnavailable: it does not.
        """
        with self._translate("ping"):
            self._conn.execute("SELECT 1").fetchone()

    async def aclose(self) -> None:
        """Close the connection; the store is unusable afterwards."""
        with self._translate("aclose"):
            self._conn.close()

    # -- users -------------------------------------------------------------------------------

    async def get_user(self, user_id: str) -> UserState | None:
        """The user's state, or ``None`` for an unknown user.

        Raises:
            SourceUnavailable: the database failed.
            DecodeError: the stored document does not decode.
        """
        with self._translate("get_user"):
            row = self._conn.execute(
                "SELECT doc FROM users WHERE user_id = ?", (user_id,)
            ).fetchone()
        if row is None:
            return None
        return self._decode(row[0], self._structure_user, UserState, "get_user")

    async def put_user(self, state: UserState) -> None:
        """Create or replace one user's state.

        Raises:
            SourceUnavailable: the database failed.
            ValueError: the state holds a naive datetime (reclio stores instants only).
        """
        doc = json.dumps(self._converter.unstructure(state), separators=(",", ":"))
        due = None if state.next_sync_at is None else _micros(state.next_sync_at)
        with self._translate("put_user"):
            self._conn.execute(
                "INSERT INTO users (user_id, doc, next_sync_at) VALUES (?, ?, ?)"
                " ON CONFLICT (user_id) DO UPDATE"
                " SET doc = excluded.doc, next_sync_at = excluded.next_sync_at",
                (state.user_id, doc, due),
            )

    async def user_ids(self) -> Sequence[str]:
        """Every known user id, sorted."""
        with self._translate("user_ids"):
            rows = self._conn.execute("SELECT user_id FROM users ORDER BY user_id").fetchall()
        return [row[0] for row in rows]

    async def due_users(self, now: datetime) -> Sequence[str]:
        """Users never scheduled first, then by ``next_sync_at``, ties by id."""
        cutoff = _micros(require_aware(now, "now"))
        with self._translate("due_users"):
            rows = self._conn.execute(
                "SELECT user_id FROM users WHERE next_sync_at IS NULL OR next_sync_at <= ?"
                " ORDER BY next_sync_at IS NOT NULL, next_sync_at, user_id",
                (cutoff,),
            ).fetchall()
        return [row[0] for row in rows]

    async def record_feed_request(self, user_id: str, at: datetime) -> None:
        """Count one feed request (and forget the user's requests past the retention)."""
        when = _micros(require_aware(at, "at"))
        with self._translate("record_feed_request"), self._transaction():
            self._conn.execute(
                "INSERT INTO feed_requests (user_id, at) VALUES (?, ?)", (user_id, when)
            )
            if self._retention is not None:
                # Relative to the user's newest request, as the in-memory store does, so a
                # request recorded late (out of order) forgets nothing newer.
                self._conn.execute(
                    "DELETE FROM feed_requests WHERE user_id = ?1 AND at < "
                    "(SELECT MAX(at) FROM feed_requests WHERE user_id = ?1) - ?2",
                    (user_id, _micros_span(self._retention)),
                )

    async def feed_requests_since(self, user_id: str, since: datetime) -> int:
        """How many feed requests the user made at or after ``since``."""
        cutoff = _micros(require_aware(since, "since"))
        with self._translate("feed_requests_since"):
            row = self._conn.execute(
                "SELECT count(*) FROM feed_requests WHERE user_id = ? AND at >= ?",
                (user_id, cutoff),
            ).fetchone()
        return int(row[0])

    # -- leases ------------------------------------------------------------------------------

    async def acquire_lease(self, key: str, owner: str, ttl: timedelta) -> bool:
        """Take or extend the lease unless another owner holds an unexpired one.

        Read and write happen in one ``BEGIN IMMEDIATE`` transaction, which takes SQLite's
        write lock first: two processes racing for one lease are serialized, one wins.
        """
        now = self._clock()
        with self._translate("acquire_lease"), self._transaction():
            row = self._conn.execute(
                "SELECT owner, expires_at FROM leases WHERE key = ?", (key,)
            ).fetchone()
            if row is not None and row[0] != owner and row[1] > _micros(now):
                return False
            self._conn.execute(
                "INSERT INTO leases (key, owner, expires_at) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE"
                " SET owner = excluded.owner, expires_at = excluded.expires_at",
                (key, owner, _micros(now + ttl)),
            )
            return True

    async def release_lease(self, key: str, owner: str) -> None:
        """Give the lease back; a no-op unless ``owner`` holds it."""
        with self._translate("release_lease"):
            self._conn.execute("DELETE FROM leases WHERE key = ? AND owner = ?", (key, owner))

    # -- cursors -----------------------------------------------------------------------------

    async def get_cursor(self, name: str) -> str | None:
        """A named cursor, or ``None`` if never set."""
        with self._translate("get_cursor"):
            row = self._conn.execute("SELECT value FROM cursors WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    async def set_cursor(self, name: str, value: str) -> None:
        """Set a named cursor."""
        with self._translate("set_cursor"):
            self._conn.execute(
                "INSERT INTO cursors (name, value) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (name, value),
            )

    # -- catalog -----------------------------------------------------------------------------

    async def get_titles(self, refs: Collection[ItemRef]) -> Sequence[CatalogRecord]:
        """Stored records among ``refs``, in ``refs`` order."""
        found: dict[ItemRef, CatalogRecord] = {}
        with self._translate("get_titles"):
            for ref in refs:
                row = self._conn.execute(
                    "SELECT doc, content_hash, synced_hash, embedded_hash FROM titles"
                    " WHERE media_type = ? AND tmdb_id = ?",
                    (ref.media_type.value, ref.tmdb_id),
                ).fetchone()
                if row is not None:
                    found[ref] = self._record(row, "get_titles")
        return [found[ref] for ref in refs if ref in found]

    async def put_titles(self, records: Sequence[CatalogRecord]) -> None:
        """Create or replace catalog records (one transaction)."""
        rows = [
            (
                record.title.ref.media_type.value,
                record.title.ref.tmdb_id,
                json.dumps(self._converter.unstructure(record.title), separators=(",", ":")),
                record.content_hash,
                record.synced_hash,
                record.embedded_hash,
            )
            for record in records
        ]
        with self._translate("put_titles"), self._transaction():
            self._conn.executemany(
                "INSERT OR REPLACE INTO titles"
                " (media_type, tmdb_id, doc, content_hash, synced_hash, embedded_hash)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )

    async def iter_titles(self, *, batch_size: int = 500) -> AsyncIterator[Sequence[CatalogRecord]]:
        """Every record, in batches ordered by ref (keyset paging: bounded memory)."""
        _check_batch_size(batch_size)
        after: tuple[str, int] = ("", 0)
        while True:
            with self._translate("iter_titles"):
                rows = self._conn.execute(
                    "SELECT doc, content_hash, synced_hash, embedded_hash, media_type, tmdb_id"
                    " FROM titles WHERE (media_type, tmdb_id) > (?, ?)"
                    " ORDER BY media_type, tmdb_id LIMIT ?",
                    (*after, batch_size),
                ).fetchall()
            if not rows:
                return
            yield [self._record(row, "iter_titles") for row in rows]
            after = (rows[-1][4], rows[-1][5])

    async def mark_synced(self, confirmed: Mapping[ItemRef, str]) -> None:
        """Record confirmed content hashes; refs the store does not hold are ignored."""
        rows = [
            (content_hash, ref.media_type.value, ref.tmdb_id)
            for ref, content_hash in confirmed.items()
        ]
        with self._translate("mark_synced"), self._transaction():
            self._conn.executemany(
                "UPDATE titles SET synced_hash = ? WHERE media_type = ? AND tmdb_id = ?", rows
            )

    async def put_embeddings(self, rows: Sequence[tuple[ItemRef, str, Sequence[float]]]) -> None:
        """Store float32 vectors and set each record's embedded hash (one transaction)."""
        vectors = [
            (ref.media_type.value, ref.tmdb_id, text_hash, _float32_blob(vector))
            for ref, text_hash, vector in rows
        ]
        hashes = [(text_hash, media, tmdb_id) for media, tmdb_id, text_hash, _ in vectors]
        with self._translate("put_embeddings"), self._transaction():
            self._conn.executemany(
                "INSERT OR REPLACE INTO embeddings (media_type, tmdb_id, text_hash, vector)"
                " VALUES (?, ?, ?, ?)",
                vectors,
            )
            self._conn.executemany(
                "UPDATE titles SET embedded_hash = ? WHERE media_type = ? AND tmdb_id = ?",
                hashes,
            )

    async def iter_embeddings(
        self, *, batch_size: int = 1000
    ) -> AsyncIterator[Sequence[tuple[ItemRef, Sequence[float]]]]:
        """Every stored vector (float32), in batches ordered by ref."""
        _check_batch_size(batch_size)
        after: tuple[str, int] = ("", 0)
        while True:
            with self._translate("iter_embeddings"):
                rows = self._conn.execute(
                    "SELECT media_type, tmdb_id, vector FROM embeddings"
                    " WHERE (media_type, tmdb_id) > (?, ?)"
                    " ORDER BY media_type, tmdb_id LIMIT ?",
                    (*after, batch_size),
                ).fetchall()
            if not rows:
                return
            yield [
                (ItemRef(MediaType(media), tmdb_id), _float32_values(blob))
                for media, tmdb_id, blob in rows
            ]
            after = (rows[-1][0], rows[-1][1])

    # -- helpers -----------------------------------------------------------------------------

    def _configure(self) -> None:
        if self._path != ":memory:" and not self._path.startswith("file::memory:"):
            mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                msg = f"could not switch {self._path} to WAL mode (it is {mode!r})"
                raise sqlite3.OperationalError(msg)
            # Durable across application crashes in WAL mode; only an OS crash may lose the
            # last transactions, which the next sync redoes.
            self._conn.execute("PRAGMA synchronous = NORMAL")

    def _migrate(self) -> None:
        with self._transaction():
            version = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                msg = (
                    f"{self._path} has schema version {version}; this reclio understands up to"
                    f" {SCHEMA_VERSION}. Upgrade reclio or point it at another database."
                )
                raise ConfigurationError(msg)
            for number, (_description, script) in enumerate(MIGRATIONS, start=1):
                if number <= version:
                    continue
                for statement in script.split(";"):
                    if statement.strip():
                        self._conn.execute(statement)
                # PRAGMA takes no parameters; ``number`` is an int from enumerate().
                self._conn.execute(f"PRAGMA user_version = {number:d}")

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction; the write lock is taken at BEGIN (no upgrade deadlocks)."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            # COMMIT inside the try: a failed commit (disk full) must roll back too, or the
            # connection stays in a transaction and every later BEGIN fails.
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                self._conn.rollback()
            raise

    @contextmanager
    def _translate(self, operation: str) -> Iterator[None]:
        try:
            with self._lock:
                yield
        except sqlite3.Error as exc:
            msg = f"{type(exc).__name__}: {exc} (database {self._path})"
            raise SourceUnavailable(msg, service=_SERVICE, operation=operation) from exc

    def _decode(
        self, doc: str, hook: Callable[[Any, Any], _T], type_: type[_T], operation: str
    ) -> _T:
        try:
            data = json.loads(doc)
            if not isinstance(data, dict):
                msg = f"expected a JSON object, got {type(data).__name__}"
                raise TypeError(msg)  # noqa: TRY301 - one handler turns every shape error into DecodeError
            return hook(data, type_)
        except (ValueError, TypeError, KeyError, RecursionError, cattrs.BaseValidationError) as exc:
            errors = (
                cattrs.transform_error(exc)
                if isinstance(exc, cattrs.BaseValidationError)
                else [str(exc)]
            )
            msg = f"a stored {type_.__name__} does not decode"
            raise DecodeError(msg, service=_SERVICE, operation=operation, errors=errors) from exc

    def _record(self, row: Sequence[Any], operation: str) -> CatalogRecord:
        title = self._decode(row[0], self._structure_title, Title, operation)
        return CatalogRecord(title, row[1], row[2], row[3])


def _check_batch_size(batch_size: int) -> None:
    if batch_size < 1:
        msg = f"batch_size must be at least 1, got {batch_size}"
        raise ValueError(msg)
