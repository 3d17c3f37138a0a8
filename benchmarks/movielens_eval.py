"""Evaluate every model on ml-latest-small and ml-100k in one run (reclio's MovieLens protocol).

Usage: python benchmarks/movielens_eval.py [DATA_DIR] [--output DIR]

DATA_DIR defaults to ../shared/data beside the repository. Every data set is run twice,
standard and tie-neutral (items renumbered at random, same held-out items). Prints one
table per data set (both runs, tied and untied users), the acceptance comparison on the
tie-neutral run (the default against every baseline, with the paired difference to the
next best), writes report.json, ndcg10.png and tables.md into --output (default
benchmarks/results/), and ends with ONE JSON line of the figures. Without the data it says
so and exits 0. Needs the bench extra: pip install "reclio[bench]".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from reclio.evaluation import (
    DatasetReport,
    RatingsDataset,
    baselines_available,
    count_steps,
    default_models,
    evaluate,
    load_movielens,
    plot_ndcg,
    render_markdown,
    render_table,
    report_json,
    verdict,
)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"
DATASETS = ("ml-latest-small", "ml-100k")


async def measure(datasets: list[RatingsDataset]) -> list[DatasetReport]:
    models = default_models()
    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("evaluating", total=count_steps(models) * len(datasets))

        def advance(label: str) -> None:
            bar.update(task, advance=1, description=label)

        return [await evaluate(data, models, progress=advance) for data in datasets]


def run(data_dir: Path, output: Path) -> int:
    folders = [data_dir / name for name in DATASETS]
    missing = [str(f) for f in folders if not f.is_dir()]
    if missing:
        print(f"MovieLens data not found ({', '.join(missing)}); nothing to measure.")
        return 0
    if not baselines_available():
        print('implicit is missing: pip install "reclio[bench]"')
        return 0
    datasets = [load_movielens(folder) for folder in folders]
    started = time.perf_counter()
    reports = asyncio.run(measure(datasets))
    elapsed = time.perf_counter() - started
    for report in reports:
        print(render_table(report))
        print()
    verdicts = [verdict(report) for report in reports]
    for v in verdicts:
        status = "PASS" if v.passed else "FAIL"
        print(f"[{status}] {v.sentence()}")
    document = report_json(reports)
    document["benchmark"] = "movielens_eval"
    document["seconds"] = round(elapsed, 1)
    document["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    document["acceptance"] = all(v.passed for v in verdicts)
    output.mkdir(parents=True, exist_ok=True)
    (output / "report.json").write_text(json.dumps(document, indent=2) + "\n")
    (output / "tables.md").write_text(
        "".join(
            f"**{r.dataset}** ({r.users} users, {r.tied_users} tied, {r.items} items, "
            f"{r.interactions} interactions)\n\n{render_markdown(r)}\n\n"
            for r in reports
        )
    )
    plot = plot_ndcg(reports, output / "ndcg10.png")
    print(f"report: {output / 'report.json'}, plot: {plot}")
    print(json.dumps(document, separators=(",", ":")))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    return run(args.data_dir, args.output)


if __name__ == "__main__":
    sys.exit(main())
