"""What every VectorIndex adapter shares: input checks, the filtered search, index files.

One place for the rules the contract suite holds every index to (a ref given twice keeps its
last vector, one dimension per index, zero queries find nothing, ties break by ref), for the
over-fetch loop that keeps ``media_type`` and ``exclude`` filters from starving ``k``, and
for writing files so a reader never sees half of one (a temporary file, then a rename).
"""

from __future__ import annotations

import hashlib
import math
import os
import uuid
import zipfile
from collections.abc import Callable, Collection, Container, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from reclio.domain import ItemRef, MediaType, Vector
from reclio.errors import DecodeError, SourceUnavailable

MEDIA_CODES: Final = {MediaType.MOVIE: 0, MediaType.TV: 1}
MEDIA_BY_CODE: Final = {code: media for media, code in MEDIA_CODES.items()}

Hits = tuple[Sequence[int], Sequence[float]]
"""Labels (row numbers or ids) and cosine similarities from one search, best first."""


def collect(items: Iterable[tuple[ItemRef, Vector]]) -> tuple[list[ItemRef], Vector]:
    """Sorted refs and their L2-normalized rows (a zero vector stays zero).

    Sorting makes the result independent of the input order, so equal inputs give equal
    index files. A ref given twice keeps its last vector.

    Raises:
        ValueError: vectors of different dimensions.
    """
    rows: dict[ItemRef, npt.NDArray[np.float32]] = {}
    for ref, vector in items:
        rows[ref] = np.asarray(vector, dtype=np.float32).reshape(-1)
    dimensions = sorted({row.shape[0] for row in rows.values()})
    if len(dimensions) > 1:
        msg = (
            f"all vectors must have one dimension, got {dimensions}: vectors from two"
            " embedders are mixed; embed every title again with one embedder"
        )
        raise ValueError(msg)
    refs = sorted(rows)
    if not refs:
        return [], np.zeros((0, 0), dtype=np.float32)
    return refs, normalized(np.stack([rows[ref] for ref in refs]))


