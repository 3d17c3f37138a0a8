"""PublishedIndex: content sync builds the vector index once; every other process loads it."""

from __future__ import annotations

import importlib.util
import logging
import random
from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import numpy as np
import pytest

from reclio.adapters.local import LocalRecommender, LocalRecommenderConfig
from reclio.adapters.memory import HashingEmbedder, InMemoryCatalogSource, InMemoryStateStore
from reclio.adapters.shared_index import INDEX_CURSOR, IndexSlot, PublishedIndex
from reclio.adapters.vectors import IndexKind, index_kind
from reclio.config import VectorConfig
from reclio.domain import Genre, ItemRef, MediaType, Title, Vector
from reclio.errors import SourceUnavailable
from reclio.ports import VECTORS_CURSOR, Embedder, VectorIndex
from reclio.sync import ContentSync, ContentSyncConfig, rebuild_index

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
WORDS = ("space", "ship", "planet", "alien", "detective", "murder", "city", "love", "ghost")


@attrs.define
class Clock:
    """A clock the test moves by hand."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def make_titles(movies: int, shows: int) -> list[Title]:
    """Titles whose overviews draw on a shared vocabulary (so neighbours are non-trivial)."""
    rng = random.Random(3)  # noqa: S311 - test data
    return [
        Title(
            ItemRef(media, n),
            f"{media.noun} {n}",
            overview=" ".join(rng.choice(WORDS) for _ in range(10)),
            genres=[Genre(18, "Drama")],
            year=1980 + n % 40,
        )
        for media, count in ((MediaType.MOVIE, movies), (MediaType.TV, shows))
        for n in range(1, count + 1)
    ]


BACKENDS = [
    pytest.param("exact", id="exact"),
    pytest.param(
        "annoy",
        id="annoy",
        marks=pytest.mark.skipif(not importlib.util.find_spec("annoy"), reason="no annoy"),
    ),
    pytest.param(
        "voyager",
        id="voyager",
        marks=pytest.mark.skipif(not importlib.util.find_spec("voyager"), reason="no voyager"),
    ),
]


@attrs.define
class Counts:
    builds: int = 0
    loads: int = 0


class Counted(VectorIndex):
    """A vector index that counts its builds and loads into a shared tally."""

    def __init__(self, inner: VectorIndex, counts: Counts) -> None:
        self.inner = inner
        self.counts = counts

    def build(self, items: Iterable[tuple[ItemRef, Vector]]) -> None:
        self.counts.builds += 1
        self.inner.build(items)

    def nearest(
        self,
        query: ItemRef | Vector,
        *,
        k: int,
        media_type: MediaType | None = None,
        exclude: Collection[ItemRef] = (),
    ) -> Sequence[tuple[ItemRef, float]]:
        return self.inner.nearest(query, k=k, media_type=media_type, exclude=exclude)

    def __len__(self) -> int:
        return len(self.inner)

    def save(self, path: Path) -> None:
        self.inner.save(path)

    def load(self, path: Path) -> None:
        self.counts.loads += 1
        self.inner.load(path)


class CountingEmbedder(Embedder):
    """The hashing embedder, counting the texts it embedded; fails once past ``fail_after``.

    Given an ``identity`` it stands for another model: its vectors are the hashing
    embedder's rolled by one coordinate (the same length and neighbours, other values).
    """

    def __init__(
        self, dimension: int = 64, *, identity: str | None = None, fail_after: int | None = None
    ) -> None:
        self.inner = HashingEmbedder(dimension)
        self.texts = 0
        self.fail_after = fail_after
        self._identity = identity or self.inner.identity
        self._roll = 0 if identity is None else 1

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    @property
    def identity(self) -> str:
        return self._identity

    async def embed(self, texts: Sequence[str]) -> Vector:
        if self.fail_after is not None and self.texts + len(texts) > self.fail_after:
            msg = "the model ran out of memory"
            raise SourceUnavailable(msg, service="embedder", operation="embed")
        self.texts += len(texts)
        return np.roll(await self.inner.embed(texts), self._roll, axis=1)


@attrs.define
class Installation:
    """One state store and index directory; one content-sync process, any number of readers."""

    clock: Clock
    catalog: InMemoryCatalogSource
    store: InMemoryStateStore
    embedder: CountingEmbedder
    kind: IndexKind
    directory: Path
    writer: PublishedIndex
    writer_counts: Counts
    content: ContentSync

    def reader(self, kind: IndexKind | None = None) -> tuple[PublishedIndex, Counts]:
        counts = Counts()
        chosen = kind or self.kind
        index = PublishedIndex(
            lambda: Counted(chosen.make(), counts), self.directory, kind=chosen.name
        )
        return index, counts

    def change(self, refs: Iterable[ItemRef]) -> None:
        """Give these titles a new overview (a text change: they must be embedded again)."""
        self.clock.advance(timedelta(hours=1))
        titles = {t.ref: t for t in self.catalog.titles}
        for ref in refs:
            title = titles[ref]
            self.catalog.add_title(attrs.evolve(title, overview=title.overview + " sequel"))
        self.clock.advance(timedelta(hours=1))


def install(tmp_path: Path, backend: str, *, movies: int = 60, shows: int = 40) -> Installation:
    clock = Clock()
    catalog = InMemoryCatalogSource(make_titles(movies, shows), page_size=1000, clock=clock)
    store = InMemoryStateStore(clock=clock)
    embedder = CountingEmbedder()
    kind = index_kind(VectorConfig(backend=backend, annoy_trees=10))  # type: ignore[arg-type]
    counts = Counts()
    directory = tmp_path / "vectors"
    writer = PublishedIndex(lambda: Counted(kind.make(), counts), directory, kind=kind.name)
    content = ContentSync(
        catalog=catalog,
        recommender=LocalRecommender(LocalRecommenderConfig(refit_fraction=1e9)),
        embedder=embedder,
        store=store,
        index=writer,
        config=ContentSyncConfig(worker_id="content"),
        clock=clock,
    )
    return Installation(clock, catalog, store, embedder, kind, directory, writer, counts, content)


PROBES = (ItemRef.movie(4), ItemRef.tv(7), ItemRef.movie(33))


@pytest.mark.anyio
@pytest.mark.parametrize("backend", BACKENDS)
async def test_content_sync_publishes_and_readers_load_without_building(
    tmp_path: Path, backend: str
) -> None:
    """The writer builds once and publishes; a reader loads that file and builds nothing."""
    world = install(tmp_path, backend)
    await world.content.run()

    name = await world.store.get_cursor(INDEX_CURSOR)
    version = await world.store.get_cursor(VECTORS_CURSOR)
    assert name == world.writer.published == f"{world.kind.name}-{version}.idx"
    assert (world.directory / name).is_file()
    assert world.writer_counts.builds == 1
    reader, counts = world.reader()
    assert len(reader) == 0
    assert await reader.refresh(world.store) is True
    assert (counts.builds, counts.loads) == (0, 1)
    assert len(reader) == 100
    for ref in PROBES:
        assert reader.nearest(ref, k=5) == world.writer.nearest(ref, k=5)
    assert await reader.refresh(world.store) is False  # nothing moved: nothing loaded
    assert counts.loads == 1


@pytest.mark.anyio
@pytest.mark.parametrize("backend", BACKENDS)
async def test_one_percent_changed_embeds_those_and_rebuilds_once(
    tmp_path: Path, backend: str
) -> None:
    """With 5 of 500 titles changed, the next run embeds 5 texts and builds the index once."""
    world = install(tmp_path, backend, movies=300, shows=200)
    first = await world.content.run()
    assert first.embedded == world.embedder.texts == 500
    reader, counts = world.reader()
    await reader.refresh(world.store)
    published = world.writer.published

    world.embedder.texts = 0
    world.change([*map(ItemRef.movie, (10, 150, 299)), *map(ItemRef.tv, (3, 77))])
    second = await world.content.run()

    assert second.embedded == world.embedder.texts == 5
    assert world.writer_counts.builds == 2
    assert world.writer.published != published
    assert await reader.refresh(world.store) is True
    assert (counts.builds, counts.loads) == (0, 2)
    for ref in PROBES:
        assert reader.nearest(ref, k=5) == world.writer.nearest(ref, k=5)

    third = await world.content.run()
    assert third.embedded == 0
    assert world.writer_counts.builds == 2
    assert await reader.refresh(world.store) is False


@pytest.mark.anyio
@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_reader_keeps_answering_while_new_indexes_are_published(
    tmp_path: Path, backend: str
) -> None:
    """A reader answers from its old index through two publishes, then sees the newest."""
    world = install(tmp_path, backend)
    await world.content.run()
    reader, _ = world.reader()
    await reader.refresh(world.store)
    first = reader.published
    before = {ref: reader.nearest(ref, k=5) for ref in PROBES}

    for ref in (ItemRef.movie(4), ItemRef.tv(7)):
        world.change([ref])
        await world.content.run()

    # Two publishes later the reader's file has been pruned; its answers have not changed.
    assert first is not None
    assert not (world.directory / first).exists()
    assert reader.published == first
    assert {ref: reader.nearest(ref, k=5) for ref in PROBES} == before
    assert await reader.refresh(world.store) is True
    assert reader.published == world.writer.published
    for ref in PROBES:
        assert reader.nearest(ref, k=5) == world.writer.nearest(ref, k=5)
    kept = sorted(p.name for p in world.directory.iterdir() if p.name.endswith(".idx"))
    assert len(kept) == 2  # the current version and the one before


@pytest.mark.anyio
async def test_nothing_published_leaves_a_reader_empty(tmp_path: Path) -> None:
    """Before the first content sync a reader has nothing to load, and builds nothing."""
    world = install(tmp_path, "exact")
    reader, counts = world.reader()
    assert await reader.refresh(world.store) is False
    assert await rebuild_index(world.store, reader) == 0
    assert (counts.builds, counts.loads) == (0, 0)


@pytest.mark.anyio
async def test_rebuild_index_loads_the_published_file(tmp_path: Path) -> None:
    """A worker's start-up (rebuild_index) loads the published index instead of building."""
    world = install(tmp_path, "exact")
    await world.content.run()
    reader, counts = world.reader()
    assert await rebuild_index(world.store, reader) == 100
    assert (counts.builds, counts.loads) == (0, 1)


