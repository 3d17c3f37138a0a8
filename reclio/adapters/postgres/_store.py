"""The PostgreSQL state store: every state role, shared by any number of processes and machines."""

from __future__ import annotations

import asyncio
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeVar

import psycopg
import psycopg_pool
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from reclio._clock import Clock, require_aware
from reclio._serde import make_state_converter
from reclio.adapters._args import check_batch_size, check_limit
from reclio.adapters._rows import (
    decode_document,
    decoding,
    float32_bytes,
    float32_vector,
    history_from_rows,
    history_rows,
    interaction_from_row,
    json_text,
)
from reclio.adapters.postgres._schema import MIGRATIONS, SCHEMA_VERSION
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
from reclio.errors import (
    ConfigurationError,
    DecodeError,
    SourceError,
    SourceTimeout,
    SourceUnavailable,
)
from reclio.ports import StateStore
from reclio.settings import PostgresConfig

__all__ = ["PostgresStateStore"]

_T = TypeVar("_T")
_K = TypeVar("_K")
_Conn = psycopg.AsyncConnection[Any]
_Work = Callable[[_Conn], Awaitable[_T]]
_SERVICE: Final = "postgres"
_MICROSECOND: Final = timedelta(microseconds=1)

_RefKey = tuple[str, int]
"""(media type, tmdb id): a title's primary key, for keyset paging."""
_FIRST_REF: Final[_RefKey] = ("", -(2**63))

# Every table that holds something of one user, for delete_user.
_FORGET_USER: Final = tuple(
    f"DELETE FROM {table} WHERE user_id = %s"  # noqa: S608 - constant names
    for table in ("users", "history", "histories", "credentials", "feed_requests", "addon_tokens")
)
_UPSERT_USER: Final = (
    "INSERT INTO users (user_id, doc, next_sync_at) VALUES (%s, %s, %s)"
    " ON CONFLICT (user_id) DO UPDATE"
    " SET doc = excluded.doc, next_sync_at = excluded.next_sync_at"
)
_UPSERT_HISTORY: Final = (
    "INSERT INTO history (user_id, kind, media_type, tmdb_id, at, value)"
    " SELECT %s, * FROM unnest(%s::smallint[], %s::text[], %s::bigint[], %s::timestamptz[],"
    " %s::double precision[])"
    " ON CONFLICT (user_id, kind, media_type, tmdb_id)"
    " DO UPDATE SET at = excluded.at, value = excluded.value"
)
_HISTORY_COLUMNS: Final = "h.kind, h.media_type, h.tmdb_id, h.at, h.value"
_TITLE_COLUMNS: Final = "t.doc, t.content_hash, t.synced_hash, t.embedded_hash"
_MIGRATION_LOCK: Final = "reclio-migrate:"
_TRANSIENT: Final = (psycopg.OperationalError, psycopg.InterfaceError, psycopg.InternalError)
"""Connection, pool and server-side failures: trying later may work."""


def _key(text: str) -> bytes:
    """A user id or lease key as stored: its UTF-8 bytes (PostgreSQL text holds no NUL)."""
    return text.encode()


def _utc(at: datetime) -> datetime:
    return at.astimezone(UTC)


def _ref_arrays(refs: Collection[ItemRef]) -> tuple[list[str], list[int]]:
    return [ref.media_type.value for ref in refs], [ref.tmdb_id for ref in refs]


