"""`reclio state copy`: every user, history, credential, addon token, feed request, cursor,
title and vector of a SQLite state file arrives in PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from reclio.adapters.sqlite import SqliteStateStore
from reclio.addons import add_user, addon_token_owner, hash_addon_token, rotate_addon_token
from reclio.domain import (
    CatalogRecord,
    Genre,
    ItemRef,
    OAuthToken,
    Rating,
    Title,
    UserHistory,
    UserState,
)
from reclio.errors import DecodeError
from reclio.testing.postgres import TemporaryCluster

pytest.importorskip("psycopg")

from reclio.adapters.postgres import (
    PostgresConfig,
    PostgresStateStore,
    copy_sqlite_state,
    run_state_copy,
)

pytestmark = pytest.mark.anyio

_AT = datetime(2026, 3, 1, 12, tzinfo=UTC)
_TOKEN = OAuthToken("access-SECRET", "refresh-SECRET", _AT, timedelta(days=90), "public")
_BASE = "https://feeds.example.org"


def _title(ref: ItemRef) -> Title:
    return Title(ref, f"Title {ref.tmdb_id}", overview="x", genres=(Genre(18, "Drama"),), year=2001)


async def _fill(path: Path) -> dict[str, UserHistory]:
    store = SqliteStateStore(path)
    refs = [ItemRef.movie(n) for n in range(1, 1201)] + [ItemRef.tv(n) for n in range(1, 40)]
    await store.put_titles([CatalogRecord.of(_title(ref)) for ref in refs])
    vectors = [(ref, f"h{ref.tmdb_id}", np.full(8, ref.tmdb_id, dtype=np.float32)) for ref in refs]
    await store.put_embeddings(vectors)
    histories: dict[str, UserHistory] = {}
    for n in range(25):
        user_id = f"user-{n:02d}" if n else "a\x00nul-ünïcode"
        history = UserHistory(
            views={refs[n + k]: _AT - timedelta(days=k) for k in range(n)},
            ratings={refs[n]: Rating(0.5, _AT)} if n % 2 else {},
            bookmarks={ItemRef.tv(n + 1): _AT} if n % 3 else {},
        )
        histories[user_id] = history
        state = UserState(user_id, movies_watched=n, next_sync_at=_AT + timedelta(hours=n))
        await store.save_user(state, history=history)
        if n % 4 == 0:
            await store.put_token(user_id, "trakt", _TOKEN)
        if n % 3 == 0:
            await store.set_addon_token(user_id, hash_addon_token(f"addon-token-of-{n:02d}"))
        await store.record_feed_requests(
            [(user_id, _AT + timedelta(minutes=m)) for m in range(n % 5)]
        )
    await store.put_user(UserState("no-history"))
    await store.set_cursor("content:last_run", _AT.isoformat())
    await store.set_cursor("content:refresh", "[]")
    await store.aclose()
    return histories


async def test_everything_arrives(postgres_cluster: TemporaryCluster, tmp_path: Path) -> None:
    """Users, histories, tokens, feed log, cursors, titles and vectors all read back equal."""
    path = tmp_path / "state.sqlite3"
    histories = await _fill(path)
    target = PostgresStateStore(
        PostgresConfig(postgres_cluster.url(), schema=f"t_{uuid.uuid4().hex[:12]}")
    )
    report = await copy_sqlite_state(path, target)
    assert (report.users, report.histories, report.credentials, report.cursors) == (26, 25, 7, 2)
    assert (report.titles, report.embeddings, report.feed_requests) == (1239, 1239, 50)
    assert report.addon_tokens == 9

    source = SqliteStateStore(path)
    assert await target.user_ids() == await source.user_ids()
    for user_id in await source.user_ids():
        assert await target.get_user(user_id) == await source.get_user(user_id)
        assert await target.get_history(user_id) == await source.get_history(user_id)
        assert await target.get_token(user_id, "trakt") == await source.get_token(user_id, "trakt")
        since = _AT - timedelta(days=1)
        assert await target.feed_requests_since(user_id, since) == await source.feed_requests_since(
            user_id, since
        )
    for n in range(25):
        digest = hash_addon_token(f"addon-token-of-{n:02d}")
        owner = await source.addon_token_owner(digest)
        assert (owner is not None) == (n % 3 == 0)
        assert await target.addon_token_owner(digest) == owner
    assert set(histories) <= set(await target.user_ids())
    for name in ("content:last_run", "content:refresh"):
        assert await target.get_cursor(name) == await source.get_cursor(name)
    assert [r async for batch in target.iter_titles() for r in batch] == [
        r async for batch in source.iter_titles() for r in batch
    ]
    got = [(ref, v.tolist()) async for batch in target.iter_embeddings() for ref, v in batch]
    want = [(ref, v.tolist()) async for batch in source.iter_embeddings() for ref, v in batch]
    assert got == want
    assert [b async for b in target.iter_interactions()] == [
        b async for b in source.iter_interactions()
    ]
    await source.aclose()

    # A second copy into the same schema is refused: it would count feed requests twice.
    with pytest.raises(Exception, match="already holds state"):
        await copy_sqlite_state(path, target)
    await target.aclose()


async def test_run_state_copy_reports_and_hides_the_password(
    postgres_cluster: TemporaryCluster, tmp_path: Path
) -> None:
    """The CLI function prints what it copied (exit 0), or one line naming the fix (exit 1)."""
    path = tmp_path / "state.sqlite3"
    await _fill(path)
    url = postgres_cluster.create_database(f"c_{uuid.uuid4().hex[:10]}").replace(
        "reclio@", "reclio:pw-SECRET@"
    )
    text, code = await _in_thread(run_state_copy, path, url)
    assert code == 0, text
    assert "26 users" in text
    assert "9 addon tokens" in text
    assert "SECRET" not in text
    text, code = await _in_thread(run_state_copy, path, url)
    assert code == 1
    assert "already holds state" in text
    assert "SECRET" not in text
    text, code = await _in_thread(run_state_copy, tmp_path / "missing.sqlite3", url)
    assert (code, "is not a SQLite state file" in text) == (1, True)


async def test_addon_urls_survive_the_copy(
    postgres_cluster: TemporaryCluster, tmp_path: Path
) -> None:
    """Each user's addon token resolves to them after the copy; old and wrong tokens do not.

    Only digests move: no token appears in any PostgreSQL table (nor could one: the SQLite
    file never held one).
    """
    path = tmp_path / "state.sqlite3"
    source = SqliteStateStore(path)
    # What `reclio users add` and `reclio users token --rotate` do.
    first = {user: await add_user(source, user, base_url=_BASE) for user in ("ann", "bo")}
    current = {**first, "bo": await rotate_addon_token(source, "bo", base_url=_BASE)}
    tokens = {user: _token_of(url) for user, url in current.items()}
    retired = _token_of(first["bo"])
    assert await addon_token_owner(source, retired) is None
    await source.aclose()

    url = postgres_cluster.create_database(f"a_{uuid.uuid4().hex[:10]}")
    target = PostgresStateStore(PostgresConfig(url))
    try:
        report = await copy_sqlite_state(path, target)
        for user, token in tokens.items():
            assert await addon_token_owner(target, token) == user
        assert await addon_token_owner(target, retired) is None
        assert await addon_token_owner(target, "x" * 43) is None
        assert (report.users, report.addon_tokens) == (2, 2)
    finally:
        await target.aclose()

    dump = await _dump(url, "reclio")
    for token in [*tokens.values(), retired]:
        assert token not in dump
        assert token.encode().hex() not in dump  # nor as the bytes of a bytea column
    for token in tokens.values():
        assert hash_addon_token(token) in dump  # the dump does read the token table
    assert hash_addon_token(retired) not in dump


async def test_a_stored_token_that_is_no_digest_stops_the_copy(
    postgres_cluster: TemporaryCluster, tmp_path: Path
) -> None:
    """A token column holding anything but a SHA-256 digest never reaches PostgreSQL."""
    path = tmp_path / "state.sqlite3"
    source = SqliteStateStore(path)
    await add_user(source, "ann", base_url=_BASE)
    plaintext = "plain-token-SECRET-0123456789abcdef"
    await source.set_addon_token("bo", plaintext)  # as if a broken tool had stored a token
    await source.aclose()
    url = postgres_cluster.create_database(f"d_{uuid.uuid4().hex[:10]}")
    target = PostgresStateStore(PostgresConfig(url))
    try:
        with pytest.raises(DecodeError, match=r"user 'bo' is not a SHA-256 digest") as caught:
            await copy_sqlite_state(path, target)
        assert "SECRET" not in str(caught.value)
        assert await target.addon_token_owner(plaintext) is None
        # Refused before the first write: the target stays empty, so a rerun is accepted.
        assert await target.user_ids() == []
        assert [batch async for batch in target.iter_titles(batch_size=1)] == []
    finally:
        await target.aclose()
    assert plaintext not in await _dump(url, "reclio")


def _token_of(addon_url: str) -> str:
    """The token in ``<base>/<token>/manifest``."""
    return addon_url.removeprefix(_BASE + "/").removesuffix("/manifest")


async def _dump(url: str, schema: str) -> str:
    """Every row of every table in ``schema``, as PostgreSQL's text of the rows."""
    import psycopg  # noqa: PLC0415 - skipped above without it
    from psycopg import sql  # noqa: PLC0415

    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        )
        tables = [row[0] for row in await cur.fetchall()]
        assert "addon_tokens" in tables
        texts: list[str] = []
        for table in tables:
            query = sql.SQL("SELECT t::text FROM {}.{} AS t").format(
                sql.Identifier(schema), sql.Identifier(table)
            )
            texts.extend(row[0] for row in await (await conn.execute(query)).fetchall())
    return "\n".join(texts)


async def _in_thread(function: object, *args: object) -> tuple[str, int]:
    import anyio.to_thread  # noqa: PLC0415

    return await anyio.to_thread.run_sync(function, *args)  # type: ignore[arg-type]
