"""How LocalRecommender's fit time, memory and latency grow toward a 50,000-title catalog.

Usage: python benchmarks/local_scaling.py [--users N] [--per-user K] [--sizes 2500,5000,...]

Synthetic data, measured (not extrapolated): N users each view K distinct titles drawn
from a Zipf-like popularity curve over the catalog (as real catalogs are long-tailed).
For each catalog size, EASE (up to 10,000 titles: its matrix is dense) and item-kNN are
fit through the public API; the table shows wall time of ``fit()``, peak memory traced
during the fit (numpy allocations included), the fitted model's size, and the mean time
of one ``recommend`` (top 50). Ends with ONE JSON line of the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta

import numpy as np

from reclio.adapters.local import LocalRecommender, LocalRecommenderConfig
from reclio.domain import Interaction, ItemRef, MediaType

EASE_LIMIT = 10_000
START = datetime(2024, 1, 1, tzinfo=UTC)


def synthetic(n_items: int, n_users: int, per_user: int, seed: int = 0) -> list[Interaction]:
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, n_items + 1) ** 0.8
    weights /= weights.sum()
    interactions = []
    for user in range(n_users):
        items = rng.choice(n_items, size=min(per_user, n_items), replace=False, p=weights)
        interactions.extend(
            Interaction.view(f"u{user}", ItemRef.movie(int(item) + 1), START + timedelta(hours=k))
            for k, item in enumerate(items)
        )
    return interactions


async def measure(
    interactions: list[Interaction], algorithm: str, n_users: int
) -> dict[str, float | int | str]:
    recommender = LocalRecommender(LocalRecommenderConfig(algorithm=algorithm))  # type: ignore[arg-type]
    await recommender.add_interactions(interactions)
    tracemalloc.start()
    started = time.perf_counter()
    await recommender.fit()
    fit_s = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    latencies = []
    for user in range(0, n_users, max(1, n_users // 200)):
        started = time.perf_counter()
        await recommender.recommend(f"u{user}", media_type=MediaType.MOVIE, count=50)
        latencies.append(time.perf_counter() - started)
    active = len({interaction.ref for interaction in interactions})
    return {
        "algorithm": algorithm,
        "active_items": active,
        "fit_s": round(fit_s, 2),
        "peak_mb": round(peak / 2**20, 1),
        "model_mb": round(recommender.model_bytes / 2**20, 1),
        "recommend_ms": round(float(np.mean(latencies)) * 1000, 2),
    }


async def main_async(sizes: list[int], n_users: int, per_user: int) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    print(
        f"{n_users} users x {per_user} views, Zipf(0.8) popularity; {os.cpu_count()} CPUs",
        flush=True,
    )
    print(
        f"{'catalog':>8} {'active':>7} {'algorithm':>9} {'fit s':>7} {'peak MB':>8} "
        f"{'model MB':>9} {'ms/rec':>7}",
        flush=True,
    )
    for n_items in sizes:
        interactions = synthetic(n_items, n_users, per_user)
        algorithms = ["ease", "itemknn"] if n_items <= EASE_LIMIT else ["itemknn"]
        for algorithm in algorithms:
            row: dict[str, object] = {"catalog": n_items, "interactions": len(interactions)}
            row.update(await measure(interactions, algorithm, n_users))
            rows.append(row)
            print(
                f"{n_items:>8} {row['active_items']:>7} {algorithm:>9} {row['fit_s']:>7} "
                f"{row['peak_mb']:>8} {row['model_mb']:>9} {row['recommend_ms']:>7}",
                flush=True,
            )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--per-user", type=int, default=50)
    parser.add_argument("--sizes", default="2500,5000,10000,20000,50000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = asyncio.run(main_async(sizes, args.users, args.per_user))
    print(
        json.dumps(
            {
                "benchmark": "local_scaling",
                "users": args.users,
                "per_user": args.per_user,
                "cpus": os.cpu_count(),
                "rows": rows,
            },
            separators=(",", ":"),
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
