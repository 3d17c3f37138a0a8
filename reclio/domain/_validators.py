"""attrs validators shared by domain values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs


def aware(_inst: object, attribute: attrs.Attribute[datetime], value: datetime) -> None:
    """Refuse naive datetimes: reclio compares instants, never local wall-clock times."""
    if value.tzinfo is None or value.utcoffset() is None:
        msg = f"{attribute.name} must be timezone-aware (UTC), got naive {value!r}"
        raise ValueError(msg)


def optional_aware(
    inst: object, attribute: attrs.Attribute[datetime | None], value: datetime | None
) -> None:
    """Like `aware`, for fields where ``None`` means "never"."""
    if value is not None:
        aware(inst, attribute, value)  # type: ignore[arg-type]


def positive_list_id(inst: object, attribute: attrs.Attribute[int], value: int) -> None:
    """Refuse list ids below 1: ChillLink would point the app at ``{"id": 0}``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        msg = (
            f"{type(inst).__name__}.{attribute.name} must be a positive list id (a whole"
            f" number from 1, as the sink assigns them), got {value!r}"
        )
        raise ValueError(msg)


def named(inst: object, attribute: attrs.Attribute[str], value: str) -> None:
    """Refuse blank names: a row would read "Because You Watched "."""
    if not value.strip():
        msg = (
            f"{type(inst).__name__}.{attribute.name} must name the title (text that is not"
            f" blank), got {value!r}"
        )
        raise ValueError(msg)


def whole(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Refuse anything but an int (after the ``integral`` converter); ``None`` passes (unknown)."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return
    msg = f"{type(inst).__name__}.{attribute.name} must be a whole number, got {value!r}"
    raise ValueError(msg)
