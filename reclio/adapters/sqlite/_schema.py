"""The SQLite schema as an ordered list of migrations, tracked by ``PRAGMA user_version``.

Migration *n* (1-based) moves a database from ``user_version = n - 1`` to ``n``. Append new
migrations; never edit a released one. Instants are stored as integer microseconds since
the Unix epoch (UTC), so they compare and index correctly whatever offset they were given.
"""

from __future__ import annotations

from typing import Final

# Statements are split on ";": keep semicolons out of comments.
MIGRATIONS: Final[tuple[tuple[str, str], ...]] = (
    (
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
    (
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
)
"""``(description, SQL script)`` pairs, oldest first."""

SCHEMA_VERSION: Final = len(MIGRATIONS)
