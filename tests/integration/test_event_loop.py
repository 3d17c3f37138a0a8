"""No write on the event loop: /feeds builds and feed counting never wait on SQLite's lock."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from reclio.bootstrap import build
from reclio.config import ReclioConfig
from reclio.domain import UserState

pytestmark = pytest.mark.anyio


def _hold_write_lock(path: Path, seconds: float, taken: threading.Event) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    taken.set()
    time.sleep(seconds)
    db.execute("ROLLBACK")
    db.close()


async def test_feeds_and_counting_never_stall_the_loop(tmp_path: Path) -> None:
    """Another connection holds the write lock for 1.5 s while a 10 ms ticker runs on the loop;
    feeds are built (and counted, and flushed) meanwhile: no tick gap reaches 100 ms."""
    path = tmp_path / "state.sqlite3"
    config = ReclioConfig.embedded_default(path)
    async with build(config, jobs=False, flush_interval=0.05) as runtime:
        for n in range(20):
            await runtime.store.put_user(UserState(f"u{n}"))
        gaps: list[float] = []
        stop = asyncio.Event()

        async def ticker() -> None:
            last = time.perf_counter()
            while not stop.is_set():
                await asyncio.sleep(0.01)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        taken = threading.Event()
        holder = threading.Thread(target=_hold_write_lock, args=(path, 1.5, taken))
        holder.start()
        await asyncio.to_thread(taken.wait)
        tick = asyncio.create_task(ticker())
        built = 0
        deadline = time.perf_counter() + 1.5
        while time.perf_counter() < deadline:
            response = await runtime.feed_builder.build(f"u{built % 20}")
            assert len(response.feeds) == 10
            built += 1
            await asyncio.sleep(0.005)
        flushed = asyncio.create_task(runtime.feed_requests.flush())
        await asyncio.sleep(0.2)
        stop.set()
        await tick
        await asyncio.to_thread(holder.join)
        await flushed
        await runtime.feed_requests.flush()
        since = runtime.clock().replace(year=2000)
        counted = sum([await runtime.store.feed_requests_since(f"u{n}", since) for n in range(20)])
    assert counted == built  # every request counted once the lock was free, none lost
    assert built > 50
    assert max(gaps) < 0.1, f"the loop stalled {max(gaps) * 1000:.0f} ms"
