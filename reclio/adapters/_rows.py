"""How every SQL state store encodes reclio's values in rows, and reads them back.

SQLite and PostgreSQL keep the same things the same way: documents (``UserState``,
``Title``) as reclio's compact JSON, vectors as little-endian float32 bytes, histories as one
row per (kind, title), and a row that no longer makes a domain value is a `DecodeError`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Final, TypeVar

import cattrs

from reclio.domain import (
    Interaction,
    InteractionKind,
    ItemRef,
    MediaType,
    Rating,
    UserHistory,
    Vector,
)
from reclio.errors import DecodeError

__all__ = [
    "KINDS",
    "KIND_BOOKMARK",
    "KIND_RATING",
    "KIND_VIEW",
    "HistoryKey",
    "decode_document",
    "decoding",
    "float32_bytes",
    "float32_vector",
    "history_from_rows",
    "history_rows",
    "interaction_from_row",
    "json_text",
]

_T = TypeVar("_T")
_V = TypeVar("_V")

KIND_VIEW: Final = 0
KIND_RATING: Final = 1
KIND_BOOKMARK: Final = 2
"""``history.kind``: numbered in the order `UserHistory.interactions` lists them."""

KINDS: Final = {
    KIND_VIEW: InteractionKind.VIEW,
    KIND_RATING: InteractionKind.RATING,
    KIND_BOOKMARK: InteractionKind.BOOKMARK,
}


def float32_bytes(vector: Vector) -> bytes:
    """A 1-D vector as little-endian float32 bytes.

    Raises:
        ValueError: the array is not one-dimensional.
    """
    import numpy as np  # noqa: PLC0415 - NumPy only for stores that hold vectors

    row = np.asarray(vector, dtype="<f4")
    if row.ndim != 1:
        msg = f"a stored vector is one-dimensional, got shape {row.shape}"
        raise ValueError(msg)
    return row.tobytes()


def float32_vector(blob: bytes) -> Vector:
    """The stored bytes as a fresh, writable, native-endian float32 vector."""
    import numpy as np  # noqa: PLC0415 - NumPy only for stores that hold vectors

    # astype copies: the caller gets a writable, native-endian array of its own.
    return np.frombuffer(blob, dtype="<f4").astype(np.float32)


def json_text(value: object) -> str:
    """Compact JSON; non-ASCII (NUL included) escaped, so any SQL text column holds it."""
    return json.dumps(value, separators=(",", ":"))


def decode_document(
    doc: str,
    hook: Callable[[Any, Any], _T],
    type_: type[_T],
    *,
    service: str,
    operation: str,
) -> _T:
    """A stored JSON document as a ``type_``, through the converter's structure ``hook``.

    Raises:
        DecodeError: the text is not JSON, not an object, or not a valid ``type_``.
    """
    try:
        data = json.loads(doc)
        if not isinstance(data, dict):
            msg = f"expected a JSON object, got {type(data).__name__}"
            raise TypeError(msg)  # noqa: TRY301 - one handler turns every shape error into DecodeError
        return hook(data, type_)
    except (ValueError, TypeError, KeyError, RecursionError, cattrs.BaseValidationError) as exc:
        errors = (
            cattrs.transform_error(exc)
            if isinstance(exc, cattrs.BaseValidationError)
            else [str(exc)]
        )
        msg = f"a stored {type_.__name__} does not decode"
        raise DecodeError(msg, service=service, operation=operation, errors=errors) from exc


@contextmanager
def decoding(service: str, operation: str, what: str) -> Iterator[None]:
    """Rows that no longer make domain values (bad ids, instants, values) are a DecodeError."""
    try:
        yield
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        msg = f"a stored {what} does not decode"
        raise DecodeError(msg, service=service, operation=operation, errors=[str(exc)]) from exc


HistoryKey = tuple[int, str, int]
"""(kind, media type, tmdb id): one history row of a user."""


def history_rows(
    history: UserHistory, instant: Callable[[datetime], _V]
) -> dict[HistoryKey, tuple[_V, float | None]]:
    """The stored rows of a history: (kind, media, tmdb id) -> (stored instant, value)."""
    rows: dict[HistoryKey, tuple[_V, float | None]] = {}
    for ref, at in history.views.items():
        rows[KIND_VIEW, ref.media_type.value, ref.tmdb_id] = (instant(at), None)
    for ref, rating in history.ratings.items():
        rows[KIND_RATING, ref.media_type.value, ref.tmdb_id] = (instant(rating.at), rating.value)
    for ref, at in history.bookmarks.items():
        rows[KIND_BOOKMARK, ref.media_type.value, ref.tmdb_id] = (instant(at), None)
    return rows


def history_from_rows(
    rows: Iterable[Sequence[Any]],
    instant: Callable[[Any], datetime],
    *,
    service: str,
    operation: str,
) -> UserHistory:
    """A history from its ``(kind, media, tmdb id, at, value)`` rows (``kind`` None: skip).

    Raises:
        DecodeError: a row does not make a history entry.
    """
    views: dict[ItemRef, datetime] = {}
    ratings: dict[ItemRef, Rating] = {}
    bookmarks: dict[ItemRef, datetime] = {}
    with decoding(service, operation, "history row"):
        for kind, media, tmdb_id, at, value in rows:
            if kind is None:  # a LEFT JOIN's row for a saved, empty history
                continue
            ref = ItemRef(MediaType(media), tmdb_id)
            if kind == KIND_VIEW:
                views[ref] = instant(at)
            elif kind == KIND_RATING:
                ratings[ref] = Rating(value, instant(at))
            else:
                bookmarks[ref] = instant(at)
    return UserHistory(views, ratings, bookmarks)


def interaction_from_row(
    user_id: str, row: Sequence[Any], instant: Callable[[Any], datetime]
) -> Interaction:
    """One interaction from a ``(kind, media, tmdb id, at, value)`` history row."""
    kind, media, tmdb_id, at, value = row
    return Interaction(user_id, ItemRef(MediaType(media), tmdb_id), KINDS[kind], instant(at), value)
