"""The ChillLink serializer: exact shape, and a lossless round trip."""

from __future__ import annotations

import json

import pytest
from hypothesis import given

from reclio import chilllink
from reclio.domain import ContentType, Feed, FeedsResponse, TmdbQuerySource, TraktListSource
from reclio.testing import strategies as rst


def test_exact_shape_of_both_sources() -> None:
    """Each feed has exactly the five ChillLink keys, with the right metadata per source."""
    body = FeedsResponse(
        [
            Feed("a", "A", TraktListSource(7), ContentType.MOVIES),
            Feed("b", "B", TmdbQuerySource("/discover/tv", "with_genres=18|35"), ContentType.ALL),
        ]
    )
    assert json.loads(chilllink.dumps(body)) == {
        "feeds": [
            {
                "id": "a",
                "title": "A",
                "source": "trakt_list",
                "source_metadata": {"id": 7},
                "content_type": "movies",
            },
            {
                "id": "b",
                "title": "B",
                "source": "tmdb_query",
                "source_metadata": {"path": "/discover/tv", "parameters": "with_genres=18|35"},
                "content_type": "all",
            },
        ]
    }


@given(rst.feeds_responses())
def test_round_trip(response: FeedsResponse) -> None:
    """Serializing then reading gives back the same feeds (provenance is not on the wire)."""
    assert chilllink.loads(chilllink.dumps(response)) == response


@given(rst.feeds_responses())
def test_provenance_never_reaches_the_wire(response: FeedsResponse) -> None:
    """Only the five ChillLink keys appear, whatever the provenance."""
    for feed in chilllink.to_dict(response)["feeds"]:
        assert set(feed) == {"id", "title", "source", "source_metadata", "content_type"}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"feeds": [{"id": "x"}]},
        {"feeds": [{"id": "x", "title": "X", "source": "rss", "source_metadata": {},
                    "content_type": "movies"}]},
        {"feeds": [{"id": "x", "title": "X", "source": "trakt_list", "source_metadata": {"id": 1},
                    "content_type": "books"}]},
        {"feeds": [{"id": "x", "title": "X", "source": "trakt_list", "source_metadata": {"id": 0},
                    "content_type": "movies"}]},
    ],
)
def test_malformed_bodies_raise_value_error(body: object) -> None:
    """Anything that is not a ChillLink body is a ValueError naming the problem."""
    with pytest.raises(ValueError, match="not a ChillLink"):
        chilllink.from_dict(body)


def test_manifest_points_at_feeds() -> None:
    """The manifest announces /feeds and no streams."""
    assert chilllink.manifest()["supported_endpoints"] == {"feeds": "/feeds", "streams": None}
