"""What is particular to SqliteStateStore: migrations, WAL, sharing a file, failures."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from reclio._serde import make_state_converter
from reclio.adapters.memory import InMemoryStateStore
from reclio.adapters.sqlite import SqliteStateStore
from reclio.adapters.sqlite._schema import MIGRATIONS, SCHEMA_VERSION
from reclio.domain import (
    CatalogRecord,
    ItemRef,
    OAuthToken,
    Title,
    UserHistory,
    UserState,
    valid_text,
)
from reclio.errors import ConfigurationError, DecodeError, SourceError, SourceUnavailable
from reclio.testing import strategies as rst
from reclio.testing.contracts.state import ManualClock

T0 = datetime(2026, 5, 1, tzinfo=UTC)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStateStore]:
    store = SqliteStateStore(tmp_path / "state.db")
    yield store
    await store.aclose()


def _apply_first_migration(path: Path) -> None:
    conn = sqlite3.connect(path)
    for statement in MIGRATIONS[0][1].split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    doc = make_state_converter().unstructure(UserState("old-user", movies_watched=4))
    conn.execute(
        "INSERT INTO users (user_id, doc, next_sync_at) VALUES (?, ?, NULL)",
        ("old-user", json.dumps(doc)),
    )
    conn.commit()
    conn.close()


@pytest.mark.anyio
async def test_fresh_database_has_latest_schema(store: SqliteStateStore) -> None:
    """A new database is migrated to the latest schema version."""
    assert SCHEMA_VERSION == len(MIGRATIONS) >= 2
    assert store.schema_version == SCHEMA_VERSION


@pytest.mark.anyio
async def test_migrates_from_older_version(tmp_path: Path) -> None:
    """A database at version 1 is migrated on open, keeping its users."""
    path = tmp_path / "old.db"
    _apply_first_migration(path)
    store = SqliteStateStore(path)
    try:
        assert store.schema_version == SCHEMA_VERSION
        user = await store.get_user("old-user")
        assert user is not None
        assert user.movies_watched == 4
        await store.put_embeddings([(ItemRef.movie(1), "h", np.array([1.0, 2.0], np.float32))])
        await store.record_feed_requests([("old-user", T0)])
        assert await store.feed_requests_since("old-user", T0) == 1
    finally:
        await store.aclose()


@pytest.mark.anyio
async def test_reopening_does_not_migrate_again(tmp_path: Path) -> None:
    """Opening a current database twice keeps its data (migrations are not re-run)."""
    path = tmp_path / "state.db"
    first = SqliteStateStore(path)
    await first.put_user(UserState("ann"))
    await first.aclose()
    second = SqliteStateStore(path)
    try:
        assert await second.user_ids() == ["ann"]
    finally:
        await second.aclose()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    """A database written by a newer reclio raises ConfigurationError instead of guessing."""
    path = tmp_path / "future.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(ConfigurationError, match="understands up to"):
        SqliteStateStore(path)


@pytest.mark.anyio
async def test_file_database_uses_wal(store: SqliteStateStore, tmp_path: Path) -> None:
    """A file database is in WAL mode, seen from another connection too."""
    await store.put_user(UserState("ann"))
    conn = sqlite3.connect(tmp_path / "state.db")
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


@pytest.mark.anyio
async def test_two_stores_share_leases(tmp_path: Path) -> None:
    """Two stores on one file (two workers) respect each other's leases and writes."""
    clock = ManualClock(T0)
    path = tmp_path / "shared.db"
    one = SqliteStateStore(path, clock=clock)
    two = SqliteStateStore(path, clock=clock)
    try:
        assert await one.acquire_lease("user:ann", "w1", timedelta(minutes=5))
        assert not await two.acquire_lease("user:ann", "w2", timedelta(minutes=5))
        await two.release_lease("user:ann", "w2")  # not the owner: no effect
        assert not await two.acquire_lease("user:ann", "w2", timedelta(minutes=5))
        clock.advance(timedelta(minutes=5))
        assert await two.acquire_lease("user:ann", "w2", timedelta(minutes=5))
        assert not await one.acquire_lease("user:ann", "w1", timedelta(minutes=5))
        await one.put_user(UserState("ann", movies_watched=9))
        seen = await two.get_user("ann")
        assert seen is not None
        assert seen.movies_watched == 9
    finally:
        await one.aclose()
        await two.aclose()


