"""Every domain value survives reclio's stored JSON format unchanged."""

from __future__ import annotations

import json

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reclio._serde import make_state_converter
from reclio.domain import (
    ActivityStamp,
    Anchor,
    CatalogRecord,
    Feed,
    Interaction,
    ItemRef,
    ManagedList,
    PlaybackProgress,
    Preferences,
    TasteProfile,
    Title,
    UserState,
    WriteResult,
)
from reclio.testing import strategies as rst

CONVERTER = make_state_converter()

CASES: list[tuple[type, st.SearchStrategy[object]]] = [
    (ItemRef, rst.item_refs()),
    (Title, rst.titles()),
    (CatalogRecord, st.builds(CatalogRecord.of, rst.titles())),
    (Interaction, rst.interactions()),
    (PlaybackProgress, rst.playback()),
    (ActivityStamp, rst.activity_stamps()),
    (Preferences, rst.preferences()),
    (TasteProfile, rst.taste_profiles()),
    (Anchor, rst.anchors()),
    (ManagedList, rst.managed_lists()),
    (UserState, rst.user_states()),
    (Feed, rst.feeds()),
    (WriteResult[ItemRef], st.builds(WriteResult.all_ok, st.lists(rst.item_refs()))),
]


@pytest.mark.parametrize(("cls", "strategy"), CASES, ids=lambda c: getattr(c, "__name__", ""))
@given(data=st.data())
def test_json_round_trip(
    cls: type, strategy: st.SearchStrategy[object], data: st.DataObject
) -> None:
    """structure(json(unstructure(v))) == v for every value a store keeps."""
    value = data.draw(strategy)
    text = json.dumps(CONVERTER.unstructure(value, unstructure_as=cls))
    assert CONVERTER.structure(json.loads(text), cls) == value


# Numbers as callers pass them: an int where a float is stored, an integral float for an int.
_LOOSE_NUMBERS: dict[str, st.SearchStrategy[object]] = {
    "vote_average": st.integers(0, 10),
    "popularity": st.integers(0, 10**5),
    "vote_count": st.integers(0, 10**7).map(float),
    "year": st.none() | st.integers(1880, 2040).map(float),
    "runtime": st.none() | st.integers(1, 1000).map(float),
}


@given(rst.titles(), st.data())
def test_stored_title_rehashes_to_its_stored_hash(title: Title, data: st.DataObject) -> None:
    """A title rebuilt from its stored form has the content hash it was stored with.

    Content sync skips titles whose hash did not change, so a hash that moves on a round
    trip (``99`` stored, ``99.0`` read back) would push every title again on every run.
    """
    loose = {name: data.draw(numbers, label=name) for name, numbers in _LOOSE_NUMBERS.items()}
    record = CatalogRecord.of(attrs.evolve(title, **loose))
    text = json.dumps(CONVERTER.unstructure(record))
    stored = CONVERTER.structure(json.loads(text), CatalogRecord)
    assert stored.title.content_hash() == record.content_hash
    assert stored == record
