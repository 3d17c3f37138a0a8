"""The order signal of the local engine: what people watch next, learned from timestamps.

A user's titles, ordered by time, give *pairs*: title ``a`` then title ``b``. Two kinds are
counted into one sparse title x title matrix ``T`` (row: the earlier title):

* **next** pairs, only across *distinct* timestamps: ``b`` came strictly after ``a``, at most
  ``window`` positions later, weighted ``1 / distance`` (the sequential rules of Ludewig and
  Jannach 2018). Titles sharing a timestamp have no order between them, so a position is a
  *mid-rank*: every title of a group of ``k`` equal timestamps sits at the middle of the
  ``k`` places the group takes. Nothing depends on how equal timestamps happen to be listed.
* **together** pairs: two titles at the same timestamp (a session saved at once), counted
  in both directions with ``session_weight``. Groups larger than ``max_session`` (a bulk
  import) say nothing about taste and are skipped.

Scoring a user reads the rows of their newest titles, weighted by how far back each sits;
``similar`` reads one row ("watched next after X"). The matrix keeps at most ``neighbors``
targets per title, so its memory is ``titles x neighbors`` whatever the catalog size.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = ["Timeline", "fit_order", "fit_transitions", "keep_top_per_row"]

_CHUNK = 4_000_000
"""Pairs collected before they are folded into the matrix (bounds peak memory)."""


class Timeline:
    """Interactions sorted by (user, time), with each one's mid-rank within its user.

    Attributes:
        users: User of each position.
        items: Title of each position.
        times: Timestamp of each position (any increasing unit).
        midrank: Place within the user's history, 0-based; equal timestamps share the
            middle of the places their group takes.
        group_size: How many of the user's titles share this timestamp.
    """

    def __init__(
        self,
        users: npt.NDArray[np.int64],
        items: npt.NDArray[np.int64],
        times: npt.NDArray[np.float64],
    ) -> None:
        # The item index only makes the sort deterministic: no result depends on it.
        order = np.lexsort((items, times, users))
        self.users = users[order]
        self.items = items[order]
        self.times = times[order]
        n = len(order)
        positions = np.arange(n, dtype=np.int64)
        new_user = np.ones(n, dtype=bool)
        new_user[1:] = self.users[1:] != self.users[:-1]
        new_group = new_user.copy()
        new_group[1:] |= self.times[1:] != self.times[:-1]
        group = np.cumsum(new_group) - 1
        group_start = np.flatnonzero(new_group)
        sizes = np.diff(np.append(group_start, n))
        user_start = np.maximum.accumulate(np.where(new_user, positions, 0))
        self.group_size = sizes[group]
        self.midrank = (group_start[group] - user_start) + (self.group_size - 1) / 2.0


def fit_transitions(
    line: Timeline,
    n_items: int,
    *,
    window: int,
    session_weight: float,
    max_session: int,
    neighbors: int | None,
) -> sp.csr_matrix:
    """Count next and together pairs into an ``n_items`` x ``n_items`` CSR matrix (float32).

    Args:
        line: One interaction per (user, title), sorted.
        n_items: Size of the title space.
        window: Largest mid-rank distance of a next pair.
        session_weight: Weight of a together pair (0: none).
        max_session: Largest group of equal timestamps that counts as a session.
        neighbors: Targets kept per title (the largest weights), ``None`` for all.
    """
    users, items, times, midrank = line.users, line.items, line.times, line.midrank
    n = len(users)
    total = sp.csr_matrix((n_items, n_items), dtype=np.float32)
    rows: list[npt.NDArray[np.int64]] = []
    cols: list[npt.NDArray[np.int64]] = []
    vals: list[npt.NDArray[np.float32]] = []
    pending = 0
    # A next pair at mid-rank distance <= window is at most 2 * window + 1 places apart
    # (both groups are then smaller than 2 * window + 2); a together pair is within a group.
    reach = max(2 * window + 1, max_session - 1 if session_weight > 0 else 0)
    for offset in range(1, min(reach, n - 1) + 1):
        first, second = slice(0, n - offset), slice(offset, n)
        same_user = users[first] == users[second]
        if not same_user.any():
            break
        distance = midrank[second] - midrank[first]
        later = same_user & (times[second] > times[first]) & (distance <= window)
        if later.any():
            rows.append(items[first][later])
            cols.append(items[second][later])
            vals.append((1.0 / distance[later]).astype(np.float32))
            pending += int(later.sum())
        if session_weight > 0:
            together = (
                same_user
                & (times[second] == times[first])
                & (line.group_size[first] <= max_session)
            )
            if together.any():
                a, b = items[first][together], items[second][together]
                weight = np.full(a.shape[0], session_weight, dtype=np.float32)
                rows += [a, b]
                cols += [b, a]
                vals += [weight, weight]
                pending += 2 * a.shape[0]
        if pending >= _CHUNK:
            total = total + _fold(rows, cols, vals, n_items)
            rows, cols, vals, pending = [], [], [], 0
    if rows:
        total = total + _fold(rows, cols, vals, n_items)
    total = sp.csr_matrix(total, dtype=np.float32)
    total.sum_duplicates()
    total.eliminate_zeros()
    return total if neighbors is None else keep_top_per_row(total, neighbors)


def fit_order(
    line: Timeline,
    n_items: int,
    *,
    window: int,
    session_weight: float,
    max_session: int,
    source_exponent: float,
    target_exponent: float,
    neighbors: int,
) -> sp.csr_matrix:
    """The engine's order matrix: :func:`fit_transitions`, damped by popularity, pruned.

    Entry ``(a, b)`` is divided by ``(users(a) + 1) ** source_exponent`` and
    ``(users(b) + 1) ** target_exponent``, then each row keeps its ``neighbors`` largest.
    """
    counts = np.bincount(line.items, minlength=n_items).astype(np.float64) + 1.0
    matrix = fit_transitions(
        line,
        n_items,
        window=window,
        session_weight=session_weight,
        max_session=max_session,
        neighbors=None,
    )
    rows = np.repeat(np.arange(n_items, dtype=np.int64), np.diff(matrix.indptr))
    scale = counts[rows] ** -source_exponent * counts[matrix.indices] ** -target_exponent
    matrix.data = (matrix.data * scale).astype(np.float32)
    return keep_top_per_row(matrix, neighbors)


def _fold(
    rows: list[npt.NDArray[np.int64]],
    cols: list[npt.NDArray[np.int64]],
    vals: list[npt.NDArray[np.float32]],
    n_items: int,
) -> sp.csr_matrix:
    matrix = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_items, n_items),
        dtype=np.float32,
    )
    matrix.sum_duplicates()
    return matrix


def keep_top_per_row(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """The ``k`` largest entries of every row (equal values: the smaller column first)."""
    counts = np.diff(matrix.indptr)
    if counts.size == 0 or int(counts.max()) <= k:
        return matrix
    row_of = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), counts)
    order = np.lexsort((matrix.indices, -matrix.data, row_of))
    rank = np.arange(order.shape[0], dtype=np.int64) - matrix.indptr[row_of[order]]
    keep = np.sort(order[rank < k])
    return sp.csr_matrix(
        (matrix.data[keep], (row_of[keep], matrix.indices[keep])),
        shape=matrix.shape,
        dtype=np.float32,
    )