@pytest.mark.anyio
async def test_locked_database_is_source_unavailable(tmp_path: Path) -> None:
    """A write blocked by another process's lock surfaces as SourceUnavailable."""
    path = tmp_path / "locked.db"
    store = SqliteStateStore(path, timeout=0.05)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(SourceUnavailable) as caught:
            await store.put_user(UserState("ann"))
        assert caught.value.service == "sqlite"
        assert caught.value.operation == "put_user"
        assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
        with pytest.raises(SourceUnavailable):
            await store.acquire_lease("user:ann", "w1", timedelta(minutes=1))
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    await store.put_user(UserState("ann"))
    assert await store.user_ids() == ["ann"]
    await store.aclose()


def test_corrupted_file_is_source_unavailable(tmp_path: Path) -> None:
    """A file that is not a database fails to open with SourceUnavailable."""
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not a database, just bytes " * 200)
    with pytest.raises(SourceUnavailable) as caught:
        SqliteStateStore(path)
    assert caught.value.operation == "open"
    assert isinstance(caught.value.__cause__, sqlite3.DatabaseError)


def test_unopenable_path_is_source_unavailable(tmp_path: Path) -> None:
    """A path in a missing directory fails with SourceUnavailable, not sqlite3's error."""
    with pytest.raises(SourceUnavailable):
        SqliteStateStore(tmp_path / "missing" / "dir" / "state.db")


@pytest.mark.anyio
async def test_closed_store_is_source_unavailable() -> None:
    """Using a store after aclose raises SourceUnavailable."""
    store = SqliteStateStore()
    await store.aclose()
    with pytest.raises(SourceUnavailable):
        await store.get_user("ann")


@pytest.mark.anyio
async def test_undecodable_document_is_decode_error(
    store: SqliteStateStore, tmp_path: Path
) -> None:
    """A stored user document that no longer decodes raises DecodeError naming the field."""
    conn = sqlite3.connect(tmp_path / "state.db")
    conn.execute(
        "INSERT INTO users (user_id, doc) VALUES ('bad', ?)",
        ('{"user_id": "bad", "movies_watched": "many"}',),
    )
    conn.commit()
    conn.close()
    with pytest.raises(DecodeError) as caught:
        await store.get_user("bad")
    assert caught.value.service == "sqlite"
    assert any("movies_watched" in line for line in caught.value.errors)


@pytest.mark.anyio
async def test_naive_datetime_is_refused(store: SqliteStateStore) -> None:
    """A state holding a naive datetime is a bug in the caller: ValueError, nothing written."""
    naive = datetime(2026, 1, 1)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="timezone-aware"):
        await store.put_user(UserState("ann", last_sync_at=naive))
    assert await store.get_user("ann") is None


@pytest.mark.anyio
async def test_ping(store: SqliteStateStore) -> None:
    """ping succeeds on an open store and fails once it is closed."""
    await store.ping()
    await store.aclose()
    with pytest.raises(SourceUnavailable):
        await store.ping()


@pytest.mark.anyio
async def test_feed_log_retention() -> None:
    """Requests older than the retention are forgotten when a new one is recorded."""
    store = SqliteStateStore(feed_log_retention=timedelta(days=7))
    await store.record_feed_requests([("ann", T0)])
    await store.record_feed_requests([("ann", T0 + timedelta(days=8))])
    assert await store.feed_requests_since("ann", T0 - timedelta(days=1)) == 1
    await store.aclose()


@pytest.mark.anyio
async def test_vectors_stored_as_float32_blobs(store: SqliteStateStore, tmp_path: Path) -> None:
    """Embeddings are little-endian float32 BLOBs, four bytes a dimension."""
    await store.put_embeddings([(ItemRef.tv(1), "h", np.array([0.5, -1.0, 2.0], np.float32))])
    conn = sqlite3.connect(tmp_path / "state.db")
    (blob,) = conn.execute("SELECT vector FROM embeddings").fetchone()
    conn.close()
    assert blob == b"\x00\x00\x00?\x00\x00\x80\xbf\x00\x00\x00@"


