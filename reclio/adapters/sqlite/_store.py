"""The SQLite state store: reclio's default, in a file or in memory, safe across processes."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, NoReturn, TypeVar

from reclio._clock import Clock, require_aware, utc_now
from reclio._serde import make_state_converter
from reclio.adapters._args import check_batch_size, check_limit
from reclio.adapters._rows import (
    decode_document,
    float32_bytes,
    float32_vector,
    history_from_rows,
    history_rows,
    interaction_from_row,
    json_text,
)
from reclio.adapters._rows import decoding as _shared_decoding
from reclio.adapters.sqlite._schema import MIGRATIONS, SCHEMA_VERSION
from reclio.domain import (
    CatalogRecord,
    Interaction,
    ItemRef,
    MediaType,
    OAuthToken,
    Title,
    UserHistory,
    UserState,
    Vector,
)
from reclio.errors import ConfigurationError, DecodeError, SourceError, SourceUnavailable
from reclio.ports import StateStore

_T = TypeVar("_T")

_log = logging.getLogger("reclio.sqlite")
_K = TypeVar("_K")
_Work = Callable[[sqlite3.Connection], _T]
_SERVICE: Final = "sqlite"
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)

# Every table that holds something of one user, for delete_user.
_FORGET_USER: Final = (
    "DELETE FROM users WHERE user_id = ?",
    "DELETE FROM history WHERE user_id = ?",
    "DELETE FROM histories WHERE user_id = ?",
    "DELETE FROM credentials WHERE user_id = ?",
    "DELETE FROM addon_tokens WHERE user_id = ?",
    "DELETE FROM feed_requests WHERE user_id = ?",
)
_UPSERT_USER: Final = (
    "INSERT INTO users (user_id, doc, next_sync_at) VALUES (?, ?, ?)"
    " ON CONFLICT (user_id) DO UPDATE"
    " SET doc = excluded.doc, next_sync_at = excluded.next_sync_at"
)
_HISTORY_COLUMNS: Final = "h.kind, h.media_type, h.tmdb_id, h.at, h.value"
_TITLE_COLUMNS: Final = "t.doc, t.content_hash, t.synced_hash, t.embedded_hash"


def _micros(at: datetime) -> int:
    """An aware instant as integer microseconds since the epoch (exact, sortable)."""
    return (at - _EPOCH) // _MICROSECOND


def _instant(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


def _span(micros: int) -> timedelta:
    return timedelta(microseconds=micros)


_RefKey = tuple[str, int]
"""(media type, tmdb id): a title's primary key, for keyset paging."""
_FIRST_REF: Final[_RefKey] = ("", 0)
_HistoryKey = tuple[str, int, str, int]
"""(user id, kind, media type, tmdb id): the history's primary key, for keyset paging."""


class _Lane:
    """One connection and where its work runs: inline, or on one worker thread of its own.

    sqlite3 connections are not safe for concurrent use (one statement or transaction at a
    time), so each lane holds a lock while it works.
    """

    def __init__(
        self, conn: sqlite3.Connection, lock: threading.Lock, thread: str | None = None
    ) -> None:
        self.conn = conn
        self.lock = lock
        self._pool = ThreadPoolExecutor(1, thread_name_prefix=thread) if thread else None

    def call(self, work: _Work[_T]) -> _T:
        with self.lock:
            return work(self.conn)

    async def run(self, work: _Work[_T]) -> _T:
        if self._pool is None:
            return self.call(work)
        return await asyncio.get_running_loop().run_in_executor(self._pool, self.call, work)

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)


def _noop(_conn: sqlite3.Connection) -> None:
    """A job that only marks its place in a lane's queue."""


