"""``reclio state copy SQLITE_PATH POSTGRES_URL``: move an embedded default's state to PostgreSQL.

Everything durable arrives: users, histories, credentials, addon tokens, the feed log,
cursors, catalog records and embeddings (leases do not: they are minutes long and expire by
themselves). Addon tokens travel as the SHA-256 digests the state holds (no token is ever
stored, so none is needed): every user's addon URL keeps working, and a rotated one stays
dead. Values pass through reclio's domain types on the way, so a row that does not decode
stops the copy before it is written, with the row named. The target must be empty, so a
copy run twice never counts a feed request twice.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import attrs

from reclio.adapters._rows import float32_vector
from reclio.adapters.postgres._store import PostgresStateStore
from reclio.adapters.sqlite import SqliteStateStore
from reclio.domain import ItemRef, MediaType, OAuthToken
from reclio.errors import ConfigurationError, DecodeError, ReclioError, SourceUnavailable
from reclio.settings import PostgresConfig

__all__ = ["CopyReport", "copy_sqlite_state", "run_state_copy"]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_BATCH: Final = 1000
_DIGEST: Final = re.compile(r"[0-9a-f]{64}")
"""What `reclio.addons.hash_addon_token` stores: a SHA-256 as lower-case hex."""


def _instant(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


@attrs.frozen
class CopyReport:
    """What a copy moved, counted.

    Attributes:
        users: User states.
        histories: Saved histories (an empty one counts).
        credentials: OAuth tokens.
        addon_tokens: Users' addon token digests (one per user).
        feed_requests: Recorded ``/feeds`` requests.
        cursors: Named cursors.
        titles: Catalog records.
        embeddings: Title vectors.
    """

    users: int = 0
    histories: int = 0
    credentials: int = 0
    addon_tokens: int = 0
    feed_requests: int = 0
    cursors: int = 0
    titles: int = 0
    embeddings: int = 0

    def summary(self) -> str:
        """One line for people."""
        return ", ".join(
            f"{value} {name.replace('_', ' ')}" for name, value in attrs.asdict(self).items()
        )


def _rows(conn: sqlite3.Connection, statement: str) -> Iterator[list[tuple[Any, ...]]]:
    cursor = conn.execute(statement)
    while batch := cursor.fetchmany(_BATCH):
        yield batch


async def copy_sqlite_state(source: str | Path, target: PostgresStateStore) -> CopyReport:
    """Copy every durable row of the SQLite state file ``source`` into ``target``.

    Users' addon URLs keep working: each addon token's digest arrives as stored.

    The file is first opened as a `SqliteStateStore` (which upgrades an older file in
    place, as every reclio command does), then read through a read-only connection.

    Raises:
        ConfigurationError: ``source`` is not a file, or ``target`` already holds users
            or titles.
        SourceError: either store failed (what was copied so far stays; empty the target
            schema and run again).
    """
    path = Path(source)
    if not await asyncio.to_thread(path.is_file):
        msg = f"{path} is not a SQLite state file"
        raise ConfigurationError(msg)
    titles = [batch async for batch in target.iter_titles(batch_size=1)]
    if titles or await target.user_ids():
        msg = f"{target!r} already holds state: copy into an empty schema (PostgresConfig.schema)"
        raise ConfigurationError(msg)
    sqlite = SqliteStateStore(path)
    try:
        return await _copy(sqlite, target, path)
    except sqlite3.Error as exc:
        msg = f"reading {path} failed: {type(exc).__name__}: {exc}"
        raise SourceUnavailable(msg, service="sqlite", operation="copy") from exc
    finally:
        await sqlite.aclose()


async def _copy(sqlite: SqliteStateStore, target: PostgresStateStore, path: Path) -> CopyReport:
    counts = dict.fromkeys(attrs.fields_dict(CopyReport), 0)
    uri = await asyncio.to_thread(lambda: path.resolve().as_uri())
    raw = sqlite3.connect(f"{uri}?mode=ro", uri=True)
    try:
        # Checked before anything is written: a bad token row never leaves a half copy.
        for batch in _rows(raw, "SELECT user_id, token_hash FROM addon_tokens"):
            for user_id, token_hash in batch:
                _checked_digest(user_id, token_hash)
        async for records in sqlite.iter_titles(batch_size=_BATCH):
            await target.put_titles(records)
            counts["titles"] += len(records)
        for batch in _rows(raw, "SELECT media_type, tmdb_id, text_hash, vector FROM embeddings"):
            await target.put_embeddings(
                [
                    (ItemRef(MediaType(media), tmdb_id), text_hash, float32_vector(blob))
                    for media, tmdb_id, text_hash, blob in batch
                ]
            )
            counts["embeddings"] += len(batch)
        saved = {row[0] for batch in _rows(raw, "SELECT user_id FROM histories") for row in batch}
        for user_id in await sqlite.user_ids():
            state = await sqlite.get_user(user_id)
            assert state is not None  # noqa: S101 - listed by user_ids a moment ago
            history = await sqlite.get_history(user_id) if user_id in saved else None
            await target.save_user(state, history=history)
            counts["users"] += 1
            counts["histories"] += history is not None
        await _copy_rows(raw, target, counts)
    finally:
        raw.close()
    return CopyReport(**counts)


async def _copy_rows(
    raw: sqlite3.Connection, target: PostgresStateStore, counts: dict[str, int]
) -> None:
    """The tables no role lists: credentials, addon tokens, the feed log and cursors."""
    for batch in _rows(
        raw,
        "SELECT user_id, service, access_token, refresh_token, created_at, expires_in, scope"
        " FROM credentials",
    ):
        for user_id, service, access, refresh, created_at, expires_in, scope in batch:
            token = OAuthToken(
                access, refresh, _instant(created_at), timedelta(microseconds=expires_in), scope
            )
            await target.put_token(user_id, service, token)
            counts["credentials"] += 1
    for batch in _rows(raw, "SELECT user_id, token_hash FROM addon_tokens ORDER BY user_id"):
        for user_id, token_hash in batch:
            await target.set_addon_token(user_id, _checked_digest(user_id, token_hash))
            counts["addon_tokens"] += 1
    for batch in _rows(raw, "SELECT user_id, at FROM feed_requests ORDER BY at"):
        await target.record_feed_requests([(user, _instant(at)) for user, at in batch])
        counts["feed_requests"] += len(batch)
    for batch in _rows(raw, "SELECT name, value FROM cursors"):
        for name, value in batch:
            await target.set_cursor(name, value)
            counts["cursors"] += 1
    # Leases are not copied: each lasts minutes and is renewed by a live holder, so a
    # copied one would only block the target's workers until it expired.


def _checked_digest(user_id: str, token_hash: object) -> str:
    """A stored addon token hash, checked: only a digest may reach the target, never a token."""
    if not isinstance(token_hash, str) or _DIGEST.fullmatch(token_hash) is None:
        msg = (
            f"the stored addon token of user {user_id[:40]!r} is not a SHA-256 digest: rotate"
            " it (reclio users token USER_ID --rotate), empty the target schema, copy again"
        )
        raise DecodeError(msg, service="sqlite", operation="copy")
    return token_hash


def run_state_copy(sqlite_path: str | Path, postgres_url: str) -> tuple[str, int]:
    """``reclio state copy SQLITE_PATH POSTGRES_URL``: the copy, as (text to print, exit code).

    The URL's password is never printed. Exit code 0 when everything arrived, 1 on failure
    (the message says what to fix).
    """

    async def main() -> CopyReport:
        target = PostgresStateStore(PostgresConfig(postgres_url))
        try:
            return await copy_sqlite_state(sqlite_path, target)
        finally:
            await target.aclose()

    try:
        report = asyncio.run(main())
    except ReclioError as exc:
        return f"state copy failed: {exc}", 1
    return f"copied {report.summary()} from {sqlite_path}", 0
