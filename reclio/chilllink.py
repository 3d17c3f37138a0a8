"""The ChillLink wire format: ``/feeds`` bodies and the addon manifest, as Chillio reads them.

A feed serializes to ``{"id", "title", "source", "source_metadata", "content_type"}`` where
``source`` is ``"trakt_list"`` (metadata ``{"id": <list id>}``) or ``"tmdb_query"`` (metadata
``{"path": ..., "parameters": ...}``). Provenance and the response's notes stay out of the
body (``dumps(..., explain=True)`` adds them, for debugging).

Example:
    >>> from reclio import FeedsResponse, Feed, ContentType, TraktListSource
    >>> body = FeedsResponse([Feed("recommended_movies", "Recommended For You",
    ...                            TraktListSource(42), ContentType.MOVIES)])
    >>> feed = to_dict(body)["feeds"][0]
    >>> feed["source"], feed["source_metadata"], feed["content_type"]
    ('trakt_list', {'id': 42}, 'movies')
    >>> loads(dumps(body)) == body
    True
"""

from __future__ import annotations

import json
from typing import Any, Final

import cattrs

from reclio.domain import (
    ContentType,
    Feed,
    FeedSource,
    FeedsResponse,
    TmdbQuerySource,
    TraktListSource,
)

__all__ = ["dumps", "from_dict", "loads", "make_converter", "manifest", "to_dict"]

_TRAKT_LIST: Final = "trakt_list"
_TMDB_QUERY: Final = "tmdb_query"


def _unstructure_feed(feed: Feed) -> dict[str, Any]:
    source = feed.source
    metadata: dict[str, Any]
    if isinstance(source, TraktListSource):
        kind, metadata = _TRAKT_LIST, {"id": source.list_id}
    else:
        kind, metadata = _TMDB_QUERY, {"path": source.path, "parameters": source.parameters}
    return {
        "id": feed.id,
        "title": feed.title,
        "source": kind,
        "source_metadata": metadata,
        "content_type": feed.content_type.value,
    }


def _structure_feed(data: Any, _cls: type[Feed]) -> Feed:  # noqa: ANN401 - cattrs hook signature
    metadata = data["source_metadata"]
    source: FeedSource
    if data["source"] == _TRAKT_LIST:
        source = TraktListSource(int(metadata["id"]))
    elif data["source"] == _TMDB_QUERY:
        source = TmdbQuerySource(str(metadata["path"]), str(metadata.get("parameters", "")))
    else:
        msg = f"unknown ChillLink source {data['source']!r}; expected 'trakt_list' or 'tmdb_query'"
        raise ValueError(msg)
    return Feed(str(data["id"]), str(data["title"]), source, ContentType(data["content_type"]))


def make_converter() -> cattrs.Converter:
    """A converter for ChillLink bodies (one per caller; there is no global converter)."""
    converter = cattrs.Converter()
    converter.register_unstructure_hook(Feed, _unstructure_feed)
    converter.register_structure_hook(Feed, _structure_feed)
    converter.register_unstructure_hook(
        FeedsResponse, lambda r: {"feeds": [_unstructure_feed(f) for f in r.feeds]}
    )
    converter.register_structure_hook(
        FeedsResponse,
        lambda d, _: FeedsResponse(tuple(_structure_feed(f, Feed) for f in d["feeds"])),
    )
    return converter


_CONVERTER: Final = make_converter()


def to_dict(response: FeedsResponse) -> dict[str, Any]:
    """The ChillLink body as plain JSON-ready data."""
    return _CONVERTER.unstructure(response)  # type: ignore[no-any-return]


def dumps(response: FeedsResponse, *, explain: bool = False) -> str:
    """The ChillLink body as compact JSON text.

    Args:
        response: The feeds.
        explain: Add each feed's provenance as ``"provenance": [{link, outcome, detail}]``
            and the response's notes as a top-level ``"notes": [...]`` (extra keys the app
            ignores; for debugging).
    """
    body = to_dict(response)
    if explain:
        body["notes"] = list(response.notes)
        for feed, data in zip(response.feeds, body["feeds"], strict=True):
            data["provenance"] = [
                {"link": a.link, "outcome": a.outcome.value, "detail": a.detail}
                for a in feed.provenance
            ]
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def from_dict(data: Any) -> FeedsResponse:  # noqa: ANN401 - accepts decoded JSON of any shape
    """Read a ChillLink body (provenance and notes are not on the wire: they come back empty).

    Raises:
        ValueError: the data is not a ChillLink ``/feeds`` body.
    """
    try:
        return _CONVERTER.structure(data, FeedsResponse)
    except (KeyError, TypeError, ValueError, cattrs.BaseValidationError) as exc:
        msg = f"not a ChillLink /feeds body: {exc!r}"
        raise ValueError(msg) from exc


def loads(text: str) -> FeedsResponse:
    """Read a ChillLink body from JSON text.

    Raises:
        ValueError: the text is not a ChillLink ``/feeds`` body.
    """
    return from_dict(json.loads(text))


def manifest(
    *,
    addon_id: str = "reclio-recommendations",
    name: str = "Reclio",
    description: str = "Personalized recommendations from your Trakt history",
) -> dict[str, Any]:
    """The ChillLink ``/manifest`` body for an addon serving ``/feeds``."""
    return {
        "id": addon_id,
        "version": "1.0.0",
        "name": name,
        "description": description,
        "supported_endpoints": {"feeds": "/feeds", "streams": None},
    }