def normalized(matrix: Vector) -> Vector:
    """Rows scaled to unit length; zero rows stay zero."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    unit: Vector = (matrix / norms).astype(np.float32)
    return unit


def unit_query(query: Vector, dimension: int) -> Vector | None:
    """The query as a unit float32 row; ``None`` for a zero vector.

    Raises:
        ValueError: the query's dimension is not the index's.
    """
    raw = np.asarray(query, dtype=np.float32).reshape(-1)
    if raw.shape[0] != dimension:
        msg = (
            f"query has dimension {raw.shape[0]} but the index holds {dimension}-dimensional"
            " vectors: the index was built with another embedder; rebuild it (content sync)"
        )
        raise ValueError(msg)
    norm = float(np.linalg.norm(raw))
    if norm == 0.0 or not math.isfinite(norm):
        return None
    unit: Vector = raw / np.float32(norm)
    return unit


def approximate_nearest(
    query: ItemRef | Vector,
    *,
    k: int,
    media_type: MediaType | None,
    exclude: Collection[ItemRef],
    stored: Callable[[ItemRef], Vector | None],
    holds: Container[ItemRef],
    size: int,
    dimension: int,
    search: Callable[[Vector, int], Hits],
    decode: Callable[[int], ItemRef],
    overfetch: float,
) -> list[tuple[ItemRef, float]]:
    """`VectorIndex.nearest` over an approximate search that cannot filter.

    A query by ref uses the ref's stored vector and never returns the ref. The search is
    asked for ``k`` hits plus one per excluded ref the index holds, times ``overfetch``
    when a media type is asked for (how many hits it removes is not known in advance);
    excluded refs and other media types are dropped, and the search is asked again for
    four times as many until ``k`` pass or the whole index was asked for. Ties break by
    ref, as in the exact index.

    Args:
        query: A ref or a vector.
        k: How many hits at most.
        media_type: Keep only this type, when given.
        exclude: Never return these.
        stored: The stored vector of a ref (``None`` if the index does not hold it).
        holds: The refs the index holds.
        size: How many items the index holds.
        dimension: Length of its vectors.
        search: Runs one search of a unit vector for ``n`` hits, best first.
        decode: The ref of a label ``search`` returned.
        overfetch: Hits asked for per hit wanted under a media-type filter (at least 1).

    Raises:
        ValueError: a query vector of the wrong dimension.
    """
    if k < 1 or size == 0:
        return []
    if isinstance(query, ItemRef):
        raw = stored(query)
        vector = None if raw is None else unit_query(raw, dimension)
        exclude = {*exclude, query}
    else:
        vector = unit_query(query, dimension)
    if vector is None:
        return []
    if not isinstance(exclude, set | frozenset):
        exclude = set(exclude)
    held = sum(1 for ref in exclude if ref in holds)
    factor = 1.0 if media_type is None else max(overfetch, 1.0)
    wanted = min(size, math.ceil((k + held) * factor))
    while True:
        labels, scores = search(vector, wanted)
        passed = [
            (ref, float(score))
            for ref, score in zip(map(decode, labels), scores, strict=True)
            if ref not in exclude and (media_type is None or ref.media_type is media_type)
        ]
        if len(passed) >= k or wanted >= size:
            break
        wanted = min(size, wanted * 4)
    passed.sort(key=lambda hit: (-hit[1], hit[0]))
    return passed[:k]


def media_codes(refs: Sequence[ItemRef]) -> npt.NDArray[np.uint8]:
    """The media code of every ref, for files."""
    return np.array([MEDIA_CODES[ref.media_type] for ref in refs], dtype=np.uint8)


def refs_from_codes(media: npt.NDArray[np.uint8], tmdb_ids: npt.NDArray[np.int64]) -> list[ItemRef]:
    """Refs back from `media_codes` and TMDB ids.

    Raises:
        ValueError: an unknown media code or an invalid TMDB id.
    """
    try:
        return [
            ItemRef(MEDIA_BY_CODE[int(code)], int(tmdb_id))
            for code, tmdb_id in zip(media.tolist(), tmdb_ids.tolist(), strict=True)
        ]
    except KeyError as exc:
        msg = f"unknown media code {exc}"
        raise ValueError(msg) from exc


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Have ``write`` fill a temporary file beside ``path``, then rename it onto ``path``.

    A reader opening ``path`` sees the old file or the new one, never a partial one; a
    reader that has the old file open (or memory-mapped) keeps reading it. The temporary
    file is removed when ``write`` fails.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        write(temporary)
        with temporary.open("rb+") as handle:
            os.fsync(handle.fileno())
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:  # some platforms cannot open a directory; the rename still happened
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


_SAMPLES: Final = 16
_BLOCK: Final = 1 << 16


def fingerprint(path: Path) -> str:
    """A cheap digest of a file: its size and 18 blocks spread over it (reads ~1 MiB).

    It ties a sidecar file to the index file it was written with, so a mix of two builds
    is caught at load time without reading a whole (memory-mapped) index.
    """
    size = path.stat().st_size
    digest = hashlib.blake2b(str(size).encode(), digest_size=16)
    with path.open("rb") as handle:
        offsets = {0, max(size - _BLOCK, 0)}
        offsets.update((size * i) // _SAMPLES for i in range(1, _SAMPLES))
        for offset in sorted(offsets):
            handle.seek(offset)
            digest.update(handle.read(_BLOCK))
    return digest.hexdigest()


@contextmanager
def translate(service: str, operation: str, path: Path) -> Iterator[None]:
    """The one place an index's file errors become reclio's.

    A missing or unreadable file is `SourceUnavailable`; a file that is not a valid index
    (``ValueError``, ``KeyError``, ``RuntimeError``, ``EOFError``, a bad zip) is
    `DecodeError`.
    """
    try:
        yield
    except FileNotFoundError as exc:
        msg = f"no index file at {path}: run content sync to publish one"
        raise SourceUnavailable(msg, service=service, operation=operation) from exc
    except OSError as exc:
        msg = f"{type(exc).__name__}: {exc} ({path})"
        raise SourceUnavailable(msg, service=service, operation=operation) from exc
    except (ValueError, KeyError, RuntimeError, EOFError, zipfile.BadZipFile) as exc:
        msg = f"{path} is not a {service} index this version of reclio reads: rebuild it"
        raise DecodeError(
            msg, service=service, operation=operation, errors=[f"{type(exc).__name__}: {exc}"]
        ) from exc
