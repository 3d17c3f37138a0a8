"""The numerical core of the local engine: fit item-to-item weights and score profiles.

Two algorithms, both item-to-item so that one fitted matrix serves ``recommend`` (a user's
profile times the matrix) and ``similar`` (one row of it):

* **EASE** (Steck 2019, "Embarrassingly Shallow Autoencoders"): a closed-form ridge
  regression of every item on all others, ``B = I - P / diag(P)`` with
  ``P = (X^T X + l2 I)^-1``. Dense: memory grows with the square and time with the cube of
  the number of items with interactions, so it serves catalogs up to a few tens of
  thousands of interacted titles.
* **item-kNN**: cosine similarity with shrinkage, ``x_i . x_j / (|x_i| |x_j| + shrinkage)``,
  keeping the ``neighbors`` largest per item. Sparse, computed in column blocks, so memory
  stays at ``items x neighbors`` whatever the catalog size.

Beside that matrix, a fitted model may hold the *order* matrix of ``_sequence.py`` ("what
people watch next"), which ``recommend`` blends in and ``similar`` reads first.

Only this package imports numpy and scipy, so ``import reclio`` stays free of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = [
    "FittedModel",
    "fit_ease",
    "fit_itemknn",
    "interaction_matrix",
    "popularity_tiebreak",
    "top_indices",
    "unit",
]

_BLOCK = 512
"""Item columns per block when computing kNN similarities (bounds peak memory)."""
_LEAF = 512
"""Largest block EASE's inverse hands to one LAPACK factorization (see `_spd_inverse`)."""


def interaction_matrix(
    users: npt.NDArray[np.int64],
    items: npt.NDArray[np.int64],
    values: npt.NDArray[np.float32],
    shape: tuple[int, int],
) -> sp.csr_matrix:
    """A users x items CSR matrix (float32); repeated pairs are summed."""
    matrix = sp.csr_matrix(
        (values.astype(np.float32), (users, items)), shape=shape, dtype=np.float32
    )
    matrix.sum_duplicates()
    return matrix


def top_indices(scores: npt.NDArray[np.float64], k: int) -> npt.NDArray[np.int64]:
    """The ``k`` best indices, best first; equal scores rank the smaller index first.

    Exact at the cut-off: every index scoring as high as the ``k``-th best is considered
    before the rule picks, so the result never depends on how a partial sort splits ties.
    """
    n = scores.shape[0]
    k = min(k, n)
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    if k < n:
        kth = scores[np.argpartition(-scores, k - 1)[k - 1]]
        candidates = np.flatnonzero(scores >= kth)
    else:
        candidates = np.arange(n, dtype=np.int64)
    order = np.lexsort((candidates, -scores[candidates]))[:k]
    return candidates[order].astype(np.int64)