@pytest.mark.anyio
async def test_a_reader_of_another_kind_does_not_load(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A process configured for another kind of index warns once and keeps its own."""
    world = install(tmp_path, "exact")
    await world.content.run()
    other = IndexKind("other-kind", world.kind.make)
    reader, counts = world.reader(other)
    with caplog.at_level(logging.WARNING, logger="reclio.adapters.shared_index"):
        assert await reader.refresh(world.store) is False
        assert await reader.refresh(world.store) is False
    assert counts.loads == 0
    assert len([r for r in caplog.records if "not of this process's kind" in r.message]) == 1


@pytest.mark.anyio
async def test_a_vanished_file_is_logged_and_republished(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A published file that disappeared: readers keep what they hold; the writer rebuilds."""
    world = install(tmp_path, "exact")
    await world.content.run()
    name = world.writer.published
    assert name is not None
    (world.directory / name).unlink()
    reader, _ = world.reader()
    with caplog.at_level(logging.WARNING, logger="reclio.adapters.shared_index"):
        assert await reader.refresh(world.store) is False
    assert "could not load the published vector index" in caplog.text
    assert len(reader) == 0

    assert await world.writer.update(world.store) == 100
    assert world.writer_counts.builds == 2
    assert (world.directory / name).is_file()
    assert await reader.refresh(world.store) is True


@pytest.mark.anyio
async def test_a_new_writer_adopts_the_published_index(tmp_path: Path) -> None:
    """A content-sync process that starts after a publish loads the file, builds nothing."""
    world = install(tmp_path, "exact")
    await world.content.run()
    writer, counts = world.reader()
    assert await writer.update(world.store) is None
    assert (counts.builds, counts.loads) == (0, 1)
    assert writer.published == world.writer.published


def switch_embedder(world: Installation, embedder: CountingEmbedder, batch_size: int) -> None:
    """Run content sync from now on with another embedder (a model change)."""
    world.embedder = embedder
    world.content = ContentSync(
        catalog=world.catalog,
        recommender=LocalRecommender(LocalRecommenderConfig(refit_fraction=1e9)),
        embedder=embedder,
        store=world.store,
        index=world.writer,
        config=ContentSyncConfig(worker_id="content", batch_size=batch_size),
        clock=world.clock,
    )


@pytest.mark.anyio
@pytest.mark.parametrize("dimension", [64, 32], ids=["same-length", "new-length"])
async def test_a_new_embedding_model_embeds_every_title_again(
    tmp_path: Path, dimension: int
) -> None:
    """Another model (even of the same length) re-embeds all 100 titles, then nothing."""
    world = install(tmp_path, "exact")
    await world.content.run()
    # Of the same length, only the identity tells the new model from the old one.
    new = CountingEmbedder(dimension, identity=f"another-model/{dimension}")
    switch_embedder(world, new, batch_size=1000)

    second = await world.content.run()
    assert second.embedded == new.texts == 100
    assert len(world.writer) == 100
    # Every indexed vector is the new model's: each title is its own nearest, at cosine 1.
    for title in world.catalog.titles[::10]:
        query = (await new.embed([title.embedding_text()]))[0]
        [(ref, score)] = world.writer.nearest(query, k=1)
        assert score == pytest.approx(1.0, abs=1e-5)
        assert world.writer.nearest(ref, k=3) == world.writer.nearest(title.ref, k=3)
    third = await world.content.run()
    assert third.embedded == 0


@pytest.mark.anyio
async def test_an_interrupted_model_change_indexes_only_the_new_model(tmp_path: Path) -> None:
    """The embedder fails after 40 of 100 titles: those 40 are indexed, the rest next run."""
    world = install(tmp_path, "exact")
    await world.content.run()
    switch_embedder(world, CountingEmbedder(32, fail_after=40), batch_size=20)

    broken = await world.content.run()
    assert (broken.embedded, broken.failed) == (40, 60)
    assert len(world.writer) == 40
    reader, _ = world.reader()
    assert await reader.refresh(world.store) is True
    assert len(reader) == 40

    # A reader of the stored vectors (no published file) keeps its index meanwhile.
    slot = IndexSlot(world.kind.make)
    assert await rebuild_index(world.store, slot) == 0
    assert await slot.refresh(world.store) is False
    # A run that embeds nothing still indexes the new model's 40, and does not fail.
    switch_embedder(world, CountingEmbedder(32, fail_after=0), batch_size=20)
    idle = await world.content.run()
    assert (idle.embedded, idle.failed) == (0, 60)
    assert len(world.writer) == 40

    switch_embedder(world, CountingEmbedder(32), batch_size=20)
    mended = await world.content.run()
    assert (mended.embedded, mended.failed) == (60, 0)
    assert len(world.writer) == 100
    assert await reader.refresh(world.store) is True
    assert len(reader) == 100
    assert await slot.refresh(world.store) is True
    assert len(slot) == 100


def test_kinds_are_file_name_stems(tmp_path: Path) -> None:
    """A kind that is not a plain file-name stem is refused (it names files)."""
    with pytest.raises(ValueError, match="plain file-name stem"):
        PublishedIndex(IndexSlot, tmp_path, kind="../escape")


def test_kind_names_change_with_build_parameters() -> None:
    """The kind's name follows the parameters its files depend on, not the query ones."""
    base = index_kind(VectorConfig(backend="exact"))
    assert base.name.startswith("exact-")
    if importlib.util.find_spec("annoy"):
        annoy = index_kind(VectorConfig(backend="annoy"))
        assert annoy.name != index_kind(VectorConfig(backend="annoy", annoy_trees=7)).name
        assert annoy.name == index_kind(VectorConfig(backend="annoy", annoy_search_k=9)).name
