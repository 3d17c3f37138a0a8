"""``diagnose_recombee``: each of the eight verdicts from its real condition, first match wins.

Content reaches the local Recombee through the real ContentSync (in-memory catalog, store and
embedder), so "marked synced" means what it means in production.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import socket
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reclio.adapters.memory import (
    ExactVectorIndex,
    HashingEmbedder,
    InMemoryCatalogSource,
    InMemoryStateStore,
)
from reclio.adapters.recombee import RecombeeConfig, RecombeeRecommender
from reclio.adapters.shared_index import IndexSlot
from reclio.diagnostics import (
    VERDICTS,
    Diagnosis,
    HealthMonitor,
    Verdict,
    _sample_synced,
    diagnose_recombee,
    render_diagnosis,
    requeue_missing,
    run_diagnose,
    verdicts_markdown,
)
from reclio.domain import CatalogRecord, Genre, ItemRef, MediaType, Title
from reclio.ports import CandidateList
from reclio.sync import ContentSync, ContentSyncConfig
from reclio.testing.recombee_server import LocalRecombee


def catalog(count: int) -> list[Title]:
    return [
        Title(
            ItemRef(MediaType.MOVIE if n % 3 else MediaType.TV, n),
            f"Title {n}",
            overview="A family moves to a quiet town.",
            genres=[Genre(18, "Drama")],
            year=1990 + n % 30,
            popularity=1000 / n,
        )
        for n in range(1, count + 1)
    ]


async def content_sync(recommender, store, count: int):
    """One real content sync of ``count`` titles into ``recommender`` and ``store``."""
    sync = ContentSync(
        catalog=InMemoryCatalogSource(catalog(count), page_size=count),
        recommender=recommender,
        embedder=HashingEmbedder(16),
        store=store,
        index=IndexSlot(ExactVectorIndex),
        config=ContentSyncConfig(
            pages={CandidateList.POPULAR: 1}, max_new_per_run=count, include_history=False
        ),
    )
    return await sync.run()


async def lossy_content_sync(recommender, server, store, count: int):
    """A content sync while the server silently drops every third item write."""
    await recommender.ensure_schema()
    server.drop_writes(every=3)
    try:
        return await content_sync(recommender, store, count)
    finally:
        server.clear_faults()


async def synced(store) -> set[ItemRef]:
    refs = set()
    async for batch in store.iter_titles():
        refs.update(r.title.ref for r in batch if r.synced_hash is not None)
    return refs


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


RNG = random.Random(20260101)  # noqa: S311 - a reproducible sample, not a secret


# -- the eight verdicts ---------------------------------------------------------------------


@pytest.mark.anyio
async def test_sdk_missing(make_config, monkeypatch):
    """The SDK not importable is sdk_missing, whatever else is configured."""
    for name in [m for m in sys.modules if m.startswith("recombee_api_client")]:
        monkeypatch.setitem(sys.modules, name, None)
    diagnosis = await diagnose_recombee(make_config(), InMemoryStateStore())
    assert diagnosis.verdict is Verdict.SDK_MISSING
    assert "pip install 'reclio[recombee]'" in diagnosis.next_steps[0]


@pytest.mark.anyio
@pytest.mark.parametrize("config", [None, RecombeeConfig("db", ""), RecombeeConfig("", "t")])
async def test_no_credentials(config):
    """No config, or an empty id or token, is no_credentials; the token is never shown."""
    diagnosis = await diagnose_recombee(config, InMemoryStateStore())
    assert diagnosis.verdict is Verdict.NO_CREDENTIALS
    assert "RECLIO_RECOMBEE_TOKEN" in diagnosis.next_steps[0]
    assert "token" not in diagnosis.details or diagnosis.details.get("token") is None


@pytest.mark.anyio
async def test_client_init_failed_on_a_bad_region(make_config):
    """A region Recombee does not have stops the client from being built."""
    diagnosis = await diagnose_recombee(
        make_config(base_uri=None, region="mars-north"), InMemoryStateStore()
    )
    assert diagnosis.verdict is Verdict.CLIENT_INIT_FAILED
    assert "RECLIO_RECOMBEE_REGION" in str(diagnosis.details["error"])


@pytest.mark.anyio
async def test_client_init_failed_when_rapi_uri_fights_the_region(make_config, monkeypatch):
    """The SDK itself refuses RAPI_URI together with a region."""
    monkeypatch.setenv("RAPI_URI", "rapi.example.com")
    diagnosis = await diagnose_recombee(make_config(base_uri=None), InMemoryStateStore())
    assert diagnosis.verdict is Verdict.CLIENT_INIT_FAILED
    assert "RAPI_URI" in str(diagnosis.details["error"])


@pytest.mark.anyio
@pytest.mark.parametrize("fault", ["nobody listening", "wrong token", "http 503", "hung"])
async def test_unreachable(make_config, server, token, fault):
    """A cheap read that fails (network, auth, 5xx, timeout) is unreachable, with the error."""
    options: dict[str, object] = {"timeout": 0.3}
    if fault == "nobody listening":
        options["base_uri"] = f"http://127.0.0.1:{closed_port()}"
    elif fault == "wrong token":
        options["token"] = "another-token"  # noqa: S105 - a wrong one on purpose
    elif fault == "http 503":
        server.fail_requests(503)
    else:
        server.delay(3)
    diagnosis = await diagnose_recombee(make_config(**options), InMemoryStateStore())
    server.clear_faults()
    assert diagnosis.verdict is Verdict.UNREACHABLE
    assert diagnosis.details["error"]
    assert token not in json.dumps(diagnosis.as_json())


@pytest.mark.anyio
async def test_wrong_region_when_the_database_does_not_exist_here(make_config):
    """Recombee's "database does not exist" (another cluster holds it) is wrong_region."""
    diagnosis = await diagnose_recombee(
        make_config(database_id="lives-elsewhere"), InMemoryStateStore()
    )
    assert diagnosis.verdict is Verdict.WRONG_REGION
    assert "RECLIO_RECOMBEE_REGION" in diagnosis.next_steps[0]