def popularity_tiebreak(popularity: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Per item, its number of users scaled far below any real score (orders the ties)."""
    top = float(popularity.max()) if popularity.size else 0.0
    return (popularity / (top + 1.0) * 1e-6).astype(np.float32)


def unit(values: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """``values`` divided by their largest magnitude (unchanged when all are zero)."""
    scale = float(np.abs(values).max()) if values.size else 0.0
    return values / np.float32(scale) if scale > 0 else values


class FittedModel:
    """Item-to-item weights plus item popularity, ready to score.

    Args:
        algorithm: ``"ease"`` or ``"itemknn"``.
        n_items: Size of the item space.
        popularity: Per item, the number of users who interacted (the cold-start ranking).
        dense: EASE weights over ``active`` items (``len(active)`` squared), or ``None``.
        active: Item indices the dense matrix covers.
        sparse: kNN weights, ``n_items`` x ``n_items`` CSR (row: source, column: target).
        transitions: The order matrix, ``n_items`` x ``n_items`` CSR (row: the earlier
            title), or ``None`` when the order signal is off.
    """

    def __init__(
        self,
        algorithm: Literal["ease", "itemknn"],
        n_items: int,
        popularity: npt.NDArray[np.float32],
        *,
        dense: npt.NDArray[np.float32] | None = None,
        active: npt.NDArray[np.int64] | None = None,
        sparse: sp.csr_matrix | None = None,
        transitions: sp.csr_matrix | None = None,
    ) -> None:
        self.algorithm = algorithm
        self.transitions = transitions
        self.n_items = n_items
        self.popularity = popularity
        self.dense = dense
        self.active = active
        self.sparse = sparse
        self._position: npt.NDArray[np.int64] | None = None
        if active is not None:
            position = np.full(n_items, -1, dtype=np.int64)
            position[active] = np.arange(len(active), dtype=np.int64)
            self._position = position
        # Ties (and items the model knows nothing about) fall back to popularity order.
        self.tiebreak = popularity_tiebreak(popularity)

    def score(
        self,
        items: npt.NDArray[np.int64],
        weights: npt.NDArray[np.float32],
        *,
        tiebreak: bool = True,
    ) -> npt.NDArray[np.float32]:
        """Scores of every item for a profile (item indices with weights); higher is better.

        With ``tiebreak``, popularity (scaled far below any real score) orders the items
        the profile says nothing about.
        """
        scores = self.tiebreak.copy() if tiebreak else np.zeros(self.n_items, dtype=np.float32)
        if items.size == 0:
            return scores
        if self.dense is not None and self._position is not None and self.active is not None:
            pos = self._position[items]
            known = pos >= 0
            if known.any():
                # A 1-row sparse profile times the dense matrix adds the rows in place,
                # without first copying them out (several times faster than w @ B[rows]).
                profile = sp.csr_matrix(
                    (weights[known], (np.zeros(int(known.sum()), dtype=np.int64), pos[known])),
                    shape=(1, self.dense.shape[0]),
                    dtype=np.float32,
                )
                scores[self.active] += np.asarray(profile @ self.dense).ravel()
        elif self.sparse is not None:
            scores += np.asarray(self.sparse[items].T @ weights, dtype=np.float32).ravel()
        return scores

    def neighbours(self, item: int) -> npt.NDArray[np.float32]:
        """Weights of every item as a neighbour of ``item`` (item-to-item; 0: unrelated)."""
        return self.score(
            np.array([item], dtype=np.int64), np.ones(1, dtype=np.float32), tiebreak=False
        )

    def follow(
        self, items: npt.NDArray[np.int64], weights: npt.NDArray[np.float32]
    ) -> npt.NDArray[np.float32]:
        """Order scores of every item after the given titles (0 everywhere without order)."""
        if self.transitions is None or items.size == 0:
            return np.zeros(self.n_items, dtype=np.float32)
        return np.asarray(self.transitions[items].T @ weights, dtype=np.float32).ravel()

    def nbytes(self) -> int:
        """Memory held by the fitted arrays."""
        total = self.popularity.nbytes
        if self.dense is not None:
            total += self.dense.nbytes
        for matrix in (self.sparse, self.transitions):
            if matrix is not None:
                total += matrix.data.nbytes + matrix.indices.nbytes + matrix.indptr.nbytes
        return total


def _popularity(matrix: sp.csr_matrix) -> npt.NDArray[np.float32]:
    return np.asarray((matrix != 0).sum(axis=0), dtype=np.float32).ravel()


def fit_ease(matrix: sp.csr_matrix, *, l2: float, min_support: int = 1) -> FittedModel:
    """Fit EASE on a users x items matrix.

    Args:
        matrix: Confidence of each (user, item); zero where nothing happened.
        l2: Ridge penalty on the diagonal (larger: smoother, more popular picks).
        min_support: Items with fewer interacting users stay out of the dense matrix and
            rank by popularity only (keeps the matrix small on long-tail catalogs).
    """
    popularity = _popularity(matrix)
    n_items = matrix.shape[1]
    active = np.flatnonzero(popularity >= max(min_support, 1)).astype(np.int64)
    if not active.size:
        # No title reaches min_support: an empty matrix (LAPACK refuses to invert one, and
        # prints a complaint to stderr when asked to).
        empty = np.zeros((0, 0), dtype=np.float32)
        return FittedModel("ease", n_items, popularity, dense=empty, active=active)
    sub = matrix[:, active]
    n_users, n_active = sub.shape
    inverse = _ease_inverse_dual(sub, l2) if n_users < n_active else _ease_inverse_primal(sub, l2)
    diagonal = np.diag(inverse).copy()
    weights = inverse / -diagonal[np.newaxis, :]
    weights[np.diag_indices_from(weights)] = 0.0
    return FittedModel("ease", n_items, popularity, dense=weights.astype(np.float32), active=active)


def _ease_inverse_primal(sub: sp.csr_matrix, l2: float) -> npt.NDArray[np.float32]:
    """``(X^T X + l2 I)^-1`` directly: cubic in the number of items."""
    gram = np.asarray((sub.T @ sub).toarray(), dtype=np.float32)
    gram[np.diag_indices_from(gram)] += np.float32(l2)
    return _spd_inverse(gram)


def _spd_inverse(matrix: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """The inverse of a symmetric positive definite matrix, by blocks.

    The fit runs in a worker thread, which keeps the event loop free only while the thread
    lets go of the interpreter lock. SciPy's LAPACK wrappers hold it for the whole call
    (hundreds of milliseconds at 3,000 items, seconds at 10,000), and a big LAPACK call
    waits on the BLAS threads meanwhile. So the matrix is split in two, ``[[A, B], [B^T,
    D]]``, and inverted through the Schur complement ``S = D - B^T A^-1 B`` (positive
    definite too): ``[[A^-1 + A^-1 B S^-1 B^T A^-1, -A^-1 B S^-1], [., S^-1]]``. Matrix
    products do nearly all the work; blocks of at most `_LEAF` rows are inverted by NumPy
    (`_cholesky_inverse`), which lets go of the lock too. About as fast as one Cholesky
    inverse of the whole matrix, and as accurate.
    """
    n = matrix.shape[0]
    if n <= _LEAF:
        return _cholesky_inverse(matrix)
    half = n // 2
    corner = matrix[:half, half:]
    first = _spd_inverse(matrix[:half, :half])
    solved = first @ corner
    second = _spd_inverse(matrix[half:, half:] - corner.T @ solved)
    off = -(solved @ second)
    inverse = np.empty_like(matrix)
    inverse[:half, :half] = first - off @ solved.T
    inverse[:half, half:] = off
    inverse[half:, :half] = off.T
    inverse[half:, half:] = second
    return inverse


def _cholesky_inverse(matrix: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """The inverse of a (small) symmetric positive definite matrix, through its Cholesky factor.

    NumPy's LAPACK calls let go of the interpreter lock (SciPy's hold it, and may wait on
    busy BLAS threads meanwhile): ``L = cholesky(M)``, then ``M^-1 = L^-T L^-1``.
    """
    try:
        factor = np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError as exc:
        msg = f"EASE: Gram matrix not positive definite ({exc}); raise l2"
        raise ValueError(msg) from exc
    lower_inverse = np.linalg.inv(factor)
    return np.asarray(lower_inverse.T @ lower_inverse, dtype=np.float32)


def _ease_inverse_dual(sub: sp.csr_matrix, l2: float) -> npt.NDArray[np.float32]:
    """The same inverse through the Woodbury identity, when users are fewer than items.

    ``(X^T X + l2 I)^-1 = (I - X^T (X X^T + l2 I)^-1 X) / l2``: the matrix inverted is
    users x users, and the rest is one matrix product (items squared times users).
    """
    dense = np.asarray(sub.toarray(), dtype=np.float64)
    kernel = dense @ dense.T
    kernel[np.diag_indices_from(kernel)] += l2
    solved = np.linalg.solve(kernel, dense).astype(np.float32)
    inverse = -(dense.T.astype(np.float32) @ solved)
    inverse[np.diag_indices_from(inverse)] += np.float32(1.0)
    inverse /= np.float32(l2)
    return inverse


def fit_itemknn(matrix: sp.csr_matrix, *, neighbors: int, shrinkage: float) -> FittedModel:
    """Fit item-kNN: shrunk cosine similarity, the ``neighbors`` best per target item.

    Args:
        matrix: Confidence of each (user, item); zero where nothing happened.
        neighbors: Neighbours kept per item.
        shrinkage: Added to the cosine denominator; damps similarities resting on few users.
    """
    popularity = _popularity(matrix)
    n_items = matrix.shape[1]
    csc = matrix.tocsc()
    norms = np.sqrt(np.asarray(csc.multiply(csc).sum(axis=0), dtype=np.float64).ravel())
    xt = csc.T.tocsr()
    rows: list[npt.NDArray[np.int64]] = []
    cols: list[npt.NDArray[np.int64]] = []
    vals: list[npt.NDArray[np.float32]] = []
    keep = max(1, min(neighbors, n_items - 1))
    for start in range(0, n_items, _BLOCK):
        stop = min(start + _BLOCK, n_items)
        block = np.asarray((xt @ csc[:, start:stop]).toarray(), dtype=np.float32)
        denominator = np.outer(norms, norms[start:stop]) + shrinkage
        denominator[denominator == 0] = 1.0
        block /= denominator.astype(np.float32)
        block[np.arange(start, stop), np.arange(stop - start)] = 0.0
        if keep < n_items:
            top = np.argpartition(-block, keep - 1, axis=0)[:keep]
        else:
            top = np.broadcast_to(np.arange(n_items)[:, None], block.shape)
        values = np.take_along_axis(block, top, axis=0)
        target = np.broadcast_to(np.arange(start, stop)[None, :], top.shape)
        nonzero = values != 0
        rows.append(top[nonzero].astype(np.int64))
        cols.append(target[nonzero].astype(np.int64))
        vals.append(values[nonzero].astype(np.float32))
    similarity = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_items, n_items),
        dtype=np.float32,
    )
    return FittedModel("itemknn", n_items, popularity, sparse=similarity)