class SqliteStateStore(StateStore):
    """**StateStore** in SQLite (stdlib ``sqlite3``): the embedded default, every state role.

    A file database runs in WAL mode, so readers (feeds) never wait for a writer (sync) and
    any number of processes may share the file. The schema is versioned with
    ``PRAGMA user_version``; migrations are applied in order when the store opens (a file
    written by an older reclio is upgraded in place: users' ledgers, once kept as
    ``ledger:<user id>`` cursors, move into the history tables). Leases are rows with an
    expiry, taken in one ``BEGIN IMMEDIATE`` transaction, so two processes can never both
    hold one. Users are one JSON document per row (reclio's own format, see
    `reclio._serde.make_state_converter`) beside an indexed ``next_sync_at`` column;
    histories are one row per (user, kind, title); catalog rows keep their content, synced
    and embedded hashes; vectors are float32 BLOBs; OAuth tokens have a table of their own, and
    so do addon tokens (their SHA-256 hashes only, one per user, unique).

    Threads: **no write runs on the event loop.** Every write (and every transaction) runs
    on one writer thread with its own connection, so a write waiting for another process's
    write lock (up to ``timeout``) never stalls the loop. Bulk reads (lists of users,
    histories, catalog pages, vectors) run on one reader thread with another connection.
    Point reads by key (`get_user`, `get_cursor`, `get_token`, `addon_token_owner`,
    `feed_requests_since`) stay on the loop, on a third connection: they take
    microseconds, less than a hop to a thread and back, and a WAL reader never waits for a
    lock. A private ``":memory:"`` database has a single connection and runs everything on
    the calling thread: no other connection can lock it, so nothing ever waits (and the
    embedded default stays deterministic: no thread timing decides the order of work).

    Every ``sqlite3.Error`` reaches the caller as `SourceUnavailable`
    (``service="sqlite"``), chained ``from`` the original; text SQLite cannot store (a lone
    surrogate, e.g. in a user id) and numbers beyond its integers are a `SourceError`; a
    stored row that no longer decodes is a `DecodeError`. Errors of credential calls never
    carry the original exception or its text. The file holds users' OAuth tokens: keep it
    readable by reclio's processes only.

    Stability: caller-stable; the schema is internal (migrated automatically).

    Args:
        path: A database file, or ``":memory:"`` (the default) for a private in-memory one.
        clock: Returns the current aware datetime; decides lease expiry.
        timeout: Seconds a write waits for another process's write lock before failing.
        feed_log_retention: When requests are recorded, each user's requests older than
            this before their newest one are deleted; ``None`` keeps them all.
        read_only: Open an existing file for reading only: nothing is ever written (no
            table, no migration), and a file that is not a reclio state is refused.
        decoded_users: Users whose last decoded state is kept with the stored text it came
            from: `get_user` then skips decoding (and returns the same object) while that
            text is unchanged, which halves the cost of a ``/feeds`` request. About 5 KB per
            user; 0 turns it off. Once full, further users are decoded on every read.

    Raises:
        SourceUnavailable: the file cannot be opened, is not a database, or is locked.
        ConfigurationError: the database was written by a newer reclio (a higher schema).
        DecodeError: an older database holds a ledger the upgrade cannot read (nothing
            was changed; the message names the row).
    """

    def __init__(
        self,
        path: str | Path = ":memory:",
        *,
        clock: Clock = utc_now,
        timeout: float = 5.0,
        feed_log_retention: timedelta | None = timedelta(days=90),
        read_only: bool = False,
        decoded_users: int = 10_000,
    ) -> None:
        if decoded_users < 0:
            msg = f"decoded_users must be zero or more, got {decoded_users}"
            raise ValueError(msg)
        self._decoded: dict[str, tuple[str, UserState]] = {}
        self._decoded_max = decoded_users
        self._path = str(path)
        self._read_only = read_only
        self._clock = clock
        self._retention = feed_log_retention
        self._closed = False
        self._converter = make_state_converter()
        self._structure_user = self._converter.get_structure_hook(UserState)
        self._structure_title = self._converter.get_structure_hook(Title)
        self._unstructure_user = self._converter.get_unstructure_hook(UserState)
        self._unstructure_title = self._converter.get_unstructure_hook(Title)
        memory = self._path == ":memory:" or self._path.startswith("file::memory:")
        opened: list[sqlite3.Connection] = []

        target, uri = self._path, False
        if read_only and not memory:
            # Reading never writes: no table is created, no migration runs, no file appears.
            target, uri = Path(self._path).resolve().as_uri() + "?mode=ro", True

        def connect() -> sqlite3.Connection:
            # Autocommit mode: every transaction below is explicit (BEGIN ... COMMIT).
            # check_same_thread=False: a lane's lock, not the thread, guards a connection.
            conn = sqlite3.connect(
                target, timeout=timeout, isolation_level=None, check_same_thread=False, uri=uri
            )
            opened.append(conn)
            return conn

        with self._translate("open"):
            try:
                writer = connect()
                if read_only and not memory:
                    self._check_readable(writer)
                else:
                    fresh = not memory and _empty(self._path)
                    self._configure(writer, memory=memory)
                    self._migrate(writer)
                    if not memory:
                        _mark(self._path, fresh=fresh)
                if memory:
                    # One private connection that no other can lock: nothing ever waits, so
                    # nothing needs a thread (a hop costs more than most statements here).
                    lock = threading.Lock()
                    self._now = self._reads = self._writes = _Lane(writer, lock)
                else:
                    reader, point = connect(), connect()
                    for conn in (reader, point):
                        conn.execute("PRAGMA query_only = ON")
                    self._now = _Lane(point, threading.Lock())
                    self._reads = _Lane(reader, threading.Lock(), "reclio-sqlite-read")
                    self._writes = _Lane(writer, threading.Lock(), "reclio-sqlite-write")
            except BaseException:
                for conn in opened:
                    conn.close()
                raise

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def path(self) -> str:
        """The database file, or ``":memory:"``."""
        return self._path

    @property
    def schema_version(self) -> int:
        """The schema version of the open database."""
        return self._read_now("schema_version", _user_version)

    async def ping(self) -> None:
        """Return if the database answers a trivial query.

        Raises:
            SourceUnavailable: it does not.
        """
        self._read_now("ping", lambda conn: conn.execute("SELECT 1").fetchone())

    async def aclose(self) -> None:
        """Finish queued work, then close the connections; the store is unusable afterwards."""
        if self._closed:
            return
        self._closed = True
        try:
            with self._translate("aclose"):
                # Each lane runs its jobs in order: these return once everything queued is done.
                await self._writes.run(_noop)
                await self._reads.run(_noop)
                for lane in (self._writes, self._reads, self._now):
                    with lane.lock:
                        lane.conn.close()
        finally:
            for lane in (self._writes, self._reads):
                lane.shutdown()

    # -- users -------------------------------------------------------------------------------

    async def get_user(self, user_id: str) -> UserState | None:
        """The user's state, or ``None`` for an unknown user.

        Raises:
            SourceUnavailable: the database failed.
            DecodeError: the stored document does not decode.
        """
        row = self._read_now(
            "get_user",
            lambda conn: conn.execute(
                "SELECT doc FROM users WHERE user_id = ?", (user_id,)
            ).fetchone(),
        )
        if row is None:
            return None
        doc: str = row[0]
        # The same stored text decodes to the same value: reuse it (and hand back the same
        # object, so a caller can tell "unchanged" by identity). Any write changes the text.
        known = self._decoded.get(user_id)
        if known is not None and known[0] == doc:
            return known[1]
        state = self._decode(doc, self._structure_user, UserState, "get_user")
        if known is not None or len(self._decoded) < self._decoded_max:
            self._decoded[user_id] = (doc, state)
        return state

    async def put_user(self, state: UserState) -> None:
        """Create or replace one user's state; the history is kept.

        Raises:
            SourceUnavailable: the database failed.
            ValueError: the state holds a naive datetime (reclio stores instants only).
        """
        row = self._user_row(state)
        await self._write("put_user", lambda conn: conn.execute(_UPSERT_USER, row))

    async def user_ids(self) -> Sequence[str]:
        """Every known user id, sorted."""
        rows = await self._read(
            "user_ids",
            lambda conn: conn.execute("SELECT user_id FROM users ORDER BY user_id").fetchall(),
        )
        return [row[0] for row in rows]

    async def due_users(self, now: datetime) -> Sequence[str]:
        """Users never scheduled first, then by ``next_sync_at``, ties by id."""
        cutoff = _micros(require_aware(now, "now"))
        rows = await self._read(
            "due_users",
            lambda conn: conn.execute(
                "SELECT user_id FROM users WHERE next_sync_at IS NULL OR next_sync_at <= ?"
                " ORDER BY next_sync_at IS NOT NULL, next_sync_at, user_id",
                (cutoff,),
            ).fetchall(),
        )
        return [row[0] for row in rows]

    async def delete_user(self, user_id: str) -> bool:
        """Forget the user's state, history, credentials and feed log, in one transaction.

        Returns:
            False when the store held nothing of the user.
        """

        def forget(conn: sqlite3.Connection) -> bool:
            return sum(conn.execute(sql, (user_id,)).rowcount for sql in _FORGET_USER) > 0

        found = await self._write("delete_user", forget)
        self._decoded.pop(user_id, None)
        return found

    # -- history -----------------------------------------------------------------------------

    async def get_history(self, user_id: str) -> UserHistory | None:
        """The user's history (one snapshot), or ``None`` if none was ever saved.

        Raises:
            SourceUnavailable: the database failed.
            DecodeError: a stored row does not decode.
        """

        def read(conn: sqlite3.Connection) -> UserHistory | None:
            # One statement, so one snapshot; the LEFT JOIN tells "saved empty" from "never".
            rows = conn.execute(
                f"SELECT {_HISTORY_COLUMNS} FROM histories AS m"  # noqa: S608 - constant columns
                " LEFT JOIN history AS h ON h.user_id = m.user_id"
                " WHERE m.user_id = ? ORDER BY h.kind, h.media_type, h.tmdb_id",
                (user_id,),
            ).fetchall()
            if not rows:
                return None
            return self._history(rows, "get_history")

        return await self._read("get_history", read)

    async def save_user(self, state: UserState, *, history: UserHistory | None = None) -> None:
        """Write the user's state and (when given) history in one transaction.

        Only the history rows that changed are written, so re-saving a long history costs
        little.

        Raises:
            SourceUnavailable: the database failed; neither was written.
            ValueError: the state holds a naive datetime (nothing is written).
        """
        row = self._user_row(state)
        user_id = state.user_id

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(_UPSERT_USER, row)
            if history is None:
                return
            wanted = history_rows(history, _micros)
            stored = {
                (kind, media, tmdb_id): (at, value)
                for kind, media, tmdb_id, at, value in conn.execute(
                    "SELECT kind, media_type, tmdb_id, at, value FROM history WHERE user_id = ?",
                    (user_id,),
                )
            }
            conn.executemany(
                "DELETE FROM history"
                " WHERE user_id = ? AND kind = ? AND media_type = ? AND tmdb_id = ?",
                [(user_id, *key) for key in stored if key not in wanted],
            )
            conn.executemany(
                "INSERT INTO history (user_id, kind, media_type, tmdb_id, at, value)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, kind, media_type, tmdb_id)"
                " DO UPDATE SET at = excluded.at, value = excluded.value",
                [
                    (user_id, *key, *value)
                    for key, value in wanted.items()
                    if stored.get(key) != value
                ],
            )
            conn.execute("INSERT OR IGNORE INTO histories (user_id) VALUES (?)", (user_id,))

        await self._write("save_user", write)

    async def iter_interactions(
        self, *, batch_size: int = 1000
    ) -> AsyncIterator[Sequence[Interaction]]:
        """Every recorded interaction, by user id then kind then ref (keyset paging)."""
        check_batch_size(batch_size)

        def page(
            after: _HistoryKey | None, conn: sqlite3.Connection
        ) -> tuple[list[Interaction], _HistoryKey | None]:
            columns = f"h.user_id, {_HISTORY_COLUMNS}"
            order = " ORDER BY h.user_id, h.kind, h.media_type, h.tmdb_id LIMIT ?"
            if after is None:
                sql = f"SELECT {columns} FROM history AS h{order}"  # noqa: S608 - constants
                rows = conn.execute(sql, (batch_size,)).fetchall()
            else:
                sql = (
                    f"SELECT {columns} FROM history AS h"  # noqa: S608 - constants
                    f" WHERE (h.user_id, h.kind, h.media_type, h.tmdb_id) > (?, ?, ?, ?){order}"
                )
                rows = conn.execute(sql, (*after, batch_size)).fetchall()
            with _decoding("iter_interactions", "history row"):
                batch = [self._interaction(row) for row in rows]
            last = (rows[-1][0], rows[-1][1], rows[-1][2], rows[-1][3]) if rows else None
            return batch, last

        async for batch in self._pages("iter_interactions", page):
            yield batch

    # -- credentials -------------------------------------------------------------------------

    async def get_token(self, user_id: str, service: str) -> OAuthToken | None:
        """The user's token for ``service``, or ``None``."""
        row = self._read_now(
            "get_token",
            lambda conn: conn.execute(
                "SELECT access_token, refresh_token, created_at, expires_in, scope"
                " FROM credentials WHERE user_id = ? AND service = ?",
                (user_id, service),
            ).fetchone(),
            secret=True,
        )
        if row is None:
            return None
        try:
            access, refresh, created_at, expires_in, scope = row
            return OAuthToken(access, refresh, _instant(created_at), _span(expires_in), scope)
        except (ValueError, TypeError, OverflowError):
            # Never chained: the original exception may quote the secrets.
            msg = "a stored OAuth token does not decode"
            raise DecodeError(msg, service=_SERVICE, operation="get_token") from None

    async def put_token(self, user_id: str, service: str, token: OAuthToken) -> None:
        """Store (replace) the user's token for ``service``."""
        row = (
            user_id,
            service,
            token.access_token,
            token.refresh_token,
            _micros(token.created_at),
            token.expires_in // _MICROSECOND,
            token.scope,
        )
        await self._write(
            "put_token",
            lambda conn: conn.execute(
                "INSERT OR REPLACE INTO credentials (user_id, service, access_token,"
                " refresh_token, created_at, expires_in, scope) VALUES (?, ?, ?, ?, ?, ?, ?)",
                row,
            ),
            secret=True,
        )

    async def delete_token(self, user_id: str, service: str) -> None:
        """Forget the user's token for ``service`` (a no-op when there is none)."""
        await self._write(
            "delete_token",
            lambda conn: conn.execute(
                "DELETE FROM credentials WHERE user_id = ? AND service = ?", (user_id, service)
            ),
            secret=True,
        )

    # -- addon tokens ------------------------------------------------------------------------

    async def set_addon_token(self, user_id: str, token_hash: str) -> None:
        """Make ``token_hash`` the user's only addon token hash (one transaction).

        Raises:
            ValueError: another user holds ``token_hash`` (nothing is changed).
            SourceUnavailable: the database failed (nothing is changed).
        """

        def write(conn: sqlite3.Connection) -> None:
            row = conn.execute(
                "SELECT user_id FROM addon_tokens WHERE token_hash = ?", (token_hash,)
            ).fetchone()
            if row is not None and row[0] != user_id:
                msg = "that addon token hash belongs to another user: issue a fresh token"
                raise ValueError(msg)
            conn.execute(
                "INSERT INTO addon_tokens (user_id, token_hash) VALUES (?, ?)"
                " ON CONFLICT (user_id) DO UPDATE SET token_hash = excluded.token_hash",
                (user_id, token_hash),
            )

        await self._write("set_addon_token", write, secret=True)

    async def addon_token_owner(self, token_hash: str) -> str | None:
        """The user holding ``token_hash``, or ``None`` (a point read on the loop)."""
        row = self._read_now(
            "addon_token_owner",
            lambda conn: conn.execute(
                "SELECT user_id FROM addon_tokens WHERE token_hash = ?", (token_hash,)
            ).fetchone(),
            secret=True,
        )
        return None if row is None else str(row[0])

    # -- feed log ----------------------------------------------------------------------------

    async def record_feed_requests(self, requests: Sequence[tuple[str, datetime]]) -> None:
        """Count feed requests in one transaction (and apply the retention per user).

        Raises:
            SourceUnavailable: the database failed; none was counted.
            ValueError: an instant is naive (none is counted).
        """
        rows = [(user_id, _micros(require_aware(at, "at"))) for user_id, at in requests]
        if not rows:
            return
        retention = self._retention

        def write(conn: sqlite3.Connection) -> None:
            conn.executemany("INSERT INTO feed_requests (user_id, at) VALUES (?, ?)", rows)
            if retention is not None:
                # Relative to each user's newest request, as the in-memory store does, so a
                # request recorded late (out of order) forgets nothing newer.
                conn.executemany(
                    "DELETE FROM feed_requests WHERE user_id = ?1 AND at < "
                    "(SELECT MAX(at) FROM feed_requests WHERE user_id = ?1) - ?2",
                    [(user_id, retention // _MICROSECOND) for user_id in {u for u, _ in rows}],
                )

        await self._write("record_feed_requests", write)

    async def feed_requests_since(self, user_id: str, since: datetime) -> int:
        """How many feed requests the user made at or after ``since``."""
        cutoff = _micros(require_aware(since, "since"))
        row = self._read_now(
            "feed_requests_since",
            lambda conn: conn.execute(
                "SELECT count(*) FROM feed_requests WHERE user_id = ? AND at >= ?",
                (user_id, cutoff),
            ).fetchone(),
        )
        return int(row[0])

    # -- leases ------------------------------------------------------------------------------

    async def acquire_lease(self, key: str, owner: str, ttl: timedelta) -> bool:
        """Take or extend the lease unless another owner holds an unexpired one.

        Read and write happen in one ``BEGIN IMMEDIATE`` transaction, which takes SQLite's
        write lock first: two processes racing for one lease are serialized, one wins.
        """
        now = _micros(self._clock())
        expires = now + ttl // _MICROSECOND

        def take(conn: sqlite3.Connection) -> bool:
            row = conn.execute(
                "SELECT owner, expires_at FROM leases WHERE key = ?", (key,)
            ).fetchone()
            if row is not None and row[0] != owner and row[1] > now:
                return False
            conn.execute(
                "INSERT INTO leases (key, owner, expires_at) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE"
                " SET owner = excluded.owner, expires_at = excluded.expires_at",
                (key, owner, expires),
            )
            return True

        return await self._write("acquire_lease", take)

    async def release_lease(self, key: str, owner: str) -> None:
        """Give the lease back; a no-op unless ``owner`` holds it."""
        await self._write(
            "release_lease",
            lambda conn: conn.execute(
                "DELETE FROM leases WHERE key = ? AND owner = ?", (key, owner)
            ),
        )

    # -- cursors -----------------------------------------------------------------------------

    async def get_cursor(self, name: str) -> str | None:
        """A named cursor, or ``None`` if never set."""
        row = self._read_now(
            "get_cursor",
            lambda conn: conn.execute(
                "SELECT value FROM cursors WHERE name = ?", (name,)
            ).fetchone(),
        )
        return None if row is None else str(row[0])

    async def set_cursor(self, name: str, value: str) -> None:
        """Set a named cursor."""
        await self._write(
            "set_cursor",
            lambda conn: conn.execute(
                "INSERT INTO cursors (name, value) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (name, value),
            ),
        )

    # -- catalog -----------------------------------------------------------------------------

    async def get_titles(self, refs: Collection[ItemRef]) -> Sequence[CatalogRecord]:
        """Stored records among ``refs``, in ``refs`` order: one query, so one snapshot."""
        if not refs:
            return []
        wanted = json.dumps([[ref.media_type.value, ref.tmdb_id] for ref in refs])

        def read(conn: sqlite3.Connection) -> list[CatalogRecord]:
            rows = conn.execute(
                f"SELECT {_TITLE_COLUMNS} FROM json_each(?) AS j"  # noqa: S608 - constant columns
                " JOIN titles AS t ON t.media_type = j.value ->> 0 AND t.tmdb_id = j.value ->> 1"
                " ORDER BY j.key",
                (wanted,),
            ).fetchall()
            return [self._record(row, "get_titles") for row in rows]

        return await self._read("get_titles", read)

    async def put_titles(self, records: Sequence[CatalogRecord]) -> None:
        """Create or replace catalog records (one transaction)."""
        if not records:
            return

        def write(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT OR REPLACE INTO titles"
                " (media_type, tmdb_id, doc, content_hash, synced_hash, embedded_hash)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        record.title.ref.media_type.value,
                        record.title.ref.tmdb_id,
                        json_text(self._unstructure_title(record.title)),
                        record.content_hash,
                        record.synced_hash,
                        record.embedded_hash,
                    )
                    for record in records
                ],
            )

        await self._write("put_titles", write)

    async def delete_titles(self, refs: Collection[ItemRef]) -> None:
        """Remove titles and their vectors (one transaction); unknown refs are ignored."""
        keys = [(ref.media_type.value, ref.tmdb_id) for ref in refs]
        if not keys:
            return

        def write(conn: sqlite3.Connection) -> None:
            for table in ("titles", "embeddings"):
                conn.executemany(
                    f"DELETE FROM {table} WHERE media_type = ? AND tmdb_id = ?",  # noqa: S608 - constant names
                    keys,
                )

        await self._write("delete_titles", write)

    async def iter_titles(self, *, batch_size: int = 500) -> AsyncIterator[Sequence[CatalogRecord]]:
        """Every record, in batches ordered by ref (keyset paging: bounded memory)."""
        check_batch_size(batch_size)

        def page(
            after: _RefKey | None, conn: sqlite3.Connection
        ) -> tuple[list[CatalogRecord], _RefKey | None]:
            rows = conn.execute(
                f"SELECT {_TITLE_COLUMNS}, t.media_type, t.tmdb_id FROM titles AS t"  # noqa: S608 - constant columns
                " WHERE (t.media_type, t.tmdb_id) > (?, ?)"
                " ORDER BY t.media_type, t.tmdb_id LIMIT ?",
                (*(after or _FIRST_REF), batch_size),
            ).fetchall()
            last = (rows[-1][4], rows[-1][5]) if rows else None
            return [self._record(row, "iter_titles") for row in rows], last

        async for batch in self._pages("iter_titles", page):
            yield batch

    async def mark_synced(self, confirmed: Mapping[ItemRef, str]) -> None:
        """Record confirmed content hashes; refs the store does not hold are ignored."""
        rows = [
            (content_hash, ref.media_type.value, ref.tmdb_id)
            for ref, content_hash in confirmed.items()
        ]
        if not rows:
            return
        await self._write(
            "mark_synced",
            lambda conn: conn.executemany(
                "UPDATE titles SET synced_hash = ? WHERE media_type = ? AND tmdb_id = ?", rows
            ),
        )

    async def titles_missing_from_catalog(self, *, limit: int) -> Sequence[ItemRef]:
        """Up to ``limit`` titles users' histories name that the catalog lacks, by ref.

        One anti-join over the history and the catalog, walking the history's title index
        in order, so it stops after ``limit`` finds.
        """
        check_limit(limit)
        rows = await self._read(
            "titles_missing_from_catalog",
            lambda conn: conn.execute(
                "SELECT DISTINCT h.media_type, h.tmdb_id FROM history AS h"
                " WHERE NOT EXISTS (SELECT 1 FROM titles AS t"
                "   WHERE t.media_type = h.media_type AND t.tmdb_id = h.tmdb_id)"
                " ORDER BY h.media_type, h.tmdb_id LIMIT ?",
                (limit,),
            ).fetchall(),
        )
        with _decoding("titles_missing_from_catalog", "history row"):
            return [ItemRef(MediaType(media), tmdb_id) for media, tmdb_id in rows]

    # -- embeddings --------------------------------------------------------------------------

    async def put_embeddings(self, rows: Sequence[tuple[ItemRef, str, Vector]]) -> None:
        """Store float32 vectors and set each record's embedded hash (one transaction).

        Raises:
            SourceUnavailable: the database failed; nothing was stored.
            ValueError: a vector is not one-dimensional (nothing is stored).
        """
        vectors = [
            (ref.media_type.value, ref.tmdb_id, text_hash, float32_bytes(vector))
            for ref, text_hash, vector in rows
        ]
        if not vectors:
            return
        hashes = [(text_hash, media, tmdb_id) for media, tmdb_id, text_hash, _ in vectors]

        def write(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT OR REPLACE INTO embeddings (media_type, tmdb_id, text_hash, vector)"
                " VALUES (?, ?, ?, ?)",
                vectors,
            )
            conn.executemany(
                "UPDATE titles SET embedded_hash = ? WHERE media_type = ? AND tmdb_id = ?",
                hashes,
            )

        await self._write("put_embeddings", write)

    async def iter_embeddings(
        self, *, batch_size: int = 1000
    ) -> AsyncIterator[Sequence[tuple[ItemRef, Vector]]]:
        """Every stored vector (1-D float32, a fresh array), in batches ordered by ref."""
        check_batch_size(batch_size)

        def page(
            after: _RefKey | None, conn: sqlite3.Connection
        ) -> tuple[list[tuple[ItemRef, Vector]], _RefKey | None]:
            rows = conn.execute(
                "SELECT media_type, tmdb_id, vector FROM embeddings"
                " WHERE (media_type, tmdb_id) > (?, ?)"
                " ORDER BY media_type, tmdb_id LIMIT ?",
                (*(after or _FIRST_REF), batch_size),
            ).fetchall()
            with _decoding("iter_embeddings", "vector"):
                batch = [
                    (ItemRef(MediaType(media), tmdb_id), float32_vector(blob))
                    for media, tmdb_id, blob in rows
                ]
            return batch, (rows[-1][0], rows[-1][1]) if rows else None

        async for batch in self._pages("iter_embeddings", page):
            yield batch

    # -- running work ------------------------------------------------------------------------

    def _read_now(self, operation: str, work: _Work[_T], *, secret: bool = False) -> _T:
        """A point read, on the caller's thread (the loop): never waits for a lock."""
        with self._translate(operation, secret=secret):
            self._check_open(operation)
            return self._now.call(work)

    async def _read(self, operation: str, work: _Work[_T]) -> _T:
        """A bulk read, on the reader thread."""
        with self._translate(operation):
            self._check_open(operation)
            return await self._reads.run(work)

    async def _write(self, operation: str, work: _Work[_T], *, secret: bool = False) -> _T:
        """One write transaction, on the writer thread."""
        with self._translate(operation, secret=secret):
            self._check_open(operation)
            return await self._writes.run(lambda conn: _in_transaction(conn, work))

    async def _pages(
        self,
        operation: str,
        page: Callable[[_K | None, sqlite3.Connection], tuple[list[_T], _K | None]],
    ) -> AsyncIterator[list[_T]]:
        """Keyset paging: each page is one bulk read after the previous page's last key.

        Pages are separate reads, so memory stays bounded and no read transaction is held
        open between them (a long one would keep the WAL from being checkpointed).
        """
        after: _K | None = None
        while True:
            batch, after = await self._read(operation, functools.partial(page, after))
            if not batch:
                return
            yield batch

    def _check_open(self, operation: str) -> None:
        if self._closed:
            msg = f"the store for {self._path} is closed"
            raise SourceUnavailable(msg, service=_SERVICE, operation=operation)

    @contextmanager
    def _translate(self, operation: str, *, secret: bool = False) -> Iterator[None]:
        """The one choke point: what the store's libraries raise becomes a `SourceError`.

        With ``secret``, the original exception is not chained and its text is left out:
        it could quote a token.
        """
        try:
            yield
        except UnicodeEncodeError as exc:
            what = (
                "a value"
                if secret
                else f"{exc.object[exc.start : exc.end]!r} (position {exc.start})"
            )
            msg = f"cannot store {what}: SQLite text is UTF-8, which has no lone surrogates"
            raise SourceError(msg, service=_SERVICE, operation=operation) from (
                None if secret else exc
            )
        except OverflowError as exc:
            msg = "a number is beyond SQLite's 64-bit integers"
            raise SourceError(msg, service=_SERVICE, operation=operation) from (
                None if secret else exc
            )
        except sqlite3.Error as exc:
            detail = type(exc).__name__ if secret else f"{type(exc).__name__}: {exc}"
            msg = f"{detail} (database {self._path})"
            raise SourceUnavailable(msg, service=_SERVICE, operation=operation) from (
                None if secret else exc
            )

    # -- encoding and decoding ---------------------------------------------------------------

    def _configure(self, conn: sqlite3.Connection, *, memory: bool) -> None:
        if not memory:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                msg = f"could not switch {self._path} to WAL mode (it is {mode!r})"
                raise sqlite3.OperationalError(msg)
            # Durable across application crashes in WAL mode; only an OS crash may lose the
            # last transactions, which the next sync redoes.
            conn.execute("PRAGMA synchronous = NORMAL")

    def _refuse_newer_or_damaged(self, conn: sqlite3.Connection, version: int) -> NoReturn:
        """A schema version past this reclio's: a newer reclio wrote it, or the file is damaged.

        A damaged header can read as any number, so the file is checked before the message
        blames the version.
        """
        try:
            verdict = str(conn.execute("PRAGMA quick_check").fetchone()[0])
        except sqlite3.DatabaseError as exc:
            verdict = str(exc)
        if verdict != "ok" or version > _PLAUSIBLE_VERSION:
            msg = f"{self._path} is damaged ({verdict}): restore it from a backup"
            raise DecodeError(msg, service=_SERVICE, operation="open")
        msg = (
            f"{self._path} has schema version {version}; this reclio understands up to"
            f" {SCHEMA_VERSION}. Upgrade reclio or point it at another database."
        )
        raise ConfigurationError(msg)

    def _check_readable(self, conn: sqlite3.Connection) -> None:
        """A read-only open: the file must be a reclio state at this reclio's schema."""
        version = _user_version(conn)
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        if version == 0 or "users" not in tables:
            msg = (
                f"{self._path} is not a reclio state file (it has no reclio tables):"
                " check --state / RECLIO_STATE_PATH, or run `reclio demo --state FILE`"
            )
            raise ConfigurationError(msg)
        if version > SCHEMA_VERSION:
            self._refuse_newer_or_damaged(conn, version)
        if version < SCHEMA_VERSION:
            msg = (
                f"{self._path} was written by an older reclio (schema {version}): run"
                " `reclio sync users` (or any command that writes) once to upgrade it"
            )
            raise ConfigurationError(msg)

    def _migrate(self, conn: sqlite3.Connection) -> None:
        def migrate(conn: sqlite3.Connection) -> None:
            version = _user_version(conn)
            if version > SCHEMA_VERSION:
                self._refuse_newer_or_damaged(conn, version)
            for number, migration in enumerate(MIGRATIONS, start=1):
                if number <= version:
                    continue
                for statement in migration.script.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                if migration.upgrade is not None:
                    migration.upgrade(conn)
                # PRAGMA takes no parameters; ``number`` is an int from enumerate().
                conn.execute(f"PRAGMA user_version = {number:d}")

        _in_transaction(conn, migrate)

    def _user_row(self, state: UserState) -> tuple[str, str, int | None]:
        doc = json_text(self._unstructure_user(state))
        due = None if state.next_sync_at is None else _micros(state.next_sync_at)
        return (state.user_id, doc, due)

    def _decode(
        self, doc: str, hook: Callable[[Any, Any], _T], type_: type[_T], operation: str
    ) -> _T:
        return decode_document(doc, hook, type_, service=_SERVICE, operation=operation)

    def _record(self, row: Sequence[Any], operation: str) -> CatalogRecord:
        title = self._decode(row[0], self._structure_title, Title, operation)
        return CatalogRecord(title, row[1], row[2], row[3])

    def _history(self, rows: Sequence[Sequence[Any]], operation: str) -> UserHistory:
        return history_from_rows(rows, _instant, service=_SERVICE, operation=operation)

    @staticmethod
    def _interaction(row: Sequence[Any]) -> Interaction:
        return interaction_from_row(row[0], row[1:], _instant)