@pytest.mark.anyio
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(state=rst.user_states())
async def test_user_state_round_trip_property(store: SqliteStateStore, state: UserState) -> None:
    """Any UserState survives the store unchanged, and so does its JSON document."""
    await store.put_user(state)
    assert await store.get_user(state.user_id) == state
    converter = make_state_converter()
    assert converter.structure(converter.unstructure(state), UserState) == state


@pytest.mark.anyio
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=rst.titles())
async def test_title_round_trip_property(store: SqliteStateStore, title: Title) -> None:
    """Any Title survives the store unchanged, with its hashes."""
    record = CatalogRecord(title, title.content_hash(), "s", title.text_hash("model"))
    await store.put_titles([record])
    assert list(await store.get_titles([title.ref])) == [record]


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["sqlite", "memory"])
async def test_feed_log_retention_counts_from_the_newest_request(kind: str) -> None:
    """Both stores forget requests older than the retention before the user's newest one."""
    now = datetime(2026, 11, 1, tzinfo=UTC)
    store = (
        SqliteStateStore(feed_log_retention=timedelta(days=1))
        if kind == "sqlite"
        else InMemoryStateStore(feed_log_retention=timedelta(days=1))
    )
    await store.record_feed_requests([("u", now)])
    await store.record_feed_requests([("u", now - timedelta(days=2))])  # late and too old: dropped
    await store.record_feed_requests([("u", now - timedelta(hours=12))])  # late but kept
    assert await store.feed_requests_since("u", now - timedelta(days=30)) == 2


# -- the state roles ------------------------------------------------------------------------

LONE = "ann\ud800"
"""A str no UTF-8 codec can encode (e.g. a user id cut from a malformed URL)."""

TOKEN = OAuthToken(
    access_token="access-SECRET-1",  # noqa: S106 - made up: the tests look for it
    refresh_token="refresh-SECRET-2",  # noqa: S106
    created_at=T0,
    expires_in=timedelta(days=90),
)


def _sql(path: Path, *statements: str) -> None:
    conn = sqlite3.connect(path)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()


@pytest.mark.anyio
@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.get_user(LONE),
        lambda s: s.get_history(LONE),
        lambda s: s.delete_user(LONE),
        lambda s: s.record_feed_requests([(LONE, T0)]),
        lambda s: s.feed_requests_since(LONE, T0),
        lambda s: s.get_cursor(LONE),
        lambda s: s.acquire_lease(LONE, "w1", timedelta(minutes=1)),
    ],
)
async def test_lone_surrogate_is_a_source_error(store: SqliteStateStore, call) -> None:
    """Text SQLite cannot store is a SourceError (never a bare UnicodeEncodeError)."""
    with pytest.raises(SourceError, match="lone surrogates") as caught:
        await call(store)
    assert isinstance(caught.value.__cause__, UnicodeEncodeError)
    assert caught.value.service == "sqlite"
    assert await store.user_ids() == []


@pytest.mark.anyio
async def test_a_lone_surrogate_in_a_user_state_is_made_valid_before_the_store(
    store: SqliteStateStore,
) -> None:
    """The domain cleans text at the edge, so a state with a lone surrogate stores and reads."""
    await store.save_user(UserState(LONE), history=UserHistory())
    (stored,) = await store.user_ids()
    assert stored == valid_text(LONE) == "ann\ufffd"
    assert await store.get_user(stored) is not None


