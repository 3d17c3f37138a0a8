"""Offline evaluation of recommenders on MovieLens, with one fixed, comparable protocol.

Every rated (user, item) pair is an interaction. Per user, the newest interaction (largest
timestamp, ties by the larger item id) is the test item and the one before it the
validation item; users with fewer than three are dropped. Models rank the whole catalog
minus what they were fit on. Hyper-parameters are chosen on validation, then each model is
refit on training + validation and scored on test: HR@10, NDCG@10, Recall@20, catalog
coverage@10, fit time and per-user latency, overall and split by users whose test item
shares its timestamp (tied) or not. Every run is made twice: as the data is, and
tie-neutral (items renumbered at random, so nothing a model sees orders equal timestamps;
the held-out items stay the same). Equal scores rank the smaller item index first. See
``docs/local-recommender.md``.

Names are loaded on first use, so ``reclio.cli.evaluate`` (imported by the ``reclio``
command) does not pull numpy or scipy.

Stability: experimental (the protocol is fixed; the API may change).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reclio.evaluation._datasets import RatingsDataset, load_movielens
    from reclio.evaluation._harness import (
        TIE_SEED,
        DatasetReport,
        ModelResult,
        count_steps,
        evaluate,
        validate,
    )
    from reclio.evaluation._metrics import (
        RankingMetrics,
        hit_rank,
        ndcg_gains,
        paired_difference,
        summarize,
    )
    from reclio.evaluation._models import (
        BenchModel,
        EaseBaseline,
        ImplicitModel,
        LocalModel,
        MostPopular,
        SequenceBaseline,
        baselines_available,
        default_models,
    )
    from reclio.evaluation._report import (
        Verdict,
        plot_ndcg,
        render_markdown,
        render_table,
        report_json,
        verdict,
    )
    from reclio.evaluation._split import (
        LeaveLastOut,
        leave_last_out,
        tie_neutral_view,
        tied_test_users,
    )

__all__ = [
    "TIE_SEED",
    "BenchModel",
    "DatasetReport",
    "EaseBaseline",
    "ImplicitModel",
    "LeaveLastOut",
    "LocalModel",
    "ModelResult",
    "MostPopular",
    "RankingMetrics",
    "RatingsDataset",
    "SequenceBaseline",
    "Verdict",
    "baselines_available",
    "count_steps",
    "default_models",
    "evaluate",
    "hit_rank",
    "leave_last_out",
    "load_movielens",
    "ndcg_gains",
    "paired_difference",
    "plot_ndcg",
    "render_markdown",
    "render_table",
    "report_json",
    "summarize",
    "tie_neutral_view",
    "tied_test_users",
    "validate",
    "verdict",
]

_HOME = {
    "RatingsDataset": "_datasets",
    "load_movielens": "_datasets",
    "TIE_SEED": "_harness",
    "DatasetReport": "_harness",
    "ModelResult": "_harness",
    "count_steps": "_harness",
    "evaluate": "_harness",
    "validate": "_harness",
    "RankingMetrics": "_metrics",
    "hit_rank": "_metrics",
    "summarize": "_metrics",
    "ndcg_gains": "_metrics",
    "paired_difference": "_metrics",
    "BenchModel": "_models",
    "EaseBaseline": "_models",
    "ImplicitModel": "_models",
    "SequenceBaseline": "_models",
    "LocalModel": "_models",
    "MostPopular": "_models",
    "baselines_available": "_models",
    "default_models": "_models",
    "Verdict": "_report",
    "plot_ndcg": "_report",
    "render_markdown": "_report",
    "render_table": "_report",
    "report_json": "_report",
    "verdict": "_report",
    "LeaveLastOut": "_split",
    "leave_last_out": "_split",
    "tie_neutral_view": "_split",
    "tied_test_users": "_split",
}


def __getattr__(name: str) -> object:
    home = _HOME.get(name)
    if home is None:
        msg = f"module 'reclio.evaluation' has no attribute {name!r}"
        raise AttributeError(msg)
    return getattr(importlib.import_module(f"reclio.evaluation.{home}"), name)
