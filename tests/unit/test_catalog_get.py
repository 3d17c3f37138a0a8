"""`reclio catalog get` logic (run_catalog_get) on the in-memory catalog and store."""

from __future__ import annotations

import json

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reclio.adapters.memory import InMemoryCatalogSource, InMemoryStateStore
from reclio.cli._catalog import PROPERTY_NAMES, run_catalog_get
from reclio.domain import CatalogRecord, Genre, ItemRef, Title
from reclio.testing.strategies import titles

FIGHT_CLUB = Title(
    ref=ItemRef.movie(550),
    title="Fight Club",
    overview="An insomniac and a soap salesman.",
    genres=[Genre(18, "Drama"), Genre(53, "Thriller")],
    year=1999,
    vote_average=8.4,
    vote_count=26280,
    popularity=61.4,
    cast=["Edward Norton", "Brad Pitt"],
    director="David Fincher",
)
DESIGN_PROPERTIES = {
    "title",
    "overview",
    "genres",
    "year",
    "vote_average",
    "popularity",
    "media_type",
    "cast",
    "director",
}


@pytest.mark.anyio
async def test_a_stored_title_prints_its_nine_properties():
    """Text output: item_id and the nine properties, one per line."""
    store = InMemoryStateStore()
    await store.put_titles([CatalogRecord.of(FIGHT_CLUB)])

    text, code = await run_catalog_get("movie_550", source=InMemoryCatalogSource(), store=store)

    assert code == 0
    lines = text.splitlines()
    assert [line.split()[0] for line in lines] == ["item_id", *PROPERTY_NAMES]
    assert "genres        Drama, Thriller" in text
    assert "director      David Fincher" in text


@pytest.mark.anyio
async def test_json_keys_are_exactly_the_design_properties_and_item_id():
    """--json prints one object: item_id plus the nine DESIGN section 3 names."""
    store = InMemoryStateStore()
    await store.put_titles([CatalogRecord.of(FIGHT_CLUB)])

    text, code = await run_catalog_get(
        "movie_550", source=InMemoryCatalogSource(), store=store, as_json=True
    )

    data = json.loads(text)
    assert code == 0
    assert set(data) == DESIGN_PROPERTIES | {"item_id"}
    assert set(PROPERTY_NAMES) == DESIGN_PROPERTIES
    assert data["item_id"] == "movie_550"
    assert data["media_type"] == "movie"
    assert data["genres"] == ["Drama", "Thriller"]
    assert data["cast"] == ["Edward Norton", "Brad Pitt"]
    assert data["year"] == 1999


@pytest.mark.anyio
async def test_an_unknown_title_exits_1_with_one_line():
    """A title neither stored nor (with --refresh) in the source: exit 1, one line."""
    for refresh in (False, True):
        text, code = await run_catalog_get(
            "tv_1399", source=InMemoryCatalogSource(), store=InMemoryStateStore(), refresh=refresh
        )
        assert code == 1
        assert "tv_1399" in text
        assert "\n" not in text


@pytest.mark.anyio
async def test_a_malformed_item_id_exits_2_naming_the_form():
    """Something that is not an item id: exit 2, the expected form in one line."""
    text, code = await run_catalog_get(
        "603", source=InMemoryCatalogSource(), store=InMemoryStateStore()
    )
    assert code == 2
    assert "movie_603" in text


@pytest.mark.anyio
async def test_refresh_fetches_and_stores_as_content_sync_would():
    """--refresh stores the fetched title with its content hash, keeping confirmed hashes."""
    store = InMemoryStateStore()
    old = attrs.evolve(FIGHT_CLUB, popularity=1.0)
    pushed = CatalogRecord(old, old.content_hash(), old.content_hash(), old.text_hash("model"))
    await store.put_titles([pushed])
    source = InMemoryCatalogSource([FIGHT_CLUB])

    text, code = await run_catalog_get("movie_550", source=source, store=store, refresh=True)

    assert code == 0
    assert "61.4" in text
    (record,) = await store.get_titles([ItemRef.movie(550)])
    assert record.title == FIGHT_CLUB
    assert record.content_hash == FIGHT_CLUB.content_hash()
    assert record.synced_hash == old.content_hash()  # still needs a push
    assert record.needs_push
    assert record.embedded_hash == old.text_hash("model")  # same text: no new embedding needed


@pytest.mark.anyio
async def test_refresh_of_a_new_title_creates_its_record():
    """--refresh of a title never stored creates a fresh record (not pushed, not embedded)."""
    store = InMemoryStateStore()

    _, code = await run_catalog_get(
        "movie_550", source=InMemoryCatalogSource([FIGHT_CLUB]), store=store, refresh=True
    )

    assert code == 0
    assert await store.get_titles([ItemRef.movie(550)]) == [CatalogRecord.of(FIGHT_CLUB)]


@given(titles(), titles(), st.none() | st.text(max_size=8), st.none() | st.text(max_size=8))
def test_updated_keeps_confirmed_hashes_and_is_identity_when_unchanged(a, b, synced, embedded):
    """CatalogRecord.updated: the same record for the same title, else the new hash, old marks."""
    b = attrs.evolve(b, ref=a.ref)
    record = CatalogRecord(a, a.content_hash(), synced, embedded)

    assert record.updated(a) is record
    fresh = record.updated(b)
    assert fresh.title == (b if b.content_hash() != a.content_hash() else a)
    assert fresh.content_hash == b.content_hash()
    assert (fresh.synced_hash, fresh.embedded_hash) == (synced, embedded)
