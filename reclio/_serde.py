"""reclio's own JSON format for the state it stores: users, catalog titles.

One converter factory, `make_state_converter`, shared by every state store and by the
round-trip tests, so a user written by one store reads back identically in another. The
format is reclio's: an `ItemRef` is its item id (``"movie_603"``), an
instant is an ISO-8601 string with its UTC offset, enums are their values, sets are sorted
lists. Unknown keys are ignored when reading, so a worker one minor version behind can still
read a document written by a newer one during a rolling upgrade.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import cattrs
from cattrs.preconf.json import make_converter

from reclio._clock import require_aware
from reclio.domain import ItemRef

__all__ = ["make_state_converter"]


def _unstructure_datetime(value: datetime) -> str:
    return require_aware(value, "a stored instant").isoformat()


def _structure_datetime(value: Any, _type: type) -> datetime:  # noqa: ANN401 - cattrs hook signature
    if not isinstance(value, str):
        msg = f"an instant is stored as an ISO-8601 string, got {value!r}"
        raise TypeError(msg)
    return require_aware(datetime.fromisoformat(value), "a stored instant")


def _structure_ref(value: Any, _type: type) -> ItemRef:  # noqa: ANN401 - cattrs hook signature
    if not isinstance(value, str):
        msg = f"an item is stored as its id, e.g. 'movie_603', got {value!r}"
        raise TypeError(msg)
    return ItemRef.parse(value)


def _structure_optional_datetime(value: Any, _type: object) -> datetime | None:  # noqa: ANN401 - cattrs hook signature
    return None if value is None else _structure_datetime(value, datetime)


def _structure_optional_ref(value: Any, _type: object) -> ItemRef | None:  # noqa: ANN401 - cattrs hook signature
    return None if value is None else _structure_ref(value, ItemRef)


def _sorted_list(value: frozenset[Any]) -> list[Any]:
    return sorted(value)


def make_state_converter() -> cattrs.Converter:
    """A fresh converter for reclio's stored JSON documents.

    Use ``converter.unstructure(state)`` then `json.dumps`, and ``json.loads`` then
    ``converter.structure(obj, UserState)``. Writing a naive datetime raises ``ValueError``.

    Returns:
        A new converter; each caller owns its own (never a global one).
    """
    converter = make_converter()
    converter.register_unstructure_hook(datetime, _unstructure_datetime)
    converter.register_structure_hook(datetime, _structure_datetime)
    converter.register_unstructure_hook(ItemRef, _item_id)
    converter.register_structure_hook(ItemRef, _structure_ref)
    # Direct hooks for the optional fields skip cattrs' generic union dispatch: get_user is
    # on the feeds hot path, and a user document holds a dozen of them.
    converter.register_structure_hook(datetime | None, _structure_optional_datetime)
    converter.register_structure_hook(ItemRef | None, _structure_optional_ref)
    # Sorted so equal states always produce byte-identical documents.
    converter.register_unstructure_hook_func(_is_frozenset, _sorted_list)
    return converter


def _item_id(ref: ItemRef) -> str:
    return ref.item_id


def _is_frozenset(type_: Any) -> bool:  # noqa: ANN401 - any type annotation may be asked about
    origin: Callable[..., object] | None = getattr(type_, "__origin__", None)
    return type_ is frozenset or origin is frozenset
