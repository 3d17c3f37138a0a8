"""Recombee's side of the wire: the item-properties schema, values, and answer shapes.

Answers are decoded with a private cattrs converter into the frozen types below.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, TypeVar

import attrs
import cattrs
from cattrs.preconf.json import make_converter as make_json_converter

from reclio.adapters.recombee._sdk import SERVICE
from reclio.domain import Title
from reclio.errors import DecodeError

__all__ = [
    "SCHEMA",
    "BatchAnswer",
    "PropertyInfo",
    "Recommendations",
    "decode",
    "item_values",
    "make_converter",
]

T = TypeVar("T")

SCHEMA: Final[Mapping[str, str]] = {
    "title": "string",
    "overview": "string",
    "genres": "set",
    "year": "int",
    "vote_average": "double",
    "popularity": "double",
    "media_type": "string",
    "cast": "set",
    "director": "string",
}
"""The nine catalog properties of every item (DESIGN section 3), name to Recombee type."""


def item_values(title: Title) -> dict[str, object]:
    """The property values of ``title``, exactly the nine of `SCHEMA`."""
    return {
        "title": title.title,
        "overview": title.overview,
        "genres": sorted(title.genre_names),
        "year": title.year,
        "vote_average": float(title.vote_average),
        "popularity": float(title.popularity),
        "media_type": title.media_type.value,
        "cast": list(title.cast),
        "director": title.director,
    }


@attrs.frozen
class PropertyInfo:
    """One entry of ``ListItemProperties``."""

    name: str
    type: str


@attrs.frozen
class BatchAnswer:
    """One member's outcome in a ``Batch`` answer: its HTTP code and body."""

    code: int
    json: Any = None

    @property
    def message(self) -> str:
        """Recombee's ``message`` for a failed member, or the body as text."""
        if isinstance(self.json, dict) and "message" in self.json:
            return str(self.json["message"])[:300]
        return str(self.json)[:300]

    def reason(self) -> str:
        """``HTTP 400: <message>``: why a member failed, for a `WriteResult`."""
        return f"HTTP {self.code}: {self.message}"


@attrs.frozen
class Recomm:
    """One recommended item."""

    id: str


@attrs.frozen
class Recommendations:
    """The answer of ``RecommendItemsToUser`` and ``RecommendItemsToItem``."""

    recomms: list[Recomm]
    recomm_id: str = ""


def make_converter() -> cattrs.Converter:
    """The converter for Recombee's answers; extra keys are ignored (Recombee adds fields)."""
    converter = make_json_converter(forbid_extra_keys=False)
    converter.register_structure_hook(
        Recommendations,
        cattrs.gen.make_dict_structure_fn(
            Recommendations,
            converter,
            recomm_id=cattrs.gen.override(rename="recommId"),
        ),
    )
    return converter


def decode(converter: cattrs.Converter, data: object, type_: type[T], *, operation: str) -> T:
    """Structure ``data`` as ``type_``.

    Raises:
        DecodeError: it does not fit, one line per mismatch.
    """
    try:
        return converter.structure(data, type_)
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as exc:
        errors = (
            cattrs.transform_error(exc)
            if isinstance(exc, cattrs.BaseValidationError)
            else [str(exc)]
        )
        msg = f"Recombee's answer to {operation} does not have the expected shape"
        raise DecodeError(msg, service=SERVICE, operation=operation, errors=errors) from exc
