"""attrs converters shared by domain values: what comes from outside is made exact on entry.

A value is normalized once, when it is built, so that every copy of it (stored, read back,
sent) is the same value: an int in a float field becomes a float, so the content hash does
not move on a round trip; text is made valid Unicode, so every body encodes as UTF-8.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "integral",
    "optional_integral",
    "optional_valid_text",
    "valid_text",
    "valid_texts",
]


def valid_text(text: str) -> str:
    r"""``text`` as valid Unicode: each lone surrogate becomes U+FFFD.

    Python strings may hold surrogate code points (from ``surrogateescape`` decoding, a
    JSON ``\ud800`` escape, a careless C extension) that no UTF-8 encoder accepts. A
    well-formed surrogate pair becomes the character it encodes; a lone surrogate becomes
    the replacement character. Valid text comes back unchanged (the same object).

    Args:
        text: Any string.

    Returns:
        A string that ``str.encode("utf-8")`` always accepts.
    """
    try:
        text.encode()
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def optional_valid_text(text: str | None) -> str | None:
    """Like `valid_text`, for fields where ``None`` means none."""
    return None if text is None else valid_text(text)


def valid_texts(texts: Iterable[str]) -> tuple[str, ...]:
    """A tuple of `valid_text` strings."""
    return tuple(valid_text(text) for text in texts)


def integral(value: float) -> float:
    """An integral float as an int (``12.0`` -> ``12``); anything else unchanged.

    Pair it with the ``whole`` validator, which refuses what is still not an int.
    """
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def optional_integral(value: float | None) -> float | None:
    """Like `integral`, for fields where ``None`` means unknown."""
    return None if value is None else integral(value)

