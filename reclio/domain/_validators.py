"""attrs validators shared by domain values."""

from __future__ import annotations

from datetime import datetime

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
