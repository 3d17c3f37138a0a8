r"""The PostgreSQL schema as an ordered list of migrations, tracked in ``schema_version``.

Migration *n* (1-based) moves a schema from version *n - 1* to *n*. The store applies the
missing ones in one transaction under an advisory lock, so processes starting together
never race (the first migrates, the others wait and then find nothing to do). Append new
migrations; never edit a released one.

Column choices, and why:

* User ids, lease keys and token secrets are ``bytea`` (their UTF-8 bytes): PostgreSQL text
  cannot hold NUL, which a Python string (and so a user id) may; byte order is code-point
  order, so ``ORDER BY user_id`` sorts exactly as Python sorts strings. Read one in psql
  with ``convert_from(user_id, 'UTF8')``.
* Documents (``UserState``, ``Title``) are reclio's JSON as ``text``: ``json.dumps`` escapes
  NUL as ``\u0000``, which ``jsonb`` refuses.
* Instants are ``timestamptz`` (microseconds, like Python's datetime); text that is sorted is
  ``COLLATE "C"``, so order never depends on the server's locale.
"""

from __future__ import annotations

from typing import Final, NamedTuple

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Migration"]


class Migration(NamedTuple):
    """One schema step: what it is for, and its SQL (statements separated by ``;``)."""

    description: str
    script: str


MIGRATIONS: Final[tuple[Migration, ...]] = (
    Migration(
        "every state role: users, history, credentials, feed log, leases, cursors, catalog",
        """
        CREATE TABLE users (
            user_id      bytea PRIMARY KEY,
            doc          text NOT NULL,          -- UserState as reclio's JSON (reclio._serde)
            next_sync_at timestamptz             -- NULL: never scheduled
        );
        CREATE INDEX users_due ON users (next_sync_at NULLS FIRST, user_id);

        CREATE TABLE history (
            user_id    bytea NOT NULL,
            kind       smallint NOT NULL,        -- 0 view, 1 rating, 2 bookmark
            media_type text COLLATE "C" NOT NULL,
            tmdb_id    bigint NOT NULL,
            at         timestamptz NOT NULL,
            value      double precision,         -- the normalized rating, for ratings only
            PRIMARY KEY (user_id, kind, media_type, tmdb_id),
            CHECK (kind IN (0, 1, 2)),
            CHECK ((kind = 1) = (value IS NOT NULL))
        );
        CREATE INDEX history_title ON history (media_type, tmdb_id);

        -- One row per user whose history was saved, so an empty history is not "none".
        CREATE TABLE histories (
            user_id bytea PRIMARY KEY
        );

        CREATE TABLE credentials (
            user_id       bytea NOT NULL,
            service       text NOT NULL,
            access_token  bytea NOT NULL,
            refresh_token bytea NOT NULL,
            created_at    timestamptz NOT NULL,
            expires_in    bigint NOT NULL,       -- microseconds
            scope         text NOT NULL,
            PRIMARY KEY (user_id, service)
        );

        CREATE TABLE feed_requests (
            user_id bytea NOT NULL,
            at      timestamptz NOT NULL
        );
        CREATE INDEX feed_requests_user_at ON feed_requests (user_id, at);

        CREATE TABLE leases (
            key        bytea PRIMARY KEY,
            owner      text NOT NULL,
            expires_at timestamptz NOT NULL
        );

        CREATE TABLE cursors (
            name  text PRIMARY KEY,
            value text NOT NULL
        );

        CREATE TABLE titles (
            media_type    text COLLATE "C" NOT NULL,
            tmdb_id       bigint NOT NULL,
            doc           text NOT NULL,         -- Title as reclio's JSON
            content_hash  text NOT NULL,
            synced_hash   text,
            embedded_hash text,
            PRIMARY KEY (media_type, tmdb_id)
        );

        CREATE TABLE embeddings (
            media_type text COLLATE "C" NOT NULL,
            tmdb_id    bigint NOT NULL,
            text_hash  text NOT NULL,
            vector     bytea NOT NULL,           -- little-endian float32
            PRIMARY KEY (media_type, tmdb_id)
        )
        """,
    ),
    Migration(
        "per-user addon tokens (only a hash of each token is kept)",
        """
        CREATE TABLE addon_tokens (
            user_id    bytea PRIMARY KEY,
            token_hash text COLLATE "C" NOT NULL UNIQUE
        )
        """,
    ),
)
"""Migrations, oldest first."""

SCHEMA_VERSION: Final = len(MIGRATIONS)
