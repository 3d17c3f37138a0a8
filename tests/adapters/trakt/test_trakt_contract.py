"""The Trakt adapters pass the shipped contracts: the source on replayed real bodies, the sink
against the local fake Trakt (which reads back at once, as the contract needs)."""

from __future__ import annotations

import pytest

from reclio.adapters.memory import InMemoryStateStore
from reclio.adapters.trakt import (
    TraktConfig,
    TraktInteractionSource,
    TraktListSink,
    TraktSession,
    TraktWritePacer,
)
from reclio.testing.contracts.interactions import InteractionSourceContract
from reclio.testing.contracts.lists import ListSinkContract
from reclio.testing.trakt_server import FakeTraktServer
from tests.adapters.trakt.conftest import REPLAY_CLIENT, REPLAY_SECRET


class TestTraktInteractionContract(InteractionSourceContract):
    """The contract against Trakt's real bodies (replayed, never recorded)."""

    @pytest.fixture
    def source(self, replay, replay_store):
        with replay():
            yield TraktInteractionSource(
                TraktSession(TraktConfig(REPLAY_CLIENT, REPLAY_SECRET), store=replay_store)
            )


class TestTraktListSinkContract(ListSinkContract):
    """The contract against the fake Trakt: 3 lists of 20 items, fast writes for speed."""

    @pytest.fixture
    async def sink(self):
        with FakeTraktServer(write_interval=0.02) as trakt:
            trakt.add_user("contract-user", max_lists=3, max_items=20)
            store = InMemoryStateStore()
            await store.put_token("contract-user", "trakt", trakt.oauth_token("contract-user"))
            config = TraktConfig(
                trakt.client_id,
                trakt.client_secret,
                base_url=trakt.base_url,
                writes_per_second=40,
                requests_per_second=1000,
            )
            session = TraktSession(config, store=store, pacer=TraktWritePacer(40))
            yield TraktListSink(session)
            await session.aclose()
            assert trakt.rate_limited_writes == 0
