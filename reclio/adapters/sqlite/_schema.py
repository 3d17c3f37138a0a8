"""The SQLite schema as an ordered list of migrations, tracked by ``PRAGMA user_version``.

Migration *n* (1-based) moves a database from ``user_version = n - 1`` to ``n``: its SQL
script, then its Python ``upgrade`` step (for data the SQL cannot move), in the store's one
migration transaction. Append new migrations; never edit a released one. Instants are
stored as integer microseconds since the Unix epoch (UTC), so they compare and index
correctly whatever offset they were given.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Final, NamedTuple

from reclio.adapters._rows import KIND_RATING, KIND_VIEW
from reclio.domain import ItemRef
from reclio.errors import DecodeError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Migration"]


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


class Migration(NamedTuple):
    """One schema step: what it is for, its SQL, and an optional Python data step."""

    description: str
    script: str
    upgrade: Callable[[sqlite3.Connection], None] | None = None


def _micros(at: datetime) -> int:
    return (at - _EPOCH) // timedelta(microseconds=1)


def _legacy_instant(text: object) -> int:
    if not isinstance(text, str):
        msg = f"an instant is an ISO-8601 string, got {text!r}"
        raise TypeError(msg)
    at = datetime.fromisoformat(text)
    if at.utcoffset() is None:
        msg = f"an instant must carry its UTC offset, got {text!r}"
        raise ValueError(msg)
    return _micros(at)


def _ledger_rows(user_id: str, text: str) -> Iterator[tuple[object, ...]]:
    """History rows of one ``ledger:<user>`` cursor (reclio <= 0.x, format version 1)."""
    document = json.loads(text)
    if not isinstance(document, dict) or document.get("v") != 1:
        msg = "not a version 1 ledger"
        raise ValueError(msg)
    for item_id, at in dict(document["views"]).items():
        ref = ItemRef.parse(item_id)
        yield (user_id, KIND_VIEW, ref.media_type.value, ref.tmdb_id, _legacy_instant(at), None)
    for item_id, (value, at) in dict(document["ratings"]).items():
        ref = ItemRef.parse(item_id)
        rating = float(value)
        if not -1.0 <= rating <= 1.0:
            msg = f"a rating is in [-1, 1], got {value!r}"
            raise ValueError(msg)
        yield (user_id, KIND_RATING, ref.media_type.value, ref.tmdb_id, _legacy_instant(at), rating)


def _move_ledgers(conn: sqlite3.Connection) -> None:
    """Move each user's ledger (a JSON cursor ``ledger:<user id>``) into the history tables.

    Raises:
        DecodeError: a ledger does not decode; the whole migration is rolled back.
    """
    insert_history = (
        "INSERT INTO history (user_id, kind, media_type, tmdb_id, at, value)"
        " VALUES (?, ?, ?, ?, ?, ?)"
    )
    # GLOB, unlike LIKE, is case-sensitive and ':' is no wildcard.
    for name, value in conn.execute(
        "SELECT name, value FROM cursors WHERE name GLOB 'ledger:*' ORDER BY name"
    ):
        user_id = name.removeprefix("ledger:")
        try:
            conn.executemany(insert_history, _ledger_rows(user_id, value))
        except (ValueError, TypeError, KeyError, OverflowError) as exc:
            msg = (
                f"cursor {name!r} is not a ledger reclio can read ({type(exc).__name__}: {exc});"
                " repair or delete that row of the cursors table, then open the store again"
            )
            raise DecodeError(msg, service="sqlite", operation="open", errors=[str(exc)]) from exc
        conn.execute("INSERT INTO histories (user_id) VALUES (?)", (user_id,))
    conn.execute("DELETE FROM cursors WHERE name GLOB 'ledger:*'")


# Statements are split on ";": keep semicolons out of comments.
MIGRATIONS: Final[tuple[Migration, ...]] = (
    Migration(
        "users, leases, cursors and the catalog",
        """
        CREATE TABLE users (
            user_id      TEXT PRIMARY KEY,
            doc          TEXT NOT NULL,   -- UserState as reclio's JSON (reclio._serde)
            next_sync_at INTEGER          -- microseconds since the epoch, NULL = never scheduled
        ) WITHOUT ROWID;
        CREATE INDEX users_next_sync_at ON users (next_sync_at);

        CREATE TABLE leases (
            key        TEXT PRIMARY KEY,
            owner      TEXT NOT NULL,
            expires_at INTEGER NOT NULL
        ) WITHOUT ROWID;

        CREATE TABLE cursors (
            name  TEXT PRIMARY KEY,
            value TEXT NOT NULL
        ) WITHOUT ROWID;

        CREATE TABLE titles (
            media_type    TEXT NOT NULL,
            tmdb_id       INTEGER NOT NULL,
            doc           TEXT NOT NULL,  -- Title as reclio's JSON
            content_hash  TEXT NOT NULL,
            synced_hash   TEXT,
            embedded_hash TEXT,
            PRIMARY KEY (media_type, tmdb_id)
        ) WITHOUT ROWID;
        """,
    ),
    Migration(
        "embeddings and the feed-request log",
        """
        CREATE TABLE embeddings (
            media_type TEXT NOT NULL,
            tmdb_id    INTEGER NOT NULL,
            text_hash  TEXT NOT NULL,
            vector     BLOB NOT NULL,     -- little-endian float32
            PRIMARY KEY (media_type, tmdb_id)
        ) WITHOUT ROWID;

        CREATE TABLE feed_requests (
            user_id TEXT NOT NULL,
            at      INTEGER NOT NULL
        );
        CREATE INDEX feed_requests_user_at ON feed_requests (user_id, at);
        """,
    ),
    Migration(
        "users' history and credentials; ledgers move out of cursors; inline vectors",
        """
        CREATE TABLE history (
            user_id    TEXT NOT NULL,
            kind       INTEGER NOT NULL,  -- 0 view, 1 rating, 2 bookmark
            media_type TEXT NOT NULL,
            tmdb_id    INTEGER NOT NULL,
            at         INTEGER NOT NULL,  -- microseconds since the epoch
            value      REAL,              -- the normalized rating, for ratings only
            PRIMARY KEY (user_id, kind, media_type, tmdb_id),
            CHECK (kind IN (0, 1, 2)),
            CHECK ((kind = 1) = (value IS NOT NULL))
        ) WITHOUT ROWID;
        CREATE INDEX history_title ON history (media_type, tmdb_id);

        -- One row per user whose history was saved, so an empty history is not "none".
        CREATE TABLE histories (
            user_id TEXT PRIMARY KEY
        ) WITHOUT ROWID;

        CREATE TABLE credentials (
            user_id       TEXT NOT NULL,
            service       TEXT NOT NULL,
            access_token  TEXT NOT NULL,
            refresh_token TEXT NOT NULL,
            created_at    INTEGER NOT NULL,  -- microseconds since the epoch
            expires_in    INTEGER NOT NULL,  -- microseconds
            scope         TEXT NOT NULL,
            PRIMARY KEY (user_id, service)
        ) WITHOUT ROWID;

        -- A rowid table: a WITHOUT ROWID row over about 1,000 bytes spills into an overflow
        -- page of its own, so every 256-dimension vector took 4 KiB more than its size.
        CREATE TABLE embeddings_v3 (
            media_type TEXT NOT NULL,
            tmdb_id    INTEGER NOT NULL,
            text_hash  TEXT NOT NULL,
            vector     BLOB NOT NULL,     -- little-endian float32
            PRIMARY KEY (media_type, tmdb_id)
        );
        INSERT INTO embeddings_v3 (media_type, tmdb_id, text_hash, vector)
            SELECT media_type, tmdb_id, text_hash, vector FROM embeddings
            ORDER BY media_type, tmdb_id;
        DROP TABLE embeddings;
        ALTER TABLE embeddings_v3 RENAME TO embeddings;
        """,
        _move_ledgers,
    ),
    Migration(
        "per-user addon tokens, as hashes",
        """
        -- One current token per user (rotation replaces it), looked up by its hash on every
        -- request to <base>/<token>/feeds. Only the SHA-256 of the token is stored.
        CREATE TABLE addon_tokens (
            user_id    TEXT PRIMARY KEY,
            token_hash TEXT NOT NULL UNIQUE
        ) WITHOUT ROWID;
        """,
    ),
)
"""Migrations, oldest first."""

SCHEMA_VERSION: Final = len(MIGRATIONS)
