"""The protocol runner: tune on validation, refit on train + validation, score on test.

Every data set is run twice with the same models and the same held-out items: as it is
(the *standard* run), and *tie-neutral*, with items renumbered at random so that nothing a
model sees orders interactions of equal timestamps (see :func:`tie_neutral_view`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import numpy as np

from reclio.evaluation._datasets import RatingsDataset
from reclio.evaluation._metrics import RankingMetrics, ndcg_gains, summarize
from reclio.evaluation._models import BenchModel, FittedBench, TrainingSet
from reclio.evaluation._split import (
    LeaveLastOut,
    leave_last_out,
    tie_neutral_view,
    tied_test_users,
)

__all__ = [
    "TIE_SEED",
    "DatasetReport",
    "ModelResult",
    "ProgressCallback",
    "count_steps",
    "evaluate",
    "validate",
]

TOP_N = 20
"""Every model ranks this many items per user: enough for HR/NDCG@10 and Recall@20."""

TIE_SEED = 0
"""Seed of the random renumbering of the tie-neutral run (fixed: runs are reproducible)."""

ProgressCallback = Callable[[str], None]
"""Called once per fit (a tuning fit or the final one) with what just finished."""


@attrs.frozen
class ModelResult:
    """One model's outcome on one data set in one run.

    Attributes:
        name: The model.
        params: Hyper-parameters chosen on the validation items.
        validation_ndcg10: NDCG@10 on validation with those parameters.
        test: Metrics on the test items after refitting on training + validation.
        tied: The same metrics over the users whose test item shares its timestamp.
        untied: The same metrics over the other users.
        gains: Every user's test NDCG@10, in the split's user order (for paired tests).
        fit_seconds: Wall time of the final fit.
        latency_ms: Mean wall time of one user's recommendation (top 20), milliseconds.
        latency_p95_ms: 95th percentile of that.
        tuning: Every combination tried, with its validation NDCG@10.
    """

    name: str
    params: dict[str, Any]
    validation_ndcg10: float
    test: RankingMetrics
    tied: RankingMetrics
    untied: RankingMetrics
    gains: tuple[float, ...] = attrs.field(repr=False)
    fit_seconds: float
    latency_ms: float
    latency_p95_ms: float
    tuning: tuple[tuple[dict[str, Any], float], ...]


@attrs.frozen
class DatasetReport:
    """Every model's outcome on one data set, in the order the models were given.

    Attributes:
        dataset: ``"ml-latest-small"`` or ``"ml-100k"``.
        users: Users scored (those with at least 3 interactions).
        items: Catalog size (every item the files list).
        interactions: Rated (user, item) pairs in the file.
        tied_users: Scored users whose test item shares its timestamp with another of
            their interactions.
        results: One per model, standard run.
        tie_neutral: One per model, tie-neutral run (empty when it was not run).
    """

    dataset: str
    users: int
    items: int
    interactions: int
    tied_users: int
    results: tuple[ModelResult, ...]
    tie_neutral: tuple[ModelResult, ...] = ()

    def result(self, name: str, *, tie_neutral: bool = False) -> ModelResult:
        """The result of the model called ``name`` in one of the two runs.

        Raises:
            KeyError: no such model in this report (or that run was not made).
        """
        for result in self.tie_neutral if tie_neutral else self.results:
            if result.name == name:
                return result
        raise KeyError(name)


def count_steps(models: Sequence[BenchModel], *, tie_neutral: bool = True) -> int:
    """How many fits :func:`evaluate` makes for these models (for a progress bar)."""
    return sum(len(model.grid()) + 1 for model in models) * (2 if tie_neutral else 1)


async def evaluate(
    data: RatingsDataset,
    models: Sequence[BenchModel],
    *,
    progress: ProgressCallback | None = None,
    tie_neutral: bool = True,
    seed: int = TIE_SEED,
) -> DatasetReport:
    """Run the protocol on ``data`` for every model; see ``docs/local-recommender.md``.

    For each model, every grid combination is fit on the training rows and scored on the
    validation items; the best (first on ties) is refit on training + validation and
    scored on the test items, with its fit time and per-user latency measured. With
    ``tie_neutral`` the same is done again on :func:`tie_neutral_view` of the data.
    """
    split = leave_last_out(data)
    tied = tied_test_users(data, split)
    runs: list[tuple[str, RatingsDataset, LeaveLastOut]] = [("", data, split)]
    if tie_neutral:
        view, moved = tie_neutral_view(data, split, seed=seed)
        runs.append((" [tie-neutral]", view, moved))
    outcomes: list[tuple[ModelResult, ...]] = []
    for label, run_data, run_split in runs:
        outcomes.append(
            tuple(
                [
                    await _run_model(
                        run_data, run_split, model, tied, progress=progress, label=label
                    )
                    for model in models
                ]
            )
        )
    return DatasetReport(
        dataset=data.name,
        users=len(split.users),
        items=data.n_items,
        interactions=len(data),
        tied_users=int(tied.sum()),
        results=outcomes[0],
        tie_neutral=outcomes[1] if tie_neutral else (),
    )


async def validate(
    data: RatingsDataset,
    model: BenchModel,
    *,
    split: LeaveLastOut | None = None,
    progress: ProgressCallback | None = None,
) -> list[tuple[dict[str, Any], float]]:
    """Every grid combination of ``model`` with its validation NDCG@10 (no test item read).

    Args:
        data: The data set.
        model: The model and its grid.
        split: The split (default: :func:`leave_last_out` of ``data``).
        progress: Called after each fit.
    """
    split = split or leave_last_out(data)
    tuning_set = TrainingSet(data, split.fit_rows(final=False))
    targets = _targets(data, split, final=False)
    tried: list[tuple[dict[str, Any], float]] = []
    for params in model.grid():
        fitted = await model.fit(tuning_set, params)
        lists, _ = await _rank_all(fitted, split)
        tried.append((params, summarize(lists, targets, data.n_items).ndcg10))
        if progress is not None:
            progress(f"{data.name}: {model.name} {_describe(params)}")
    return tried


async def _run_model(
    data: RatingsDataset,
    split: LeaveLastOut,
    model: BenchModel,
    tied: np.ndarray[Any, np.dtype[np.bool_]],
    *,
    progress: ProgressCallback | None,
    label: str,
) -> ModelResult:
    def report(step: str) -> None:
        if progress is not None:
            progress(f"{step}{label}")

    tried = await validate(data, model, split=split, progress=report)
    best_params, best_validation = max(tried, key=lambda pair: pair[1])
    final_set = TrainingSet(data, split.fit_rows(final=True))
    started = time.perf_counter()
    fitted = await model.fit(final_set, best_params)
    fit_seconds = time.perf_counter() - started
    lists, latencies = await _rank_all(fitted, split)
    targets = _targets(data, split, final=True)
    report(f"{data.name}: {model.name} final")
    return ModelResult(
        name=model.name,
        params=best_params,
        validation_ndcg10=best_validation,
        test=summarize(lists, targets, data.n_items),
        tied=_subset(lists, targets, tied, data.n_items),
        untied=_subset(lists, targets, ~tied, data.n_items),
        gains=tuple(ndcg_gains(lists, targets)),
        fit_seconds=fit_seconds,
        latency_ms=float(np.mean(latencies)) * 1000,
        latency_p95_ms=float(np.percentile(latencies, 95)) * 1000,
        tuning=tuple(tried),
    )


def _subset(
    lists: list[Sequence[int]],
    targets: list[int],
    chosen: np.ndarray[Any, np.dtype[np.bool_]],
    n_items: int,
) -> RankingMetrics:
    picked = np.flatnonzero(chosen)
    return summarize([lists[i] for i in picked], [targets[i] for i in picked], n_items)


async def _rank_all(
    fitted: FittedBench, split: LeaveLastOut
) -> tuple[list[Sequence[int]], list[float]]:
    lists: list[Sequence[int]] = []
    latencies: list[float] = []
    for user in split.users:
        started = time.perf_counter()
        lists.append(await fitted.recommend(int(user), TOP_N))
        latencies.append(time.perf_counter() - started)
    return lists, latencies


def _targets(data: RatingsDataset, split: LeaveLastOut, *, final: bool) -> list[int]:
    return [int(item) for item in data.items[split.held_out(final=final)]]


def _describe(params: dict[str, Any]) -> str:
    return " ".join(f"{key}={value}" for key, value in params.items()) or "(no parameters)"
