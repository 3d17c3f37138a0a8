"""What is particular to SqliteStateStore: migrations, WAL, sharing a file, failures."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from reclio._serde import make_state_converter
from reclio.adapters.memory import InMemoryStateStore
from reclio.adapters.sqlite import SqliteStateStore
from reclio.adapters.sqlite._schema import MIGRATIONS, SCHEMA_VERSION
from reclio.domain import CatalogRecord, ItemRef, Title, UserState
from reclio.errors import ConfigurationError, DecodeError, SourceUnavailable
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
        await store.put_embeddings([(ItemRef.movie(1), "h", [1.0, 2.0])])
        await store.record_feed_request("old-user", T0)
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
    await store.record_feed_request("ann", T0)
    await store.record_feed_request("ann", T0 + timedelta(days=8))
    assert await store.feed_requests_since("ann", T0 - timedelta(days=1)) == 1
    await store.aclose()


@pytest.mark.anyio
async def test_vectors_stored_as_float32_blobs(store: SqliteStateStore, tmp_path: Path) -> None:
    """Embeddings are little-endian float32 BLOBs, four bytes a dimension."""
    await store.put_embeddings([(ItemRef.tv(1), "h", [0.5, -1.0, 2.0])])
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
    record = CatalogRecord(title, title.content_hash(), "s", title.text_hash())
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
    await store.record_feed_request("u", now)
    await store.record_feed_request("u", now - timedelta(days=2))  # late and too old: dropped
    await store.record_feed_request("u", now - timedelta(hours=12))  # late but kept
    assert await store.feed_requests_since("u", now - timedelta(days=30)) == 2
