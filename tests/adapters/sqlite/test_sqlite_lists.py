"""SqliteListSink: the embedded lists pass the ListSink contract and outlive the process."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from reclio.adapters.sqlite import SqliteListSink
from reclio.domain import AccountLimits, ItemRef, ListDiff
from reclio.errors import SourceError
from reclio.ports import ListSink
from reclio.testing.contracts.lists import ListSinkContract

pytestmark = pytest.mark.anyio

SMALL = AccountLimits(max_lists=3, max_items_per_list=20)


class TestSqliteListSinkFile(ListSinkContract):
    @pytest.fixture
    async def sink(self, tmp_path: Path) -> AsyncIterator[ListSink]:
        sink = SqliteListSink(tmp_path / "state.sqlite3", limits=SMALL)
        yield sink
        await sink.aclose()


class TestSqliteListSinkInMemory(ListSinkContract):
    @pytest.fixture
    async def sink(self) -> AsyncIterator[ListSink]:
        sink = SqliteListSink(":memory:", limits=SMALL)
        yield sink
        await sink.aclose()


async def test_lists_outlive_the_sink_that_wrote_them(tmp_path: Path) -> None:
    """A second sink on the same file (another process) sees the same lists, ids and order."""
    path = tmp_path / "state.sqlite3"
    first = SqliteListSink(path)
    handle = await first.ensure_list("ann", "Reclio • Recommended Movies")
    refs = (ItemRef.movie(3), ItemRef.movie(1), ItemRef.movie(2))
    await first.apply("ann", handle.list_id, ListDiff(add=refs))
    await first.aclose()

    second = SqliteListSink(path, read_only=True)
    assert list(await second.items("ann", handle.list_id)) == list(refs)
    await second.aclose()
    third = SqliteListSink(path)
    adopted = await third.ensure_list("ann", "Reclio • Recommended Movies")
    assert (adopted.list_id, adopted.item_count) == (handle.list_id, 3)
    await third.aclose()


async def test_a_read_only_sink_never_creates_the_table(tmp_path: Path) -> None:
    """Reading a file no sync wrote is an error naming the cause, and leaves the file alone."""
    path = tmp_path / "state.sqlite3"
    sqlite3.connect(path).close()  # another application's empty database
    size = path.stat().st_size
    sink = SqliteListSink(path, read_only=True)
    with pytest.raises(SourceError, match="no managed lists"):
        await sink.items("ann", 1)
    with pytest.raises(SourceError):
        await sink.ensure_list("ann", "x")
    await sink.aclose()
    assert path.stat().st_size == size


async def test_every_call_on_a_file_runs_off_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reads as well as writes run in a worker thread: each takes the lock a write may hold
    while it waits for the file (another connection's write), which must never be the
    loop's wait."""
    sink = SqliteListSink(tmp_path / "state.sqlite3")
    seen: list[tuple[str, int]] = []
    translate = sink._translate  # every operation passes through it

    @contextmanager
    def spy(operation: str) -> Iterator[None]:
        seen.append((operation, threading.get_ident()))
        with translate(operation):
            yield

    monkeypatch.setattr(sink, "_translate", spy)
    handle = await sink.ensure_list("ann", "Reclio • Recommended Movies")
    await sink.apply("ann", handle.list_id, ListDiff(add=(ItemRef.movie(1), ItemRef.movie(2))))
    account = await sink.account("ann")
    snapshot = await sink.snapshot("ann", handle.list_id)
    items = await sink.items("ann", handle.list_id)
    await sink.aclose()
    assert [h.item_count for h in account.lists] == [2]
    assert [e.ref for e in snapshot.entries] == list(items) == [ItemRef.movie(1), ItemRef.movie(2)]
    assert [op for op, _ in seen] == ["ensure_list", "apply", "account", "snapshot", "items"]
    loop = threading.get_ident()
    assert all(thread != loop for _, thread in seen)
