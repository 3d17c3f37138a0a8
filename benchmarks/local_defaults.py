"""Choose LocalRecommender's shipped defaults on the validation items only (both data sets).

Usage: python benchmarks/local_defaults.py [DATA_DIR] [--rounds N]

A coordinate search from the current defaults: each setting in turn tries its values with
the others held, and the value with the best mean validation NDCG@10 over ml-latest-small
and ml-100k replaces the current one if it beats it by at least ``MIN_GAIN`` (a tenth of
a standard error: smaller gains are noise, and the current value is the cheaper or the
simpler one often enough). No test item is read: every fit is on the
training rows of reclio's leave-last-out split, every score on the validation item, and
the runs are tie-neutral (items renumbered at random, as ``reclio eval movielens`` does).
Prints one table per setting, the chosen defaults, and ends with ONE JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import attrs

from reclio.adapters.local import LocalRecommenderConfig
from reclio.evaluation import (
    TIE_SEED,
    LocalModel,
    RatingsDataset,
    leave_last_out,
    load_movielens,
    tie_neutral_view,
    validate,
)
from reclio.evaluation._split import LeaveLastOut

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"
DATASETS = ("ml-latest-small", "ml-100k")

MIN_GAIN = 0.0005
"""Mean validation NDCG@10 a value must add to replace the current one."""

AXES: tuple[tuple[str, tuple[Any, ...]], ...] = (
    ("ease_l2", (50.0, 100.0, 200.0, 500.0)),
    ("time_decay_seconds", (600.0, 3600.0, 86400.0, None)),
    ("time_decay_power", (0.5, 1.0)),
    ("recency_half_life", (5.0, 10.0, 20.0, None)),
    ("order_weight", (0.0, 0.6, 0.9, 1.2)),
    ("order_window", (5, 10, 20, 40)),
    ("order_session_weight", (0.0, 0.5, 1.0, 2.0)),
    ("order_source_exponent", (0.0, 0.5, 1.0)),
    ("order_target_exponent", (0.0, 0.25, 0.5)),
    ("order_max_session", (10, 50, 200)),
    ("order_neighbors", (50, 200, 1000)),
    ("order_last", (1.0, 3.0, 5.0, 10.0)),
    ("order_half_life", (0.5, 1.0, 2.0)),
    ("rating_influence", (0.0, 0.5, 1.0)),
)


async def axis_scores(
    runs: list[tuple[RatingsDataset, LeaveLastOut]],
    config: LocalRecommenderConfig,
    field: str,
    values: tuple[Any, ...],
) -> list[tuple[Any, list[float]]]:
    """Validation NDCG@10 of every value of one setting, per data set."""
    model = LocalModel(f"axis {field}", config, {field: list(values)})
    per_dataset = [await validate(data, model, split=split) for data, split in runs]
    return [(value, [tried[n][1] for tried in per_dataset]) for n, value in enumerate(values)]


async def search(
    runs: list[tuple[RatingsDataset, LeaveLastOut]], rounds: int
) -> tuple[LocalRecommenderConfig, list[dict[str, Any]]]:
    config = LocalRecommenderConfig()
    history: list[dict[str, Any]] = []
    for round_number in range(1, rounds + 1):
        changed = False
        for field, values in AXES:
            started = time.perf_counter()
            scores = await axis_scores(runs, config, field, values)
            current = getattr(config, field)
            means = {value: sum(figures) / len(figures) for value, figures in scores}
            best_value = max(means, key=lambda value: means[value])
            if means[best_value] < means[current] + MIN_GAIN:
                best_value = current
            seconds = time.perf_counter() - started
            print(f"\nround {round_number}, {field} (others held; {seconds:.0f} s)")
            names = " ".join(f"{name:>16}" for name in DATASETS)
            print(f"  {'value':>10} {names}      mean")
            for value, figures in scores:
                mark = " <" if value == best_value else ""
                mean = means[value]
                cells = " ".join(f"{figure:>16.4f}" for figure in figures)
                print(f"  {value!s:>10} {cells}  {mean:.4f}{mark}", flush=True)
            history.append(
                {
                    "round": round_number,
                    "field": field,
                    "values": [
                        {"value": v, "validation_ndcg10": [round(f, 5) for f in figs]}
                        for v, figs in scores
                    ],
                    "chosen": best_value,
                }
            )
            if best_value != current:
                changed = True
                config = attrs.evolve(config, **{field: best_value})
        if not changed:
            break
    return config, history


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    folders = [args.data_dir / name for name in DATASETS]
    missing = [str(f) for f in folders if not f.is_dir()]
    if missing:
        print(f"MovieLens data not found ({', '.join(missing)}); nothing to measure.")
        return 0
    runs = []
    for folder in folders:
        data = load_movielens(folder)
        runs.append(tie_neutral_view(data, leave_last_out(data), seed=TIE_SEED))
    started = time.perf_counter()
    config, history = asyncio.run(search(runs, args.rounds))
    shipped = LocalRecommenderConfig()
    differs = {
        field: getattr(config, field)
        for field, _ in AXES
        if getattr(config, field) != getattr(shipped, field)
    }
    print("\nchosen on validation:", {field: getattr(config, field) for field, _ in AXES})
    print("differs from the shipped defaults:", differs or "nothing")
    print(
        json.dumps(
            {
                "benchmark": "local_defaults",
                "seconds": round(time.perf_counter() - started, 1),
                "chosen": {field: getattr(config, field) for field, _ in AXES},
                "differs_from_shipped": differs,
                "axes": history,
            },
            separators=(",", ":"),
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