def _display(url: str) -> tuple[str, str | None]:
    """Where the URL points, for messages (no password), and the password itself."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        msg = "RECLIO_STATE_URL is not a valid PostgreSQL URL (postgresql://user@host:5432/db)"
        raise ConfigurationError(msg) from None
    user = parts.get("user")
    host = parts.get("host") or "localhost"
    port = parts.get("port") or "5432"
    where = f"postgresql://{f'{user}@' if user else ''}{host}:{port}/{parts.get('dbname', '')}"
    password = parts.get("password")
    return where, str(password) if password else None


class PostgresStateStore(StateStore):
    """**StateStore** in PostgreSQL (psycopg 3 and psycopg_pool): every state role, shared.

    Install the extra ``reclio[postgres]``. Any number of processes on any number of
    machines share one store: each keeps a small connection pool; nothing per user or per
    worker lives in process memory.

    The store opens lazily: the first call opens the pool and brings the schema up to date
    (versioned migrations in ``reclio._schema``-style order, applied in one transaction
    under an advisory lock, so workers starting together never race). Call `open` to do it
    up front (and fail early on a bad URL).

    * Leases are rows with an expiry, taken in one ``INSERT ... ON CONFLICT DO UPDATE ...
      WHERE`` statement, so two processes racing for one lease are serialized by the row
      lock and only one wins; a lease that is not renewed expires, so a dead worker never
      holds one past its ``ttl``. Expiry reads the database's clock (one clock for every
      machine) unless ``clock`` is given.
    * Writes are single transactions; a write whose caller is cancelled still finishes (or
      rolls back) before the store's next call runs, so a cancelled write is all or
      nothing and ordered before what follows.
    * `iter_interactions` streams through a server-side cursor; `iter_titles` and
      `iter_embeddings` page by key (short statements, bounded memory).
    * `titles_missing_from_catalog` is one anti-join of the history and the catalog.

    Every psycopg and pool failure reaches the caller at one choke point (`_translate`):
    connection, pool and server failures as `SourceUnavailable` (``service="postgres"``),
    statement timeouts as `SourceTimeout`, refused values (e.g. NUL in a cursor) as a
    `SourceError`; a stored row that no longer decodes is a `DecodeError`. The URL's
    password never appears in a repr, a message or a chained exception, and errors of
    credential calls carry neither the original exception nor its text.

    Stability: caller-stable; the schema is internal (migrated automatically).

    Args:
        config: Where the database is, the schema and the pool's size.
        clock: Decides lease expiry; ``None`` (the default) uses the database's clock.
        feed_log_retention: When requests are recorded, each user's requests older than
            this before their newest one are deleted; ``None`` keeps them all.
    """

    def __init__(
        self,
        config: PostgresConfig,
        *,
        clock: Clock | None = None,
        feed_log_retention: timedelta | None = timedelta(days=90),
    ) -> None:
        self._config = config
        self._where, self._password = _display(config.url)
        self._clock = clock
        self._retention = feed_log_retention
        self._pool: psycopg_pool.AsyncConnectionPool[_Conn] | None = None
        self._opening: asyncio.Lock | None = None
        self._orphans: set[asyncio.Task[Any]] = set()
        self._closed = False
        self._converter = make_state_converter()
        self._structure_user = self._converter.get_structure_hook(UserState)
        self._structure_title = self._converter.get_structure_hook(Title)
        self._unstructure_user = self._converter.get_unstructure_hook(UserState)
        self._unstructure_title = self._converter.get_unstructure_hook(Title)

    def __repr__(self) -> str:
        return f"PostgresStateStore({self._where!r}, schema={self._config.schema!r})"

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def config(self) -> PostgresConfig:
        """What the store was built from."""
        return self._config

    async def open(self) -> None:
        """Open the pool and migrate the schema now (every other call does it when needed).

        Raises:
            SourceUnavailable: the database cannot be reached in ``connect_timeout``.
            ConfigurationError: the schema was written by a newer reclio.
        """
        with self._translate("open"):
            self._check_open("open")
            await self._ready()

    async def schema_version(self) -> int:
        """The schema version of the database (0 for a schema never migrated)."""

        async def read(conn: _Conn) -> int:
            return await _schema_version(conn)

        return await self._read("schema_version", read)

    async def ping(self) -> None:
        """Return if the database answers a trivial query.

        Raises:
            SourceUnavailable: it does not.
        """

        async def probe(conn: _Conn) -> None:
            await conn.execute("SELECT 1")

        await self._read("ping", probe)

    async def aclose(self) -> None:
        """Let cancelled writes finish, then close the pool; the store is unusable afterwards."""
        if self._closed:
            return
        self._closed = True
        await self._settle()
        if self._pool is not None:
            with self._translate("aclose"):
                await self._pool.close()

    # -- users -------------------------------------------------------------------------------

    async def get_user(self, user_id: str) -> UserState | None:
        """The user's state, or ``None`` for an unknown user."""

        async def read(conn: _Conn) -> tuple[Any, ...] | None:
            cur = await conn.execute("SELECT doc FROM users WHERE user_id = %s", (_key(user_id),))
            return await cur.fetchone()

        row = await self._read("get_user", read)
        if row is None:
            return None
        return self._decode(row[0], self._structure_user, UserState, "get_user")

    async def put_user(self, state: UserState) -> None:
        """Create or replace one user's state; the history is kept.

        Raises:
            ValueError: the state holds a naive datetime (reclio stores instants only).
        """
        row = self._user_row(state)

        async def write(conn: _Conn) -> None:
            await conn.execute(_UPSERT_USER, (_key(row[0]), row[1], row[2]))

        await self._write("put_user", write, single=True)

    async def user_ids(self) -> Sequence[str]:
        """Every known user id, sorted."""
        rows = await self._read_all("user_ids", "SELECT user_id FROM users ORDER BY user_id")
        return self._user_ids(rows, "user_ids")

    async def due_users(self, now: datetime) -> Sequence[str]:
        """Users never scheduled first, then by ``next_sync_at``, ties by id."""
        cutoff = require_aware(now, "now")
        rows = await self._read_all(
            "due_users",
            "SELECT user_id FROM users WHERE next_sync_at IS NULL OR next_sync_at <= %s"
            " ORDER BY next_sync_at NULLS FIRST, user_id",
            (cutoff,),
        )
        return self._user_ids(rows, "due_users")

    async def delete_user(self, user_id: str) -> bool:
        """Forget the user's state, history, credentials and feed log, in one transaction."""

        async def forget(conn: _Conn) -> bool:
            key = _key(user_id)
            removed = 0
            for statement in _FORGET_USER:
                cur = await conn.execute(statement, (key,))
                removed += cur.rowcount
            return removed > 0

        return await self._write("delete_user", forget)

    # -- history -----------------------------------------------------------------------------

    async def get_history(self, user_id: str) -> UserHistory | None:
        """The user's history (one statement, so one snapshot), or ``None`` if never saved."""
        rows = await self._read_all(
            "get_history",
            # The LEFT JOIN tells "saved empty" from "never saved".
            f"SELECT {_HISTORY_COLUMNS} FROM histories AS m"  # noqa: S608 - constant columns
            " LEFT JOIN history AS h ON h.user_id = m.user_id"
            " WHERE m.user_id = %s ORDER BY h.kind, h.media_type, h.tmdb_id",
            lambda: (_key(user_id),),
        )
        if not rows:
            return None
        return self._history(rows, "get_history")

    async def save_user(self, state: UserState, *, history: UserHistory | None = None) -> None:
        """Write the user's state and (when given) history in one transaction.

        Only the history rows that changed are written, so re-saving a long history costs
        little.

        Raises:
            SourceUnavailable: the database failed; neither was written.
            ValueError: the state holds a naive datetime (nothing is written).
        """
        row = self._user_row(state)
        wanted = None if history is None else history_rows(history, _utc)

        async def write(conn: _Conn) -> None:
            key = _key(row[0])
            await conn.execute(_UPSERT_USER, (key, row[1], row[2]))
            if wanted is None:
                return
            cur = await conn.execute(
                "SELECT kind, media_type, tmdb_id, at, value FROM history WHERE user_id = %s",
                (key,),
            )
            stored = {
                (kind, media, tmdb_id): (at, value)
                for kind, media, tmdb_id, at, value in await cur.fetchall()
            }
            gone = [k for k in stored if k not in wanted]
            changed = [(*k, *v) for k, v in wanted.items() if stored.get(k) != v]
            # One statement each, however many rows: arrays, not a round trip per row.
            if gone:
                kinds, media, ids = (list(column) for column in zip(*gone, strict=True))
                await conn.execute(
                    "DELETE FROM history AS h"
                    " USING unnest(%s::smallint[], %s::text[], %s::bigint[]) AS w (kind, m, id)"
                    " WHERE h.user_id = %s AND h.kind = w.kind AND h.media_type = w.m"
                    " AND h.tmdb_id = w.id",
                    (kinds, media, ids, key),
                )
            if changed:
                columns = [list(column) for column in zip(*changed, strict=True)]
                await conn.execute(_UPSERT_HISTORY, (key, *columns))
            await conn.execute(
                "INSERT INTO histories (user_id) VALUES (%s) ON CONFLICT DO NOTHING", (key,)
            )

        await self._write("save_user", write)

    async def iter_interactions(
        self, *, batch_size: int = 1000
    ) -> AsyncIterator[Sequence[Interaction]]:
        """Every recorded interaction, by user id then kind then ref.

        One server-side cursor streams them, ``batch_size`` rows per fetch, in one read
        transaction (one snapshot), on a connection of its own until the iteration ends.
        """
        check_batch_size(batch_size)
        await self._settle()
        with self._translate("iter_interactions"):
            self._check_open("iter_interactions")
            pool = await self._ready()
            async with pool.connection() as conn, conn.transaction():
                cursor = conn.cursor(name="reclio_iter_interactions")
                async with cursor:
                    await cursor.execute(
                        f"SELECT h.user_id, {_HISTORY_COLUMNS} FROM history AS h"  # noqa: S608 - constants
                        " ORDER BY h.user_id, h.kind, h.media_type, h.tmdb_id"
                    )
                    while rows := await cursor.fetchmany(batch_size):
                        with decoding(_SERVICE, "iter_interactions", "history row"):
                            batch = [self._interaction(row) for row in rows]
                        yield batch

    # -- credentials -------------------------------------------------------------------------

    async def get_token(self, user_id: str, service: str) -> OAuthToken | None:
        """The user's token for ``service``, or ``None``."""

        async def read(conn: _Conn) -> tuple[Any, ...] | None:
            cur = await conn.execute(
                "SELECT access_token, refresh_token, created_at, expires_in, scope"
                " FROM credentials WHERE user_id = %s AND service = %s",
                (_key(user_id), service),
            )
            return await cur.fetchone()

        row = await self._read("get_token", read, secret=True)
        if row is None:
            return None
        try:
            access, refresh, created_at, expires_in, scope = row
            return OAuthToken(
                bytes(access).decode(),
                bytes(refresh).decode(),
                _utc(created_at),
                expires_in * _MICROSECOND,
                scope,
            )
        except (ValueError, TypeError, OverflowError):
            # Never chained: the original exception may quote the secrets.
            msg = "a stored OAuth token does not decode"
            raise DecodeError(msg, service=_SERVICE, operation="get_token") from None

    async def put_token(self, user_id: str, service: str, token: OAuthToken) -> None:
        """Store (replace) the user's token for ``service``."""

        async def write(conn: _Conn) -> None:
            await conn.execute(
                "INSERT INTO credentials (user_id, service, access_token, refresh_token,"
                " created_at, expires_in, scope) VALUES (%s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (user_id, service) DO UPDATE SET"
                " access_token = excluded.access_token, refresh_token = excluded.refresh_token,"
                " created_at = excluded.created_at, expires_in = excluded.expires_in,"
                " scope = excluded.scope",
                (
                    _key(user_id),
                    service,
                    token.access_token.encode(),
                    token.refresh_token.encode(),
                    token.created_at,
                    token.expires_in // _MICROSECOND,
                    token.scope,
                ),
            )

        await self._write("put_token", write, secret=True, single=True)

    async def delete_token(self, user_id: str, service: str) -> None:
        """Forget the user's token for ``service`` (a no-op when there is none)."""

        async def write(conn: _Conn) -> None:
            await conn.execute(
                "DELETE FROM credentials WHERE user_id = %s AND service = %s",
                (_key(user_id), service),
            )

        await self._write("delete_token", write, secret=True, single=True)

    # -- addon tokens ------------------------------------------------------------------------

    async def set_addon_token(self, user_id: str, token_hash: str) -> None:
        """Make ``token_hash`` the user's only addon token hash (one statement).

        Raises:
            ValueError: another user holds ``token_hash`` (nothing is changed).
            SourceUnavailable: the database failed (nothing is changed).
        """

        async def write(conn: _Conn) -> None:
            cur = await conn.execute(
                "SELECT user_id FROM addon_tokens WHERE token_hash = %s", (token_hash,)
            )
            row = await cur.fetchone()
            if row is not None and bytes(row[0]) != _key(user_id):
                msg = "that addon token hash belongs to another user: issue a fresh token"
                raise ValueError(msg)
            await conn.execute(
                "INSERT INTO addon_tokens (user_id, token_hash) VALUES (%s, %s)"
                " ON CONFLICT (user_id) DO UPDATE SET token_hash = excluded.token_hash",
                (_key(user_id), token_hash),
            )

        await self._write("set_addon_token", write, secret=True)

    async def addon_token_owner(self, token_hash: str) -> str | None:
        """The user holding ``token_hash``, or ``None``."""

        async def read(conn: _Conn) -> tuple[Any, ...] | None:
            cur = await conn.execute(
                "SELECT user_id FROM addon_tokens WHERE token_hash = %s", (token_hash,)
            )
            return await cur.fetchone()

        row = await self._read("addon_token_owner", read, secret=True)
        return None if row is None else bytes(row[0]).decode()

    # -- feed log ----------------------------------------------------------------------------

    async def record_feed_requests(self, requests: Sequence[tuple[str, datetime]]) -> None:
        """Count feed requests in one transaction (and apply the retention per user).

        Raises:
            SourceUnavailable: the database failed; none was counted.
            ValueError: an instant is naive (none is counted).
        """
        rows = [(user_id, require_aware(at, "at")) for user_id, at in requests]
        if not rows:
            return
        retention = self._retention

        async def write(conn: _Conn) -> None:
            users = [_key(user_id) for user_id, _ in rows]
            await conn.execute(
                "INSERT INTO feed_requests (user_id, at)"
                " SELECT * FROM unnest(%s::bytea[], %s::timestamptz[])",
                (users, [at for _, at in rows]),
            )
            if retention is not None:
                # Relative to each user's newest request, as the in-memory store does, so a
                # request recorded late (out of order) forgets nothing newer.
                await conn.execute(
                    "DELETE FROM feed_requests AS f USING ("
                    "  SELECT user_id, max(at) AS newest FROM feed_requests"
                    "  WHERE user_id = ANY(%s) GROUP BY user_id) AS n"
                    " WHERE f.user_id = n.user_id AND f.at < n.newest - %s",
                    (sorted(set(users)), retention),
                )

        await self._write("record_feed_requests", write)

    async def feed_requests_since(self, user_id: str, since: datetime) -> int:
        """How many feed requests the user made at or after ``since``."""
        cutoff = require_aware(since, "since")
        rows = await self._read_all(
            "feed_requests_since",
            "SELECT count(*) FROM feed_requests WHERE user_id = %s AND at >= %s",
            lambda: (_key(user_id), cutoff),
        )
        return int(rows[0][0])

    # -- leases ------------------------------------------------------------------------------

    async def acquire_lease(self, key: str, owner: str, ttl: timedelta) -> bool:
        """Take or extend the lease unless another owner holds an unexpired one.

        One statement: the insert, or the update of a row that is ours or has expired.
        Two processes racing for one lease are serialized by the row's lock; the second
        sees the first's row and takes nothing.
        """
        now = sql.SQL("statement_timestamp()")
        params: dict[str, object] = {"owner": owner, "ttl": ttl}
        if self._clock is not None:
            now = sql.SQL("%(now)s::timestamptz")
            params["now"] = require_aware(self._clock(), "clock()")
        statement = sql.SQL(
            "INSERT INTO leases (key, owner, expires_at)"
            " VALUES (%(key)s, %(owner)s, {now} + %(ttl)s)"
            " ON CONFLICT (key) DO UPDATE"
            " SET owner = excluded.owner, expires_at = excluded.expires_at"
            " WHERE leases.owner = excluded.owner OR leases.expires_at <= {now}"
            " RETURNING 1"
        ).format(now=now)

        async def take(conn: _Conn) -> bool:
            cur = await conn.execute(statement, {**params, "key": _key(key)})
            return await cur.fetchone() is not None

        return await self._write("acquire_lease", take, single=True)

    async def release_lease(self, key: str, owner: str) -> None:
        """Give the lease back; a no-op unless ``owner`` holds it."""

        async def write(conn: _Conn) -> None:
            await conn.execute(
                "DELETE FROM leases WHERE key = %s AND owner = %s", (_key(key), owner)
            )

        await self._write("release_lease", write, single=True)

    # -- cursors -----------------------------------------------------------------------------

    async def get_cursor(self, name: str) -> str | None:
        """A named cursor, or ``None`` if never set."""
        rows = await self._read_all(
            "get_cursor", "SELECT value FROM cursors WHERE name = %s", (name,)
        )
        return str(rows[0][0]) if rows else None

    async def set_cursor(self, name: str, value: str) -> None:
        """Set a named cursor.

        Raises:
            SourceError: the name or value holds NUL (PostgreSQL text cannot).
        """

        async def write(conn: _Conn) -> None:
            await conn.execute(
                "INSERT INTO cursors (name, value) VALUES (%s, %s)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (name, value),
            )

        await self._write("set_cursor", write, single=True)

    # -- catalog -----------------------------------------------------------------------------

    async def get_titles(self, refs: Collection[ItemRef]) -> Sequence[CatalogRecord]:
        """Stored records among ``refs``, in ``refs`` order: one statement, so one snapshot."""
        if not refs:
            return []
        rows = await self._read_all(
            "get_titles",
            f"SELECT {_TITLE_COLUMNS}"  # noqa: S608 - constant columns
            " FROM unnest(%s::text[], %s::bigint[]) WITH ORDINALITY AS w (media_type, tmdb_id, n)"
            " JOIN titles AS t ON t.media_type = w.media_type AND t.tmdb_id = w.tmdb_id"
            " ORDER BY w.n",
            _ref_arrays(refs),
        )
        return [self._record(row, "get_titles") for row in rows]

    async def put_titles(self, records: Sequence[CatalogRecord]) -> None:
        """Create or replace catalog records (one transaction)."""
        if not records:
            return
        rows = [
            (
                record.title.ref.media_type.value,
                record.title.ref.tmdb_id,
                json_text(self._unstructure_title(record.title)),
                record.content_hash,
                record.synced_hash,
                record.embedded_hash,
            )
            for record in records
        ]

        async def write(conn: _Conn) -> None:
            async with conn.cursor() as cur:
                await cur.executemany(
                    "INSERT INTO titles"
                    " (media_type, tmdb_id, doc, content_hash, synced_hash, embedded_hash)"
                    " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (media_type, tmdb_id)"
                    " DO UPDATE SET doc = excluded.doc, content_hash = excluded.content_hash,"
                    " synced_hash = excluded.synced_hash, embedded_hash = excluded.embedded_hash",
                    rows,
                )

        await self._write("put_titles", write)

    async def delete_titles(self, refs: Collection[ItemRef]) -> None:
        """Remove titles and their vectors (one transaction); unknown refs are ignored."""
        if not refs:
            return
        arrays = _ref_arrays(refs)

        async def write(conn: _Conn) -> None:
            for table in ("titles", "embeddings"):
                await conn.execute(
                    f"DELETE FROM {table} AS t USING unnest(%s::text[], %s::bigint[])"  # noqa: S608 - constant names
                    " AS w (media_type, tmdb_id)"
                    " WHERE t.media_type = w.media_type AND t.tmdb_id = w.tmdb_id",
                    arrays,
                )

        await self._write("delete_titles", write)

    async def iter_titles(self, *, batch_size: int = 500) -> AsyncIterator[Sequence[CatalogRecord]]:
        """Every record, in batches ordered by ref (keyset paging: bounded memory)."""
        check_batch_size(batch_size)

        async def page(
            after: _RefKey | None, conn: _Conn
        ) -> tuple[list[CatalogRecord], _RefKey | None]:
            cur = await conn.execute(
                f"SELECT {_TITLE_COLUMNS}, t.media_type, t.tmdb_id FROM titles AS t"  # noqa: S608 - constant columns
                " WHERE (t.media_type, t.tmdb_id) > (%s, %s)"
                " ORDER BY t.media_type, t.tmdb_id LIMIT %s",
                (*(after or _FIRST_REF), batch_size),
            )
            rows = await cur.fetchall()
            last = (rows[-1][4], rows[-1][5]) if rows else None
            return [self._record(row, "iter_titles") for row in rows], last

        async for batch in self._pages("iter_titles", page):
            yield batch

    async def mark_synced(self, confirmed: Mapping[ItemRef, str]) -> None:
        """Record confirmed content hashes; refs the store does not hold are ignored."""
        if not confirmed:
            return
        media, ids = _ref_arrays(list(confirmed))
        hashes = list(confirmed.values())

        async def write(conn: _Conn) -> None:
            await conn.execute(
                "UPDATE titles AS t SET synced_hash = w.content_hash"
                " FROM unnest(%s::text[], %s::bigint[], %s::text[])"
                " AS w (media_type, tmdb_id, content_hash)"
                " WHERE t.media_type = w.media_type AND t.tmdb_id = w.tmdb_id",
                (media, ids, hashes),
            )

        await self._write("mark_synced", write, single=True)

    async def titles_missing_from_catalog(self, *, limit: int) -> Sequence[ItemRef]:
        """Up to ``limit`` titles users' histories name that the catalog lacks, by ref.

        One anti-join over the history and the catalog; the history's title index gives
        the order, so the scan stops after ``limit`` finds.
        """
        check_limit(limit)
        if limit == 0:
            return []
        rows = await self._read_all(
            "titles_missing_from_catalog",
            "SELECT DISTINCT h.media_type, h.tmdb_id FROM history AS h"
            " WHERE NOT EXISTS (SELECT 1 FROM titles AS t"
            "   WHERE t.media_type = h.media_type AND t.tmdb_id = h.tmdb_id)"
            " ORDER BY h.media_type, h.tmdb_id LIMIT %s",
            (limit,),
        )
        with decoding(_SERVICE, "titles_missing_from_catalog", "history row"):
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
        columns = [list(column) for column in zip(*vectors, strict=True)]

        async def write(conn: _Conn) -> None:
            await conn.execute(
                "INSERT INTO embeddings (media_type, tmdb_id, text_hash, vector)"
                " SELECT * FROM unnest(%s::text[], %s::bigint[], %s::text[], %s::bytea[])"
                " ON CONFLICT (media_type, tmdb_id)"
                " DO UPDATE SET text_hash = excluded.text_hash, vector = excluded.vector",
                columns,
            )
            await conn.execute(
                "UPDATE titles AS t SET embedded_hash = w.text_hash"
                " FROM unnest(%s::text[], %s::bigint[], %s::text[])"
                " AS w (media_type, tmdb_id, text_hash)"
                " WHERE t.media_type = w.media_type AND t.tmdb_id = w.tmdb_id",
                columns[:3],
            )

        await self._write("put_embeddings", write)

    async def iter_embeddings(
        self, *, batch_size: int = 1000
    ) -> AsyncIterator[Sequence[tuple[ItemRef, Vector]]]:
        """Every stored vector (1-D float32, a fresh array), in batches ordered by ref."""
        check_batch_size(batch_size)

        async def page(
            after: _RefKey | None, conn: _Conn
        ) -> tuple[list[tuple[ItemRef, Vector]], _RefKey | None]:
            cur = await conn.execute(
                "SELECT media_type, tmdb_id, vector FROM embeddings"
                " WHERE (media_type, tmdb_id) > (%s, %s)"
                " ORDER BY media_type, tmdb_id LIMIT %s",
                (*(after or _FIRST_REF), batch_size),
            )
            rows = await cur.fetchall()
            with decoding(_SERVICE, "iter_embeddings", "vector"):
                batch = [
                    (ItemRef(MediaType(media), tmdb_id), float32_vector(bytes(blob)))
                    for media, tmdb_id, blob in rows
                ]
            return batch, (rows[-1][0], rows[-1][1]) if rows else None

        async for batch in self._pages("iter_embeddings", page):
            yield batch

    # -- running work ------------------------------------------------------------------------

    async def _ready(self) -> psycopg_pool.AsyncConnectionPool[_Conn]:
        """The open pool; the first call opens it and migrates the schema."""
        if self._pool is not None:
            return self._pool
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._pool is None:
                config = self._config
                options = (
                    f"-c search_path={config.schema} -c TimeZone=UTC"
                    f" -c statement_timeout={int(config.statement_timeout * 1000)}"
                )
                pool: psycopg_pool.AsyncConnectionPool[_Conn] = psycopg_pool.AsyncConnectionPool(
                    config.url,
                    min_size=config.min_connections,
                    max_size=config.max_connections,
                    timeout=config.connect_timeout,
                    kwargs={
                        "autocommit": True,
                        "options": options,
                        "application_name": "reclio",
                        "connect_timeout": max(1, round(config.connect_timeout)),
                    },
                    open=False,
                    name="reclio-state",
                )
                try:
                    await pool.open(wait=config.min_connections > 0, timeout=config.connect_timeout)
                    async with pool.connection() as conn:
                        await self._migrate(conn)
                except BaseException:
                    await pool.close()
                    raise
                self._pool = pool
        return self._pool

    async def _migrate(self, conn: _Conn) -> None:
        schema = self._config.schema
        async with conn.transaction():
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))", (_MIGRATION_LOCK + schema,)
            )
            await conn.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema))
            )
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                " version integer PRIMARY KEY, description text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            version = await _schema_version(conn)
            if version > SCHEMA_VERSION:
                msg = (
                    f"schema {schema!r} of {self._where} has version {version}; this reclio"
                    f" understands up to {SCHEMA_VERSION}. Upgrade reclio or use another schema."
                )
                raise ConfigurationError(msg)
            for number, migration in enumerate(MIGRATIONS, start=1):
                if number <= version:
                    continue
                # No parameters: the script's statements run as one simple query.
                await conn.execute(migration.script.encode())
                await conn.execute(
                    "INSERT INTO schema_version (version, description) VALUES (%s, %s)",
                    (number, migration.description),
                )

    async def _read(self, operation: str, work: _Work[_T], *, secret: bool = False) -> _T:
        """One read on a pooled connection (autocommit: each statement its own snapshot)."""
        await self._settle()
        with self._translate(operation, secret=secret):
            self._check_open(operation)
            pool = await self._ready()
            async with pool.connection() as conn:
                return await work(conn)

    async def _read_all(
        self,
        operation: str,
        statement: str,
        params: Sequence[object] | Callable[[], Sequence[object]] = (),
    ) -> list[tuple[Any, ...]]:
        """One statement's rows; ``params`` may be a thunk, so encoding fails at the choke point."""

        async def read(conn: _Conn) -> list[tuple[Any, ...]]:
            values = params() if callable(params) else params
            cur = await conn.execute(statement, values)
            return await cur.fetchall()

        return await self._read(operation, read)

    async def _write(
        self, operation: str, work: _Work[_T], *, secret: bool = False, single: bool = False
    ) -> _T:
        """One write transaction, finished even when the caller is cancelled.

        ``single``: the work is one statement, atomic by itself in autocommit mode, so it
        runs without BEGIN and COMMIT (two round trips fewer).
        """
        await self._settle()
        with self._translate(operation, secret=secret):
            self._check_open(operation)
            pool = await self._ready()
            task = asyncio.ensure_future(
                _in_autocommit(pool, work) if single else _in_transaction(pool, work)
            )
            try:
                return await asyncio.shield(task)
            except asyncio.CancelledError:
                if not task.done():
                    # It commits or rolls back on its own; the next call waits for it.
                    self._orphans.add(task)
                    task.add_done_callback(self._orphans.discard)
                raise

    async def _settle(self) -> None:
        """Wait for writes whose callers were cancelled, so later calls are ordered after."""
        while self._orphans:
            await asyncio.gather(*list(self._orphans), return_exceptions=True)

    async def _pages(
        self,
        operation: str,
        page: Callable[[_K | None, _Conn], Awaitable[tuple[list[_T], _K | None]]],
    ) -> AsyncIterator[list[_T]]:
        """Keyset paging: each page is one short read after the previous page's last key."""
        after: _K | None = None
        while True:
            key = after

            async def read(conn: _Conn, key: _K | None = key) -> tuple[list[_T], _K | None]:
                return await page(key, conn)

            batch, after = await self._read(operation, read)
            if not batch:
                return
            yield batch

    def _check_open(self, operation: str) -> None:
        if self._closed:
            msg = f"the store for {self._where} is closed"
            raise SourceUnavailable(msg, service=_SERVICE, operation=operation)

    @contextmanager
    def _translate(self, operation: str, *, secret: bool = False) -> Iterator[None]:
        """The one choke point: what psycopg and its pool raise becomes a `SourceError`.

        Messages never hold the URL's password. With ``secret`` (credential calls), the
        original exception is not chained and its text is left out: it could quote a token.
        """
        try:
            yield
        except UnicodeEncodeError as exc:
            what = "a value" if secret else f"{exc.object[exc.start : exc.end]!r}"
            msg = f"cannot store {what}: PostgreSQL text is UTF-8, which has no lone surrogates"
            raise SourceError(msg, service=_SERVICE, operation=operation) from (
                None if secret else exc
            )
        except OverflowError as exc:
            msg = "a number is beyond PostgreSQL's 64-bit integers"
            raise SourceError(msg, service=_SERVICE, operation=operation) from (
                None if secret else exc
            )
        except psycopg.Error as exc:
            raise self._mapped(exc, operation, secret=secret) from (
                None if secret or self._leaks(exc) else exc
            )

    def _mapped(self, exc: psycopg.Error, operation: str, *, secret: bool) -> SourceError:
        name = type(exc).__name__
        text = "" if secret else str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        if self._password:
            text = text.replace(self._password, "***")
        detail = f"{name}: {text}" if text else name
        msg = f"{detail} (database {self._where})"
        if isinstance(exc, psycopg.errors.QueryCanceled):
            return SourceTimeout(msg, service=_SERVICE, operation=operation)
        if isinstance(exc, _TRANSIENT):
            return SourceUnavailable(msg, service=_SERVICE, operation=operation)
        return SourceError(msg, service=_SERVICE, operation=operation)

    def _leaks(self, exc: BaseException) -> bool:
        """Whether an exception's text (or its cause's) holds the URL's password."""
        if self._password is None:
            return False
        seen: BaseException | None = exc
        while seen is not None:
            if self._password in str(seen):
                return True
            seen = seen.__cause__ or seen.__context__
        return False

    # -- encoding and decoding ---------------------------------------------------------------

    def _user_row(self, state: UserState) -> tuple[str, str, datetime | None]:
        doc = json_text(self._unstructure_user(state))
        due = state.next_sync_at
        if due is not None:
            require_aware(due, "next_sync_at")
        return (state.user_id, doc, due)

    def _decode(
        self, doc: str, hook: Callable[[Any, Any], _T], type_: type[_T], operation: str
    ) -> _T:
        return decode_document(doc, hook, type_, service=_SERVICE, operation=operation)

    def _record(self, row: Sequence[Any], operation: str) -> CatalogRecord:
        title = self._decode(row[0], self._structure_title, Title, operation)
        return CatalogRecord(title, row[1], row[2], row[3])

    @staticmethod
    def _user_ids(rows: Sequence[Sequence[Any]], operation: str) -> list[str]:
        with decoding(_SERVICE, operation, "user id"):
            return [bytes(row[0]).decode() for row in rows]

    def _history(self, rows: Sequence[Sequence[Any]], operation: str) -> UserHistory:
        return history_from_rows(rows, _utc, service=_SERVICE, operation=operation)

    @staticmethod
    def _interaction(row: Sequence[Any]) -> Interaction:
        return interaction_from_row(bytes(row[0]).decode(), row[1:], _utc)


async def _in_transaction(pool: psycopg_pool.AsyncConnectionPool[_Conn], work: _Work[_T]) -> _T:
    async with pool.connection() as conn, conn.transaction():
        return await work(conn)


async def _in_autocommit(pool: psycopg_pool.AsyncConnectionPool[_Conn], work: _Work[_T]) -> _T:
    async with pool.connection() as conn:
        return await work(conn)


async def _schema_version(conn: _Conn) -> int:
    cur = await conn.execute("SELECT to_regclass('schema_version') IS NOT NULL")
    exists = await cur.fetchone()
    if not exists or not exists[0]:
        return 0
    cur = await conn.execute("SELECT coalesce(max(version), 0) FROM schema_version")
    row = await cur.fetchone()
    return int(row[0]) if row else 0
