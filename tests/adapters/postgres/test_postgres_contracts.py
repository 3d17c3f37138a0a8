"""PostgresStateStore passes the StateStore contract, each test on a schema of its own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from reclio.ports import StateStore
from reclio.testing.contracts.state import ManualClock, StateStoreContract
from reclio.testing.postgres import TemporaryCluster

pytest.importorskip("psycopg")

from reclio.adapters.postgres import PostgresConfig, PostgresStateStore


class TestPostgresStateStore(StateStoreContract):
    @pytest.fixture
    async def store(
        self, clock: ManualClock, postgres_cluster: TemporaryCluster
    ) -> AsyncIterator[StateStore]:
        config = PostgresConfig(
            postgres_cluster.url(), schema=f"t_{uuid.uuid4().hex[:12]}", max_connections=4
        )
        store = PostgresStateStore(config, clock=clock)
        yield store
        await store.aclose()
