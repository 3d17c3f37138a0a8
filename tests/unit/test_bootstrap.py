"""bootstrap.build: one decision per port, overrides used as given, everything made is closed."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from reclio.adapters.local import LocalRecommender
from reclio.adapters.memory import InMemoryStateStore
from reclio.adapters.sqlite import SqliteListSink, SqliteStateStore
from reclio.bootstrap import build
from reclio.config import ReclioConfig
from reclio.domain import Interaction, ItemRef, UserHistory, UserState
from reclio.errors import ConfigurationError, SourceError
from reclio.settings import RecombeeConfig, TmdbConfig

pytestmark = pytest.mark.anyio

T0 = ReclioConfig.embedded_default  # shorthand


async def test_the_embedded_default_says_what_it_chose_for_each_port(caplog, tmp_path):
    """No services configured: one INFO line per port, naming the embedded choice."""
    with caplog.at_level(logging.INFO, logger="reclio.bootstrap"):
        runtime = build(T0(tmp_path / "s.sqlite3"), world_users=5)
    lines = [r.getMessage() for r in caplog.records if r.name == "reclio.bootstrap"]
    for word in ("catalog", "interactions", "lists", "recommender", "embeddings"):
        assert sum(line.startswith(word) for line in lines) == 1, (word, lines)
    assert isinstance(runtime.store, SqliteStateStore)
    assert isinstance(runtime.sink, SqliteListSink)
    assert isinstance(runtime.jobs.recommender, LocalRecommender)
    assert runtime.jobs.world is not None
    assert len(runtime.jobs.world.user_ids) == 5
    await runtime.aclose()


async def test_overrides_are_used_as_given_and_not_closed():
    """A store passed in is the runtime's store, and still open after the runtime closed."""
    store = InMemoryStateStore()
    async with build(T0(), store=store, world_users=3) as runtime:
        assert runtime.store is store
        await runtime.store.put_user(UserState("ann"))
    assert await store.get_user("ann") is not None


async def test_what_the_runtime_made_is_closed(tmp_path):
    """After the block, the store it opened refuses work."""
    async with build(T0(tmp_path / "s.sqlite3"), jobs=False) as runtime:
        store = runtime.store
        await store.put_user(UserState("ann"))
    with pytest.raises(SourceError):
        await store.get_user("ann")


async def test_a_serving_runtime_has_no_jobs(tmp_path):
    """jobs=False opens the store and nothing else; asking for a pipeline is one clear error."""
    async with build(T0(tmp_path / "s.sqlite3"), jobs=False) as runtime:
        with pytest.raises(ConfigurationError, match="jobs=True"):
            runtime.content_sync  # noqa: B018 - the property raises


async def test_read_only_refuses_a_missing_file_and_creates_nothing(tmp_path):
    """A reading process never creates a state file."""
    missing = tmp_path / "nope" / "s.sqlite3"
    with pytest.raises(ConfigurationError, match="no state file"):
        build(T0(missing), read_only=True)
    assert not missing.parent.exists()


async def test_a_writing_runtime_creates_the_state_folder(tmp_path):
    """A fresh machine has no ~/.local/share/reclio: the runtime makes it."""
    path = tmp_path / "deep" / "er" / "s.sqlite3"
    async with build(T0(path), jobs=False):
        pass
    assert path.is_file()


async def test_the_local_engine_is_restored_from_the_store_on_entry(tmp_path):
    """A second runtime's engine knows the interactions the store recorded."""
    path = tmp_path / "s.sqlite3"
    seen = Interaction.view("ann", ItemRef.movie(5), datetime(2026, 11, 1, tzinfo=UTC))
    async with build(T0(path), world_users=3) as first:
        await first.store.save_user(UserState("ann"), history=UserHistory().with_views([seen]))
    async with build(T0(path), world_users=3) as second:
        engine = second.jobs.recommender
        assert isinstance(engine, LocalRecommender)
        assert [i.ref for i in engine.interactions_of("ann")] == [ItemRef.movie(5)]


async def test_configured_services_are_wired(tmp_path):
    """TMDB and Recombee settings select their adapters (built, not called)."""
    recombee = pytest.importorskip("reclio.adapters.recombee")
    from reclio.adapters.tmdb import TmdbCatalogSource  # noqa: PLC0415

    config = ReclioConfig(
        state=T0(tmp_path / "s.sqlite3").state,
        tmdb=TmdbConfig("t" * 40),
        recombee=RecombeeConfig("db", "secret-token", base_uri="http://127.0.0.1:9"),
    )
    runtime = build(config, world_users=3)
    assert isinstance(runtime.jobs.catalog, TmdbCatalogSource)
    assert isinstance(runtime.jobs.recommender, recombee.RecombeeRecommender)
    assert "secret-token" not in repr(runtime.config)
    await runtime.aclose()

