"""The strict JSON decoding every REST adapter shares: a cattrs converter and `decode`.

Wire types hold only the fields an adapter reads and ignore the rest (upstream adds
fields). Scalars are never coerced: ``"12"`` for an id or ``12.5`` for a count is a
`DecodeError` naming the field, not a value someone guessed.
"""

from __future__ import annotations

from typing import Any, TypeVar

import cattrs
from cattrs.preconf.json import make_converter as make_json_converter

from reclio.errors import DecodeError

__all__ = ["decode", "strict_converter"]

_T = TypeVar("_T")


def strict_converter() -> cattrs.Converter:
    """A JSON converter: unknown keys ignored, ``None`` only where typed, no coercion."""
    converter = make_json_converter(forbid_extra_keys=False)

    def structure_int(value: Any, _type: type) -> int:  # noqa: ANN401 - raw JSON
        # JSON numbers only: "12" or 12.5 for an id is nonsense, not something to coerce.
        if isinstance(value, bool) or not isinstance(value, int | float):
            msg = f"expected an integer, got {type(value).__name__} {value!r:.40}"
            raise TypeError(msg)
        if isinstance(value, float) and not value.is_integer():
            msg = f"expected an integer, got {value!r}"
            raise ValueError(msg)
        return int(value)

    def structure_float(value: Any, _type: type) -> float:  # noqa: ANN401 - raw JSON
        if isinstance(value, bool) or not isinstance(value, int | float):
            msg = f"expected a number, got {type(value).__name__} {value!r:.40}"
            raise TypeError(msg)
        return float(value)

    def structure_str(value: Any, _type: type) -> str:  # noqa: ANN401 - raw JSON
        if not isinstance(value, str):
            msg = f"expected a string, got {type(value).__name__} {value!r:.40}"
            raise TypeError(msg)
        return value

    def structure_bool(value: Any, _type: type) -> bool:  # noqa: ANN401 - raw JSON
        if not isinstance(value, bool):
            msg = f"expected true or false, got {type(value).__name__} {value!r:.40}"
            raise TypeError(msg)
        return value

    # bool is an int to Python: it needs its own hook, registered after int's.
    converter.register_structure_hook(int, structure_int)
    converter.register_structure_hook(bool, structure_bool)
    converter.register_structure_hook(float, structure_float)
    converter.register_structure_hook(str, structure_str)
    return converter


def decode(
    converter: cattrs.Converter,
    body: object,
    type_: type[_T],
    *,
    service: str,
    what: str,
    operation: str,
) -> _T:
    """Structure ``body`` as ``type_``; ``what`` names it in the message (``movie_603``).

    ``type_`` may be an attrs class (the body must be a JSON object) or a ``list[...]`` of
    one (the body must be an array).

    Raises:
        DecodeError: the body does not fit; ``errors`` name each field that does not.
    """
    wants_list = getattr(type_, "__origin__", None) is list
    expected = (list, "array") if wants_list else (dict, "object")
    if not isinstance(body, expected[0]):
        problem = f"expected a JSON {expected[1]}, got {type(body).__name__} @ $"
        msg = f"{what} does not decode: {problem}"
        raise DecodeError(msg, service=service, operation=operation, errors=[problem])
    try:
        return converter.structure(body, type_)
    except cattrs.BaseValidationError as exc:
        errors = cattrs.transform_error(exc)
        msg = f"{what} does not decode: {'; '.join(errors)[:300]}"
        raise DecodeError(msg, service=service, operation=operation, errors=errors) from exc