@pytest.mark.anyio
async def test_credential_errors_carry_no_secret(store: SqliteStateStore, tmp_path: Path) -> None:
    """A failed token write says what failed, and neither its text nor its cause holds a secret."""
    _sql(
        tmp_path / "state.db",
        "CREATE TRIGGER no_tokens BEFORE INSERT ON credentials"
        " BEGIN SELECT RAISE(ABORT, 'refused'); END",
    )
    with pytest.raises(SourceUnavailable) as caught:
        await store.put_token("ann", "trakt", TOKEN)
    assert caught.value.operation == "put_token"
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
    assert "SECRET" not in str(caught.value)
    assert "refused" not in str(caught.value)  # SQLite's own text is withheld too
    lone_token = attrs.evolve(TOKEN, access_token="SECRET\ud800")  # noqa: S106 - made up
    with pytest.raises(SourceError) as lone:
        await store.put_token("ann", "trakt", lone_token)
    assert "SECRET" not in str(lone.value)
    assert lone.value.__cause__ is None


@pytest.mark.anyio
async def test_tokens_live_apart_from_users(store: SqliteStateStore, tmp_path: Path) -> None:
    """A token is a row of its own table: no user document ever holds it."""
    await store.save_user(UserState("ann"), history=UserHistory())
    await store.put_token("ann", "trakt", TOKEN)
    conn = sqlite3.connect(tmp_path / "state.db")
    (doc,) = conn.execute("SELECT doc FROM users").fetchone()
    (service,) = conn.execute("SELECT service FROM credentials").fetchone()
    conn.close()
    assert "SECRET" not in doc
    assert service == "trakt"


@pytest.mark.anyio
async def test_save_user_failure_writes_neither(store: SqliteStateStore, tmp_path: Path) -> None:
    """When the history cannot be written, the state is not written either (one transaction)."""
    await store.save_user(UserState("ann", movies_watched=1), history=UserHistory())
    _sql(
        tmp_path / "state.db",
        "CREATE TRIGGER no_history BEFORE INSERT ON history"
        " BEGIN SELECT RAISE(ABORT, 'disk says no'); END",
    )
    history = UserHistory(views={ItemRef.movie(1): T0})
    with pytest.raises(SourceUnavailable, match="disk says no"):
        await store.save_user(UserState("ann", movies_watched=2), history=history)
    stored = await store.get_user("ann")
    assert stored is not None
    assert stored.movies_watched == 1
    assert await store.get_history("ann") == UserHistory()


@pytest.mark.anyio
async def test_save_user_writes_only_changed_history_rows(
    store: SqliteStateStore, tmp_path: Path
) -> None:
    """Re-saving a long history writes only what changed (the WAL stays small)."""
    views = {ItemRef.movie(n): T0 for n in range(1, 501)}
    await store.save_user(UserState("ann"), history=UserHistory(views=views))
    _sql(
        tmp_path / "state.db",
        "CREATE TABLE writes (n INTEGER)",
        "INSERT INTO writes VALUES (0)",
        *(
            f"CREATE TRIGGER count_{event} AFTER {event} ON history"  # noqa: S608 - constants
            " BEGIN UPDATE writes SET n = n + 1; END"
            for event in ("INSERT", "UPDATE", "DELETE")
        ),
    )
    later = {**views, ItemRef.movie(1): T0 + timedelta(days=1), ItemRef.tv(9): T0}
    del later[ItemRef.movie(2)]
    await store.save_user(UserState("ann"), history=UserHistory(views=later))
    conn = sqlite3.connect(tmp_path / "state.db")
    (writes,) = conn.execute("SELECT n FROM writes").fetchone()
    conn.close()
    assert writes == 3  # one update, one insert, one delete
    assert await store.get_history("ann") == UserHistory(views=later)


@pytest.mark.anyio
async def test_undecodable_history_row_is_decode_error(
    store: SqliteStateStore, tmp_path: Path
) -> None:
    """A history row that no longer makes an ItemRef raises DecodeError."""
    await store.save_user(UserState("ann"), history=UserHistory())
    _sql(
        tmp_path / "state.db",
        "INSERT INTO history (user_id, kind, media_type, tmdb_id, at)"
        " VALUES ('ann', 0, 'book', 1, 0)",
    )
    with pytest.raises(DecodeError, match="history row"):
        await store.get_history("ann")
    with pytest.raises(DecodeError):
        _ = [batch async for batch in store.iter_interactions()]


