"""The protocol runner: tune on validation, refit on train + validation, score on test."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import numpy as np

from reclio.evaluation._datasets import RatingsDataset
from reclio.evaluation._metrics import RankingMetrics, summarize
from reclio.evaluation._models import BenchModel, FittedBench, TrainingSet
from reclio.evaluation._split import LeaveLastOut, leave_last_out

__all__ = ["DatasetReport", "ModelResult", "ProgressCallback", "count_steps", "evaluate"]

TOP_N = 20
"""Every model ranks this many items per user: enough for HR/NDCG@10 and Recall@20."""

ProgressCallback = Callable[[str], None]
"""Called once per fit (a tuning fit or the final one) with what just finished."""


@attrs.frozen
class ModelResult:
    """One model's outcome on one data set.

    Attributes:
        name: The model.
        params: Hyper-parameters chosen on the validation items.
        validation_ndcg10: NDCG@10 on validation with those parameters.
        test: Metrics on the test items after refitting on training + validation.
        fit_seconds: Wall time of the final fit.
        latency_ms: Mean wall time of one user's recommendation (top 20), milliseconds.
        latency_p95_ms: 95th percentile of that.
        tuning: Every combination tried, with its validation NDCG@10.
    """

    name: str
    params: dict[str, Any]
    validation_ndcg10: float
    test: RankingMetrics
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
        results: One per model.
    """

    dataset: str
    users: int
    items: int
    interactions: int
    results: tuple[ModelResult, ...]

    def result(self, name: str) -> ModelResult:
        """The result of the model called ``name``.

        Raises:
            KeyError: no such model in this report.
        """
        for result in self.results:
            if result.name == name:
                return result
        raise KeyError(name)


def count_steps(models: Sequence[BenchModel]) -> int:
    """How many fits :func:`evaluate` makes for these models (for a progress bar)."""
    return sum(len(model.grid()) + 1 for model in models)


async def evaluate(
    data: RatingsDataset,
    models: Sequence[BenchModel],
    *,
    progress: ProgressCallback | None = None,
) -> DatasetReport:
    """Run the protocol on ``data`` for every model; see ``docs/local-recommender.md``.

    For each model, every grid combination is fit on the training rows and scored on the
    validation items; the best (first on ties) is refit on training + validation and
    scored on the test items, with its fit time and per-user latency measured.
    """
    split = leave_last_out(data)
    tuning_set = TrainingSet(data, split.fit_rows(final=False))
    final_set = TrainingSet(data, split.fit_rows(final=True))
    results = []
    for model in models:
        tried: list[tuple[dict[str, Any], float]] = []
        for params in model.grid():
            fitted = await model.fit(tuning_set, params)
            lists, _ = await _rank_all(fitted, split)
            metrics = summarize(lists, _targets(data, split, final=False), data.n_items)
            tried.append((params, metrics.ndcg10))
            if progress is not None:
                progress(f"{data.name}: {model.name} {_describe(params)}")
        best_params, best_validation = max(tried, key=lambda pair: pair[1])
        started = time.perf_counter()
        fitted = await model.fit(final_set, best_params)
        fit_seconds = time.perf_counter() - started
        lists, latencies = await _rank_all(fitted, split)
        test = summarize(lists, _targets(data, split, final=True), data.n_items)
        if progress is not None:
            progress(f"{data.name}: {model.name} final")
        results.append(
            ModelResult(
                name=model.name,
                params=best_params,
                validation_ndcg10=best_validation,
                test=test,
                fit_seconds=fit_seconds,
                latency_ms=float(np.mean(latencies)) * 1000,
                latency_p95_ms=float(np.percentile(latencies, 95)) * 1000,
                tuning=tuple(tried),
            )
        )
    return DatasetReport(
        dataset=data.name,
        users=len(split.users),
        items=data.n_items,
        interactions=len(data),
        results=tuple(results),
    )


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
