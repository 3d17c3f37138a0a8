"""SqliteStateStore beside other connections: snapshots, and no write on the event loop."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reclio.adapters.sqlite import SqliteStateStore
from reclio.domain import CatalogRecord, Genre, ItemRef, Title, UserHistory, UserState

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 5, 1, tzinfo=UTC)
REFS = [ItemRef.movie(n) for n in range(1, 301)]


def _generation(n: int) -> list[CatalogRecord]:
    """Every title of REFS, all stamped with generation ``n`` (in the title and the hash)."""
    return [
        CatalogRecord(
            Title(ref, f"gen {n}", overview="o" * 200, genres=(Genre(18, "Drama"),)), f"h{n}"
        )
        for ref in REFS
    ]


def _commit_generations(path: Path, stop: threading.Event, started: threading.Event) -> None:
    """Another process, in effect: a second store on the file, committing put_titles batches."""

    async def run() -> None:
        other = SqliteStateStore(path, timeout=30)
        try:
            n = 1
            while not stop.is_set() and n < 2000:
                await other.put_titles(_generation(n))
                started.set()
                n += 1
        finally:
            started.set()
            await other.aclose()

    asyncio.run(run())


async def test_get_titles_is_one_snapshot_while_another_connection_writes(tmp_path: Path) -> None:
    """One get_titles never returns records from two put_titles batches of another writer."""
    path = tmp_path / "state.db"
    store = SqliteStateStore(path, timeout=30)
    await store.put_titles(_generation(0))
    stop, started = threading.Event(), threading.Event()
    writer = threading.Thread(target=_commit_generations, args=(path, stop, started))
    writer.start()
    try:
        started.wait(timeout=30)
        mixed = []
        for _ in range(30):
            got = await store.get_titles(REFS)
            assert [r.title.ref for r in got] == REFS
            generations = {r.content_hash for r in got}
            if len(generations) > 1:
                mixed.append(sorted(generations))
        assert mixed == [], f"get_titles mixed batches {mixed[:3]}"
    finally:
        stop.set()
        writer.join(timeout=60)
        await store.aclose()


async def test_no_write_stalls_the_loop(tmp_path: Path) -> None:
    """While another connection holds the write lock for 1.5 s, the loop keeps ticking.

    The store's writes wait for the lock on its writer thread; its reads answer at once
    (WAL readers never wait); a 10 ms ticker on the loop never sees a gap above 100 ms.
    """
    path = tmp_path / "state.db"
    store = SqliteStateStore(path, timeout=10)
    await store.put_user(UserState("ann", movies_watched=1))
    blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    gaps: list[float] = []
    reads: list[float] = []
    ticking = True

    async def ticker() -> None:
        last = time.perf_counter()
        while ticking:
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    async def reader() -> None:
        while ticking:
            began = time.perf_counter()
            state = await store.get_user("ann")
            reads.append(time.perf_counter() - began)
            assert state is not None
            await asyncio.sleep(0.02)

    history = UserHistory(views=dict.fromkeys(REFS, T0))
    tasks = [asyncio.ensure_future(ticker()), asyncio.ensure_future(reader())]
    blocker.execute("BEGIN IMMEDIATE")
    release = threading.Timer(1.5, lambda: blocker.execute("COMMIT"))
    began = time.perf_counter()
    release.start()
    try:
        await asyncio.gather(
            store.record_feed_requests([("ann", T0), ("bo", T0)]),
            store.save_user(UserState("ann", movies_watched=2), history=history),
        )
        waited = time.perf_counter() - began
        await asyncio.sleep(0.05)
    finally:
        ticking = False
        await asyncio.gather(*tasks)
        release.join()
        blocker.close()
    stored = await store.get_user("ann")
    assert stored is not None
    assert stored.movies_watched == 2
    assert await store.get_history("ann") == history
    assert await store.feed_requests_since("bo", T0) == 1
    await store.aclose()
    assert waited >= 1.4, "the writes did not wait for the lock: the test proves nothing"
    assert len(reads) >= 20
    assert max(gaps) < 0.1, f"the loop stalled for {max(gaps) * 1000:.0f} ms"