@pytest.mark.anyio
async def test_vectors_are_stored_inline(store: SqliteStateStore, tmp_path: Path) -> None:
    """1,000 vectors of 256 float32 take about their size on disk (no overflow page each)."""
    rng = np.random.default_rng(3)
    rows = [
        (ItemRef.movie(n), "h", rng.standard_normal(256).astype(np.float32)) for n in range(1, 1001)
    ]
    await store.put_embeddings(rows)
    conn = sqlite3.connect(tmp_path / "state.db")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    (pages,) = conn.execute("SELECT count(*) FROM dbstat WHERE name = 'embeddings'").fetchone()
    conn.close()
    assert pages * 4096 < 1.5 * 1000 * 256 * 4


@pytest.mark.anyio
async def test_aclose_finishes_queued_writes(tmp_path: Path) -> None:
    """Writes started before aclose are all written; calls after it are SourceUnavailable."""
    path = tmp_path / "state.db"
    store = SqliteStateStore(path)
    writes = [asyncio.ensure_future(store.put_user(UserState(f"u{n}"))) for n in range(20)]
    await asyncio.sleep(0)
    await store.aclose()
    await asyncio.gather(*writes)
    with pytest.raises(SourceUnavailable, match="closed"):
        await store.put_user(UserState("late"))
    await store.aclose()  # twice is fine
    reopened = SqliteStateStore(path)
    assert len(await reopened.user_ids()) == 20
    await reopened.aclose()


@pytest.mark.anyio
async def test_an_unchanged_state_is_decoded_once(tmp_path: Path) -> None:
    """get_user hands back the same object while the stored text is unchanged, and the new
    state as soon as anything (this store or another on the file) writes it."""
    path = tmp_path / "shared.db"
    one, two = SqliteStateStore(path), SqliteStateStore(path)
    try:
        await one.put_user(UserState("ann", movies_watched=1))
        first = await one.get_user("ann")
        assert first is await one.get_user("ann")
        await two.put_user(UserState("ann", movies_watched=2))  # another worker's write
        second = await one.get_user("ann")
        assert second is not first
        assert second == UserState("ann", movies_watched=2)
        await one.put_user(UserState("ann", movies_watched=1))  # back to the first text
        assert await one.get_user("ann") == first
        assert await one.delete_user("ann")
        assert await one.get_user("ann") is None
    finally:
        await one.aclose()
        await two.aclose()


@pytest.mark.anyio
async def test_decoded_users_is_bounded(tmp_path: Path) -> None:
    """Past ``decoded_users``, states are decoded on every read (equal, never stale); 0
    keeps none."""
    for size in (0, 2):
        store = SqliteStateStore(tmp_path / f"bounded-{size}.db", decoded_users=size)
        try:
            for n in range(4):
                await store.put_user(UserState(f"u{n}", movies_watched=n))
            reads = [[await store.get_user(f"u{n}") for n in range(4)] for _ in range(2)]
            assert reads[0] == reads[1] == [UserState(f"u{n}", movies_watched=n) for n in range(4)]
            kept = [a is b for a, b in zip(*reads, strict=True)]
            assert sum(kept) == size
        finally:
            await store.aclose()
    with pytest.raises(ValueError, match="decoded_users"):
        SqliteStateStore(decoded_users=-1)


@pytest.mark.anyio
async def test_addon_tokens_are_stored_as_hashes_only(tmp_path: Path) -> None:
    """The addon token itself is nowhere in the file: only its SHA-256 hash is."""
    from reclio import addons  # noqa: PLC0415

    path = tmp_path / "state.db"
    store = SqliteStateStore(path)
    try:
        token = await addons.issue_addon_token(store, "ann")
        assert await addons.addon_token_owner(store, token) == "ann"
    finally:
        await store.aclose()
    raw = _all_bytes(tmp_path)
    assert token.encode() not in raw
    assert addons.hash_addon_token(token).encode() in raw


def _all_bytes(folder: Path) -> bytes:
    """Every file of a folder (the database, its WAL and shared memory), concatenated."""
    return b"".join(path.read_bytes() for path in sorted(folder.iterdir()))
