"""SqliteStateStore passes the StateStore contract, in memory and in a WAL file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from reclio.adapters.sqlite import SqliteStateStore
from reclio.ports import StateStore
from reclio.testing.contracts.state import ManualClock, StateStoreContract


class TestSqliteStateStoreInMemory(StateStoreContract):
    @pytest.fixture
    async def store(self, clock: ManualClock) -> AsyncIterator[StateStore]:
        store = SqliteStateStore(clock=clock)
        yield store
        await store.aclose()


class TestSqliteStateStoreFile(StateStoreContract):
    @pytest.fixture
    async def store(self, clock: ManualClock, tmp_path: Path) -> AsyncIterator[StateStore]:
        store = SqliteStateStore(tmp_path / "state.db", clock=clock)
        yield store
        await store.aclose()
