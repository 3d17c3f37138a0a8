"""Every domain value survives reclio's stored JSON format unchanged."""

from __future__ import annotations

import json

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
