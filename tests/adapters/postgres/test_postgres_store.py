"""PostgresStateStore beyond the contract: migrations, errors, secrets, races, streaming."""

from __future__ import annotations

import asyncio
import socket
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from reclio.domain import ItemRef, UserHistory, UserState
from reclio.errors import ConfigurationError, SourceError, SourceUnavailable
from reclio.testing.postgres import TemporaryCluster

psycopg = pytest.importorskip("psycopg")

from reclio.adapters.postgres import PostgresConfig, PostgresStateStore  # noqa: E402
from reclio.adapters.postgres._schema import SCHEMA_VERSION  # noqa: E402

pytestmark = pytest.mark.anyio


def _schema() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_fresh_schema_is_migrated_once(postgres_cluster: TemporaryCluster) -> None:
    """The first store creates the schema at the latest version; a second finds nothing to do."""
    config = PostgresConfig(postgres_cluster.url(), schema=_schema())
    first = PostgresStateStore(config)
    await first.put_user(UserState("ann"))
    assert await first.schema_version() == SCHEMA_VERSION
    await first.aclose()
    second = PostgresStateStore(config)
    assert await second.get_user("ann") == UserState("ann")
    assert await second.schema_version() == SCHEMA_VERSION
    await second.aclose()
    async with await psycopg.AsyncConnection.connect(postgres_cluster.url()) as conn:
        cur = await conn.execute(f"SELECT version FROM {config.schema}.schema_version")  # noqa: S608
        assert [row[0] for row in await cur.fetchall()] == list(range(1, SCHEMA_VERSION + 1))


async def test_stores_opening_together_migrate_without_racing(
    postgres_cluster: TemporaryCluster,
) -> None:
    """Eight stores opening one new schema at once: the advisory lock lets one migrate."""
    config = PostgresConfig(postgres_cluster.url(), schema=_schema())
    stores = [PostgresStateStore(config) for _ in range(8)]
    await asyncio.gather(*(store.open() for store in stores))
    assert {await store.schema_version() for store in stores} == {SCHEMA_VERSION}
    for store in stores:
        await store.aclose()


async def test_a_newer_schema_is_refused(postgres_cluster: TemporaryCluster) -> None:
    """A schema written by a newer reclio stops the store with a message naming the fix."""
    config = PostgresConfig(postgres_cluster.url(), schema=_schema())
    store = PostgresStateStore(config)
    await store.open()
    await store.aclose()
    async with await psycopg.AsyncConnection.connect(postgres_cluster.url()) as conn:
        await conn.execute(
            f"INSERT INTO {config.schema}.schema_version (version, description)"  # noqa: S608
            " VALUES (%s, 'from the future')",
            (SCHEMA_VERSION + 1,),
        )
        await conn.commit()
    newer = PostgresStateStore(config)
    with pytest.raises(ConfigurationError, match="Upgrade reclio"):
        await newer.open()
    await newer.aclose()


async def test_an_unreachable_server_is_source_unavailable_without_the_password() -> None:
    """No server at the URL: SourceUnavailable whose message and chain hold no password."""
    url = f"postgresql://reclio:hunter2-SECRET@127.0.0.1:{_closed_port()}/reclio"
    store = PostgresStateStore(PostgresConfig(url, connect_timeout=1.0))
    assert "SECRET" not in repr(store)
    assert "SECRET" not in repr(store.config)
    with pytest.raises(SourceUnavailable) as caught:
        await store.get_user("ann")
    seen: BaseException | None = caught.value
    while seen is not None:
        assert "SECRET" not in str(seen)
        assert "SECRET" not in repr(seen)
        seen = seen.__cause__ or seen.__context__
    assert caught.value.service == "postgres"
    assert "127.0.0.1" in str(caught.value)
    await store.aclose()


async def test_a_password_in_the_url_stays_out_of_errors(
    postgres_cluster: TemporaryCluster,
) -> None:
    """With a password in the URL, failures of a working store never show it."""
    url = postgres_cluster.url(password="pw-SECRET")  # noqa: S106 - trust auth ignores it
    store = PostgresStateStore(PostgresConfig(url, schema=_schema()))
    await store.put_user(UserState("ann"))
    with pytest.raises(SourceError) as caught:
        await store.set_cursor("nul\x00name", "x")
    assert "SECRET" not in str(caught.value)
    assert "SECRET" not in repr(store)
    await store.aclose()