@pytest.mark.anyio
async def test_wrong_region_when_every_pushed_title_is_missing(make_config, database, token):
    """Pushed to one cluster, diagnosed against another holding the same database id."""
    store = InMemoryStateStore()
    pushed_to = RecombeeRecommender(make_config())
    await content_sync(pushed_to, store, 50)
    await pushed_to.aclose()
    with LocalRecombee() as other_region:
        other_region.add_database(database, token)
        config = make_config(base_uri=other_region.base_uri)
        diagnosis = await diagnose_recombee(config, store, rng=RNG)
    assert diagnosis.verdict is Verdict.WRONG_REGION
    assert diagnosis.details["sampled"] == diagnosis.details["missing"] == 20


@pytest.mark.anyio
async def test_no_pushes_yet(make_config):
    """Recombee answers but nothing is marked synced (catalog stored, never pushed)."""
    store = InMemoryStateStore()
    await store.put_titles([CatalogRecord.of(title) for title in catalog(5)])
    diagnosis = await diagnose_recombee(make_config(), store)
    assert diagnosis.verdict is Verdict.NO_PUSHES_YET
    assert diagnosis.details["synced_locally"] == 0


@pytest.mark.anyio
async def test_writes_silently_failing_when_every_third_write_is_dropped(make_config, server):
    """Every third write acknowledged but dropped: the sample finds missing titles."""
    store = InMemoryStateStore()
    recommender = RecombeeRecommender(make_config())
    report = await lossy_content_sync(recommender, server, store, 300)
    assert report.pushed == 300  # every write was acknowledged: the loss is silent
    diagnosis = await diagnose_recombee(make_config(), store, rng=RNG)
    assert diagnosis.verdict is Verdict.WRITES_SILENTLY_FAILING
    details = diagnosis.details
    assert details["synced_locally"] == 300
    assert details["sampled"] == 20
    assert 0 < details["missing"] < 20
    assert len(details["missing_examples"]) == details["missing"]
    await recommender.aclose()


@pytest.mark.anyio
async def test_ok_for_a_healthy_database_of_ten_thousand_titles(make_config, server):
    """10,000 synced titles: ok, from a sample of 20 looked up in one batch, nothing written."""
    store = InMemoryStateStore()
    recommender = RecombeeRecommender(make_config(batch_size=500))
    report = await content_sync(recommender, store, 10_000)
    await recommender.aclose()
    assert report.pushed == 10_000
    server.reset_counters()
    diagnosis = await diagnose_recombee(make_config(), store, rng=RNG)
    assert diagnosis.verdict is Verdict.OK
    assert diagnosis.details["synced_locally"] == 10_000
    assert (diagnosis.details["sampled"], diagnosis.details["missing"]) == (20, 0)
    assert [(r.method, r.path, r.members) for r in server.requests] == [
        ("GET", "/items/properties/list/", 0),
        ("POST", "/batch/", 20),
    ]


@pytest.mark.anyio
async def test_the_first_match_wins(make_config, server):
    """Unreachable is reported even when nothing was pushed (checks run in DESIGN order)."""
    server.fail_requests(503)
    diagnosis = await diagnose_recombee(make_config(), InMemoryStateStore())
    server.clear_faults()
    assert diagnosis.verdict is Verdict.UNREACHABLE


