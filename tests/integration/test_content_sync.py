"""ContentSync end to end on the in-memory adapters: DESIGN section 6."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import attrs
import pytest

from reclio.adapters.memory import ExactVectorIndex, HashingEmbedder
from reclio.adapters.shared_index import IndexSlot
from reclio.domain import Genre, ItemRef, MediaType, Title, WriteResult
from reclio.errors import LeaseHeld, SourceUnavailable, SyncError
from reclio.ports import CandidateList
from reclio.sync import ContentSyncConfig, Progress, rebuild_index

DOWN = SourceUnavailable("down", service="test", operation="injected")

EMBEDDER = HashingEmbedder(64).identity
"""The identity of the embedder every world here uses (conftest.py)."""


async def records(world):
    found = []
    async for batch in world.store.iter_titles():
        found.extend(batch)
    return {r.title.ref: r for r in found}


@pytest.mark.anyio
async def test_first_run_fetches_stores_pushes_embeds_and_indexes(make_world):
    """Every candidate is fetched once, stored with its hash, pushed, embedded and indexed."""
    world = make_world()
    steps: list[Progress] = []

    report = await world.content.run(progress=steps.append)

    stored = await records(world)
    assert len(stored) == 100
    assert report.ok
    assert (report.fetched, report.pushed, report.embedded) == (100, 100, 100)
    assert world.plan.count("catalog.get_title") == 100
    for ref, record in stored.items():
        assert record.content_hash == record.title.content_hash()
        assert record.synced_hash == record.content_hash
        assert record.embedded_hash == record.title.text_hash(EMBEDDER)
        assert ref in world.recorder.items
    assert len(world.slot) == 100
    assert {s.stage for s in steps} >= {"candidates", "fetch", "push", "index"}


@pytest.mark.anyio
async def test_unchanged_catalog_costs_no_fetch_push_or_embedding(make_world):
    """A second run with nothing changed skips everything and keeps the index."""
    world = make_world()
    await world.content.run()
    index_before = world.slot.current
    world.plan.calls.clear()
    world.clock.advance(timedelta(days=1))

    report = await world.content.run()

    assert world.plan.count("catalog.get_title") == 0
    assert world.plan.count("recommender.*") == 0
    assert world.plan.count("embedder.*") == 0
    assert (report.fetched, report.pushed, report.embedded) == (0, 0, 0)
    assert report.skipped == 100
    assert world.slot.current is index_before


@pytest.mark.anyio
async def test_changed_titles_are_pushed_and_reembedded_only_when_text_changed(make_world):
    """A popularity change is pushed but not embedded; an overview change is both."""
    world = make_world()
    await world.content.run()
    world.clock.advance(timedelta(hours=1))
    titles = {t.ref: t for t in world.catalog.titles}
    world.catalog.add_title(attrs.evolve(titles[ItemRef.movie(1)], popularity=1.0))
    world.catalog.add_title(attrs.evolve(titles[ItemRef.tv(2)], overview="a brand new story"))
    index_before = world.slot.current
    world.clock.advance(timedelta(hours=1))

    report = await world.content.run()

    assert (report.fetched, report.pushed, report.embedded) == (2, 2, 1)
    assert world.recorder.items[ItemRef.movie(1)].popularity == 1.0
    stored = await records(world)
    assert stored[ItemRef.tv(2)].embedded_hash == stored[ItemRef.tv(2)].title.text_hash(EMBEDDER)
    assert world.slot.current is not index_before  # rebuilt, swapped


@pytest.mark.anyio
async def test_recommender_down_marks_nothing_synced_and_the_next_run_pushes(make_world):
    """No title is marked synced without a confirmed write; pending ones are retried."""
    world = make_world()
    world.plan.fail("recommender.upsert_items", DOWN, times=None)

    report = await world.content.run()

    assert report.pushed == 0
    assert report.failed == 100
    assert all(r.synced_hash is None for r in (await records(world)).values())
    assert len(world.slot) == 100  # embeddings do not depend on the recommender

    world.plan.clear()
    world.plan.calls.clear()
    report = await world.content.run()
    assert report.pushed == 100
    assert world.plan.count("catalog.get_title") == 0  # stored titles are not fetched again
    assert all(r.synced_hash == r.content_hash for r in (await records(world)).values())


class PartlyRefusing:
    """Refuses every title with an even TMDB id (a per-item failure inside a batch)."""

    def __init__(self, inner):
        self.inner = inner

    async def upsert_items(self, titles: Sequence[Title]) -> WriteResult[ItemRef]:
        odd = [t for t in titles if t.ref.tmdb_id % 2]
        result = await self.inner.upsert_items(odd)
        failed = tuple((t.ref, "refused") for t in titles if not t.ref.tmdb_id % 2)
        return WriteResult(ok=result.ok, failed=failed)


@pytest.mark.anyio
async def test_only_titles_whose_own_write_succeeded_are_marked(make_world):
    """Per-item failures leave exactly those titles pending."""
    world = make_world()
    inner = world.recorder.inner
    world.recorder.inner = PartlyRefusing(inner)

    report = await world.content.run()

    assert (report.pushed, report.failed) == (50, 50)
    for ref, record in (await records(world)).items():
        assert (record.synced_hash is not None) == bool(ref.tmdb_id % 2)
    world.recorder.inner = inner
    assert (await world.content.run()).pushed == 50


@pytest.mark.anyio
async def test_embedding_failure_is_retried(make_world):
    """Titles whose embedding failed are embedded by the next run."""
    world = make_world()
    world.plan.fail("embedder.embed", DOWN, times=None)
    report = await world.content.run()
    assert report.embedded == 0
    assert len(world.slot) == 0
    world.plan.clear()
    report = await world.content.run()
    assert report.embedded == 100
    assert len(world.slot) == 100


@pytest.mark.anyio
async def test_titles_in_histories_missing_from_the_catalog_are_fetched(make_world):
    """A title someone watched is fetched even when no ranked list carries it."""
    world = make_world()
    hidden = Title(ItemRef.movie(777), "Hidden", "a quiet film", [Genre(18, "Drama")])
    world.catalog.add_title(hidden)
    others = [t.ref for t in world.catalog.titles if t.media_type is MediaType.MOVIE]
    others.remove(hidden.ref)
    for which in CandidateList:
        world.catalog.set_candidates(which, MediaType.MOVIE, others)
    await world.content.run()
    assert hidden.ref not in await records(world)

    world.source.add_view("user0", hidden.ref, world.clock.now)
    await world.users.sync("user0")
    await world.content.run()

    assert hidden.ref in await records(world)
    assert hidden.ref in world.recorder.items


@pytest.mark.anyio
async def test_missing_titles_come_from_one_store_query_within_the_run_limit(make_world):
    """Content sync asks the store once for titles histories name, a run's worth at a time."""
    world = make_world(content_config=ContentSyncConfig(batch_size=16, max_new_per_run=3))
    hidden = [Title(ItemRef.movie(n), f"Hidden {n}", "", [Genre(18, "Drama")]) for n in (901, 902)]
    for title in hidden:
        world.catalog.add_title(title)
        world.source.add_view("user0", title.ref, world.clock.now)
    for which in CandidateList:
        for media in MediaType:
            world.catalog.set_candidates(which, media, [])
    await world.users.sync("user0")
    history = await world.store.get_history("user0")
    assert history is not None
    wanted = sorted(history.refs)  # views, ratings and the watchlist
    assert {t.ref for t in hidden} <= set(wanted)

    world.plan.calls.clear()
    await world.content.run()
    assert world.plan.count("store.titles_missing_from_catalog") == 1
    assert world.plan.count("store.user_ids") == 0
    assert set(await records(world)) == set(wanted[:3])
    for _ in range(len(wanted) // 3):
        await world.content.run()
    assert set(await records(world)) >= set(wanted)
    assert await world.store.titles_missing_from_catalog(limit=10) == []


@pytest.mark.anyio
async def test_catalog_failures_are_reported_and_retried(make_world):
    """A failed title fetch is counted; the title is fetched by the next run."""
    world = make_world()
    world.plan.fail("catalog.get_title", DOWN, times=3)
    report = await world.content.run()
    assert report.failed == 3
    assert len(report.errors) == 3
    assert len(await records(world)) == 97
    assert (await world.content.run()).fetched == 3
    assert len(await records(world)) == 100


@pytest.mark.anyio
async def test_memory_is_bounded_by_batches(make_world):
    """Titles are fetched in batches of ``batch_size`` at most ``concurrency`` at a time."""
    world = make_world(content_config=ContentSyncConfig(batch_size=7, concurrency=2))
    steps: list[Progress] = []
    await world.content.run(progress=steps.append)
    fetch = [s for s in steps if s.stage == "fetch"]
    assert len(fetch) == -(-100 // 7)
    assert fetch[-1].done == fetch[-1].total == 100


@pytest.mark.anyio
async def test_content_sync_is_single_writer(make_world):
    """A second worker cannot run content sync while the first holds the lease."""
    world = make_world()
    await world.store.acquire_lease("content-sync", "other", timedelta(minutes=5))
    with pytest.raises(LeaseHeld):
        await world.content.run()


@pytest.mark.anyio
async def test_store_failure_is_a_sync_error(make_world):
    """A store failure ends the run with SyncError carrying the report so far."""
    world = make_world()
    world.plan.fail("store.put_embeddings", DOWN)
    with pytest.raises(SyncError) as caught:
        await world.content.run()
    assert caught.value.report.fetched == 100
    assert (await world.content.run()).embedded == 100


@pytest.mark.anyio
async def test_a_new_worker_rebuilds_its_index_from_the_store(make_world):
    """rebuild_index gives a fresh slot the vectors content sync stored."""
    world = make_world()
    await world.content.run()
    slot = IndexSlot(ExactVectorIndex)
    assert await rebuild_index(world.store, slot) == 100
    ref = ItemRef.movie(4)
    assert slot.nearest(ref, k=5) == world.slot.nearest(ref, k=5)


@pytest.mark.anyio
async def test_a_change_flood_never_stalls_the_cursor_and_every_stored_change_lands(make_world):
    """The change feed reports far more than the per-run limit (most of it titles the catalog
    never held): the cursor advances every run, unknown titles are never fetched, and every
    changed stored title is refreshed within ceil(changes / limit) runs."""
    limit = 10
    world = make_world(content_config=ContentSyncConfig(batch_size=16, max_new_per_run=limit))
    for which in CandidateList:
        for media in MediaType:
            held = [t.ref for t in world.catalog.titles if t.ref.media_type is media]
            world.catalog.set_candidates(which, media, held)
    for _ in range(10):  # 100 titles at most 10 a run
        await world.content.run()
    stored = await records(world)
    assert len(stored) == 100
    world.clock.advance(timedelta(hours=1))

    changed = sorted(stored)[:25]
    for ref in changed:
        world.catalog.add_title(attrs.evolve(stored[ref].title, popularity=12345.0))
    template = stored[changed[0]].title
    for n in range(2000):  # the flood: titles reclio never held
        world.catalog.add_title(attrs.evolve(template, ref=ItemRef.movie(50_000 + n)))
    world.clock.advance(timedelta(hours=1))
    world.plan.calls.clear()

    cursors = []
    for _ in range(-(-len(changed) // limit)):  # ceil(25 / 10) = 3 runs
        await world.content.run()
        cursors.append(await world.store.get_cursor("content:last_run"))
        world.clock.advance(timedelta(minutes=5))

    assert len(set(cursors)) == len(cursors)  # it moved every run
    after = await records(world)
    assert all(after[ref].title.popularity == 12345.0 for ref in changed)
    assert all(world.recorder.items[ref].popularity == 12345.0 for ref in changed)
    assert world.plan.count("catalog.get_title") == len(changed)
    assert len(after) == 100, "no flood title was stored"


@pytest.mark.anyio
async def test_a_title_deleted_upstream_is_removed_not_retried(make_world):
    """A stored title that changed and then 404s (deleted on TMDB) leaves the catalog."""
    world = make_world()
    await world.content.run()
    world.clock.advance(timedelta(hours=1))
    gone = ItemRef.movie(1)
    world.catalog.add_title(attrs.evolve(world.catalog.titles[0], popularity=1.0))
    world.clock.advance(timedelta(hours=1))
    # Deleted after it was reported as changed.
    world.catalog._titles.pop(gone)
    world.plan.calls.clear()

    await world.content.run()
    await world.content.run()

    stored = await records(world)
    assert gone not in stored
    assert world.plan.count("catalog.get_title") == 1