def test_a_malformed_url_is_a_configuration_error() -> None:
    """A URL libpq cannot parse is refused at construction, without quoting it."""
    with pytest.raises(ConfigurationError) as caught:
        PostgresStateStore(PostgresConfig("postgresql://a:SECRET@host:notaport/db?x=="))
    assert "SECRET" not in str(caught.value)
    with pytest.raises(ConfigurationError, match="postgresql://"):
        PostgresConfig("mysql://db")


async def test_text_postgres_cannot_hold_is_a_source_error(
    postgres_cluster: TemporaryCluster,
) -> None:
    """NUL in a cursor value or a lone surrogate in a lease key: SourceError, nothing stored."""
    store = PostgresStateStore(PostgresConfig(postgres_cluster.url(), schema=_schema()))
    with pytest.raises(SourceError, match="NUL"):
        await store.set_cursor("content", "a\x00b")
    with pytest.raises(SourceError, match="surrogates"):
        await store.acquire_lease("user:\ud800", "w1", timedelta(minutes=1))
    assert await store.get_cursor("content") is None
    # NUL in a user id is fine: ids are stored as their UTF-8 bytes.
    await store.put_user(UserState("a\x00b"))
    assert await store.user_ids() == ["a\x00b"]
    await store.aclose()


async def test_a_closed_store_is_source_unavailable(postgres_cluster: TemporaryCluster) -> None:
    """Every call after aclose raises SourceUnavailable; aclose is idempotent."""
    store = PostgresStateStore(PostgresConfig(postgres_cluster.url(), schema=_schema()))
    await store.ping()
    await store.aclose()
    await store.aclose()
    with pytest.raises(SourceUnavailable, match="closed"):
        await store.get_user("ann")


async def test_two_stores_racing_for_a_lease_never_both_win(
    postgres_cluster: TemporaryCluster,
) -> None:
    """Two stores (two processes' worth of pools) race 50 times per key: one winner each."""
    config = PostgresConfig(postgres_cluster.url(), schema=_schema(), max_connections=8)
    left, right = PostgresStateStore(config), PostgresStateStore(config)
    await left.open()
    for n in range(50):
        key = f"user:{n}"
        wins = await asyncio.gather(
            *(
                store.acquire_lease(key, f"{side}-{i}", timedelta(minutes=1))
                for i in range(4)
                for side, store in (("l", left), ("r", right))
            )
        )
        assert sum(wins) == 1, (key, wins)
    await left.aclose()
    await right.aclose()


async def test_leases_use_the_database_clock_by_default(
    postgres_cluster: TemporaryCluster,
) -> None:
    """Without an injected clock a lease expires by the server's time (same for all machines)."""
    store = PostgresStateStore(PostgresConfig(postgres_cluster.url(), schema=_schema()))
    assert await store.acquire_lease("k", "w1", timedelta(milliseconds=200))
    assert not await store.acquire_lease("k", "w2", timedelta(seconds=5))
    await asyncio.sleep(0.3)
    assert await store.acquire_lease("k", "w2", timedelta(seconds=5))
    await store.aclose()


async def test_iter_interactions_streams_through_a_server_side_cursor(
    postgres_cluster: TemporaryCluster,
) -> None:
    """While a batch is out, the iterating connection sits on a FETCH of a named cursor."""
    config = PostgresConfig(postgres_cluster.url(), schema=_schema())
    store = PostgresStateStore(config)
    views = {ItemRef.movie(n): datetime(2026, 1, 1, tzinfo=UTC) for n in range(1, 30)}
    await store.save_user(UserState("ann"), history=UserHistory(views=views))
    batches = 0
    async with await psycopg.AsyncConnection.connect(postgres_cluster.url()) as probe:
        async for batch in store.iter_interactions(batch_size=10):
            batches += 1
            assert len(batch) <= 10
            cur = await probe.execute(
                "SELECT query FROM pg_stat_activity WHERE application_name = 'reclio'"
                " AND state = 'idle in transaction'"
            )
            queries = [row[0] for row in await cur.fetchall()]
            assert any("FETCH" in q and "reclio_iter_interactions" in q for q in queries), queries
    assert batches == 3
    await store.aclose()
