"""The in-memory adapters pass every contract suite, plus what only they promise."""

from __future__ import annotations

import pytest

from reclio.adapters.memory import InMemoryStateStore
from reclio.ports import StateStore
from reclio.testing.contracts.state import ManualClock, StateStoreContract


class TestInMemoryStateStore(StateStoreContract):
    @pytest.fixture
    def store(self, clock: ManualClock) -> StateStore:
        return InMemoryStateStore(clock=clock)