@pytest.mark.anyio
async def test_a_given_recommender_is_probed_and_left_open(recombee):
    """Diagnose uses the recommender it is given and does not close it."""
    store = InMemoryStateStore()
    await content_sync(recombee, store, 5)
    diagnosis = await diagnose_recombee(recombee.config, store, recommender=recombee)
    assert diagnosis.verdict is Verdict.OK
    await recombee.ping()


# -- repair ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_repair_requeues_what_is_missing_and_a_content_sync_heals(make_config, server):
    """--repair marks the missing titles unsynced; the next content sync pushes them: ok."""
    store = InMemoryStateStore()
    recommender = RecombeeRecommender(make_config())
    await lossy_content_sync(recommender, server, store, 60)
    text, code = await run_diagnose(make_config(), store, as_json=True, repair=True)
    shown = json.loads(text)
    assert code == 1
    assert shown["details"]["repair_checked"] == 60
    assert shown["details"]["repair_requeued"] == 20
    assert len(await synced(store)) == 40
    await content_sync(recommender, store, 60)
    text, code = await run_diagnose(make_config(), store)
    assert code == 0, text
    assert await recommender.missing_items(await synced(store)) == frozenset()
    await recommender.aclose()


@pytest.mark.anyio
async def test_requeue_of_a_healthy_database_changes_nothing(recombee):
    """Nothing missing: nothing requeued."""
    store = InMemoryStateStore()
    await content_sync(recombee, store, 30)
    report = await requeue_missing(store, recombee, chunk=7)
    assert (report.checked, report.requeued) == (30, 0)
    assert len(await synced(store)) == 30


# -- rendering ------------------------------------------------------------------------------


def test_every_verdict_has_a_spec_in_check_order():
    """VERDICTS covers the eight verdicts once each, in DESIGN's order, each with steps."""
    assert [spec.verdict for spec in VERDICTS] == list(Verdict)
    assert all(spec.next_steps for spec in VERDICTS)
    table = verdicts_markdown()
    assert all(f"`{verdict.value}`" in table for verdict in Verdict)


@pytest.mark.parametrize("verdict", list(Verdict))
def test_exit_code_is_zero_only_for_ok(verdict):
    """Text and JSON both exit 0 for ok and 1 for anything else."""
    diagnosis = Diagnosis.of(verdict, {"sampled": 20, "missing_examples": ["movie_1"]})
    text, code = render_diagnosis(diagnosis)
    shown, json_code = render_diagnosis(diagnosis, as_json=True)
    assert code == json_code == (0 if verdict is Verdict.OK else 1)
    assert text.startswith(f"Recombee: {verdict.value}")
    assert "movie_1" in text
    assert json.loads(shown) == {
        "verdict": verdict.value,
        "next_steps": list(diagnosis.next_steps),
        "details": {"sampled": 20, "missing_examples": ["movie_1"]},
    }


@given(
    flags=st.lists(st.booleans(), max_size=60),
    size=st.integers(min_value=1, max_value=25),
    seed=st.integers(min_value=0, max_value=2**16),
)
@settings(max_examples=60, deadline=None)
def test_the_sample_is_drawn_from_synced_titles_only(flags, size, seed):
    """The reservoir holds min(size, synced) distinct synced titles and counts them all."""
    store = InMemoryStateStore()
    records = [
        CatalogRecord(title, title.content_hash(), title.content_hash() if flag else None)
        for title, flag in zip(catalog(len(flags)), flags, strict=True)
    ]
    marked = {r.title.ref for r in records if r.synced_hash is not None}

    async def draw():
        await store.put_titles(records)
        return await _sample_synced(store, size, random.Random(seed))  # noqa: S311

    count, sample = asyncio.run(draw())
    assert count == len(marked)
    assert len(sample) == min(size, len(marked)) == len(set(sample))
    assert set(sample) <= marked


# -- health ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_health_monitor_sees_recombee_go_and_come_back(recombee, server, caplog):
    """Recombee failing is one WARNING naming it; its recovery one INFO."""
    caplog.set_level(logging.INFO, logger="reclio.diagnostics")
    monitor = HealthMonitor({"recombee": recombee, "state": InMemoryStateStore()}, timeout=2)
    assert (await monitor.check_once()).ok
    server.fail_requests(503)
    down = await monitor.check_once()
    await monitor.check_once()
    server.clear_faults()
    assert (await monitor.check_once()).ok
    assert down.failing == ("recombee",)
    logged = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in logged] == ["WARNING", "INFO"]
    assert logged[0][1].startswith("health degraded: recombee failing - recombee: ")
    assert "HTTP 503" in logged[0][1]
