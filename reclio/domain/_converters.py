"""attrs converters shared by domain values: what comes from outside is made exact on entry.

A value is normalized once, when it is built, so that every copy of it (stored, read back,
sent) is the same value: an int in a float field becomes a float, so the content hash does
not move on a round trip.
"""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["integral", "optional_integral", "whole"]


def integral(value: float) -> float:
    """An integral float as an int (``12.0`` -> ``12``); anything else unchanged.

    Pair it with the `whole` validator, which refuses what is still not an int.
    """
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def optional_integral(value: float | None) -> float | None:
    """Like `integral`, for fields where ``None`` means unknown."""
    return None if value is None else integral(value)


def whole(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Refuse anything but an int (after `integral`); ``None`` passes (unknown)."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return
    msg = f"{type(inst).__name__}.{attribute.name} must be a whole number, got {value!r}"
    raise ValueError(msg)
