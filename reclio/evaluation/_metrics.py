"""Ranking metrics for one held-out item per user (full ranking, no sampled negatives)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs

__all__ = ["RankingMetrics", "hit_rank", "ndcg_gains", "paired_difference", "summarize"]

_K = 10
"""Cut-off of HR, NDCG and coverage."""
_RECALL_K = 20
"""Cut-off of recall."""


def hit_rank(ranked: Sequence[int], target: int) -> int | None:
    """The 1-based rank of ``target`` in ``ranked``, or ``None`` when it is not there."""
    for position, item in enumerate(ranked, start=1):
        if item == target:
            return position
    return None


@attrs.frozen
class RankingMetrics:
    """Mean metrics over users, each user holding out one item.

    Attributes:
        users: How many users were scored.
        hr10: Share of users whose item is in their top 10.
        ndcg10: Mean of ``1 / log2(rank + 1)`` for ranks up to 10 (rank from 1), else 0.
        ndcg10_se: Standard error of :attr:`ndcg10` (sample standard deviation / sqrt n).
        recall20: Share of users whose item is in their top 20 (one item: recall = hit).
        coverage10: Distinct items in all top-10 lists, over the catalog size.
    """

    users: int
    hr10: float
    ndcg10: float
    ndcg10_se: float
    recall20: float
    coverage10: float


def ndcg_gains(ranked_lists: Sequence[Sequence[int]], targets: Sequence[int]) -> list[float]:
    """Each user's NDCG@10: ``1 / log2(rank + 1)`` when the target ranks in the top 10."""
    gains = []
    for ranked, target in zip(ranked_lists, targets, strict=True):
        rank = hit_rank(ranked[:_K], target)
        gains.append(1.0 / math.log2(rank + 1) if rank is not None else 0.0)
    return gains


def paired_difference(first: Sequence[float], second: Sequence[float]) -> tuple[float, float]:
    """Mean and standard error of ``first - second`` over the same users (a paired test).

    Two models scored on the same held-out items share most of their noise, so the
    standard error of their difference is far below that of either figure.
    """
    n = len(first)
    if n != len(second):
        msg = f"paired figures need the same users: {n} against {len(second)}"
        raise ValueError(msg)
    if n == 0:
        return 0.0, 0.0
    differences = [a - b for a, b in zip(first, second, strict=True)]
    mean = sum(differences) / n
    variance = sum((d - mean) ** 2 for d in differences) / (n - 1) if n > 1 else 0.0
    return mean, math.sqrt(variance / n)


def summarize(
    ranked_lists: Sequence[Sequence[int]], targets: Sequence[int], n_items: int
) -> RankingMetrics:
    """Metrics of ranked lists (at least 20 long where possible) against held-out targets."""
    n = len(targets)
    if n == 0:
        return RankingMetrics(0, 0.0, 0.0, 0.0, 0.0, 0.0)
    gains = ndcg_gains(ranked_lists, targets)
    hits10 = hits20 = 0
    shown: set[int] = set()
    for ranked, target in zip(ranked_lists, targets, strict=True):
        shown.update(ranked[:_K])
        rank = hit_rank(ranked[:_RECALL_K], target)
        hits10 += rank is not None and rank <= _K
        hits20 += rank is not None
    mean = sum(gains) / n
    variance = sum((g - mean) ** 2 for g in gains) / (n - 1) if n > 1 else 0.0
    return RankingMetrics(
        users=n,
        hr10=hits10 / n,
        ndcg10=mean,
        ndcg10_se=math.sqrt(variance / n),
        recall20=hits20 / n,
        coverage10=len(shown) / n_items if n_items else 0.0,
    )