def _in_transaction(conn: sqlite3.Connection, work: _Work[_T]) -> _T:
    """One write transaction; the write lock is taken at BEGIN (no upgrade deadlocks)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = work(conn)
        # COMMIT inside the try: a failed commit (disk full) must roll back too, or the
        # connection stays in a transaction and every later BEGIN fails.
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise
    return result


def _empty(path: str) -> bool:
    """No state in the file yet: it is missing, or 0 bytes (a new file, or a truncated one)."""
    target = Path(path)
    return not target.exists() or target.stat().st_size == 0


def _mark(path: str, *, fresh: bool) -> None:
    """Keep a marker beside a state file, so an emptied one is told from a new one.

    A state file found empty while its marker exists held reclio's state before (it was
    truncated or replaced): that is one loud WARNING, since every user would silently go
    non-personal; the store then starts afresh.
    """
    marker = Path(path + ".reclio")
    if fresh and marker.exists():
        _log.warning(
            "%s is empty, but reclio state was kept there before (%s exists): restore it"
            " from a backup, or delete the marker to start afresh",
            path,
            marker,
        )
    with suppress(OSError):  # a read-only folder: no marker, nothing else changes
        marker.touch(exist_ok=True)


_PLAUSIBLE_VERSION = 1000
"""A schema version above this is a damaged header, not a newer reclio."""


def _user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _decoding(operation: str, what: str) -> AbstractContextManager[None]:
    """Rows that no longer make domain values (bad ids, instants, values) are a DecodeError."""
    return _shared_decoding(_SERVICE, operation, what)
