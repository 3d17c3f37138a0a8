"""``reclio eval movielens PATH...``: run the MovieLens protocol from the command line.

This module imports only the standard library at import time; the evaluation itself (numpy,
scipy, rich, and the bench extra for the baselines) is imported when the command runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from reclio.evaluation._datasets import RatingsDataset
    from reclio.evaluation._harness import DatasetReport
    from reclio.evaluation._models import BenchModel

__all__ = ["register", "run_movielens"]


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Add ``eval`` with its ``movielens`` subcommand to a parser's subcommands."""
    evaluation = subparsers.add_parser(
        "eval",
        parents=[common],
        help="offline evaluation",
        description="Offline evaluation of recommenders.",
    )
    commands = evaluation.add_subparsers(dest="eval_command", required=True)
    movielens = commands.add_parser(
        "movielens",
        parents=[common],
        help="evaluate on MovieLens (ml-latest-small or ml-100k)",
        description=(
            "Leave-last-out, full-ranking evaluation of MostPopular, the LocalRecommender "
            "variants and (with reclio[bench]) implicit's ALS, cosine and BM25."
        ),
    )
    movielens.add_argument(
        "paths", metavar="PATH", nargs="+", type=Path, help="a MovieLens folder (auto-detected)"
    )
    movielens.add_argument(
        "--json", action="store_true", help="print one JSON line instead of the tables"
    )
    movielens.add_argument(
        "--output",
        type=Path,
        default=None,
        help="folder for report.json and ndcg10.png (default: no files)",
    )
    movielens.add_argument("--no-baselines", action="store_true", help="skip implicit's models")
    movielens.set_defaults(handler=_run_command)


def _run_command(args: argparse.Namespace) -> int:
    return run_movielens(
        args.paths, as_json=args.json, output=args.output, baselines=not args.no_baselines
    )


def run_movielens(
    paths: list[Path], *, as_json: bool = False, output: Path | None = None, baselines: bool = True
) -> int:
    """Evaluate every data set in ``paths`` in one run; print tables or one JSON line.

    Returns:
        The exit status: 0 on success, 2 when a folder holds no MovieLens data or the
        baselines were asked for without the bench extra.
    """
    from reclio.errors import ConfigurationError  # noqa: PLC0415 - keep CLI start-up light
    from reclio.evaluation import _models, _report  # noqa: PLC0415
    from reclio.evaluation._datasets import load_movielens  # noqa: PLC0415

    if baselines and not _models.baselines_available():
        sys.stderr.write(
            f"reclio: the established baselines need implicit: {_models.BENCH_EXTRA_HINT}"
            " (or pass --no-baselines)\n"
        )
        return 2
    try:
        datasets = [load_movielens(path) for path in paths]
    except FileNotFoundError as exc:
        sys.stderr.write(f"reclio: {exc}\n")
        return 2
    models = _models.default_models(baselines=baselines)
    reports = asyncio.run(_evaluate_all(datasets, models))
    document = _report.report_json(reports)
    if output is not None:
        output.mkdir(parents=True, exist_ok=True)
        (output / "report.json").write_text(json.dumps(document, indent=2) + "\n")
        try:
            _report.plot_ndcg(reports, output / "ndcg10.png")
        except ConfigurationError as exc:
            sys.stderr.write(f"reclio: no plot: {exc}\n")
    if as_json:
        sys.stdout.write(json.dumps(document, separators=(",", ":")) + "\n")
    else:
        for report in reports:
            sys.stdout.write(_report.render_table(report) + "\n\n")
    return 0


async def _evaluate_all(
    datasets: Sequence[RatingsDataset], models: Sequence[BenchModel]
) -> list[DatasetReport]:
    from rich.console import Console  # noqa: PLC0415 - only the command draws bars
    from rich.progress import Progress  # noqa: PLC0415

    from reclio.evaluation._harness import count_steps, evaluate  # noqa: PLC0415

    reports = []
    with Progress(transient=True, console=Console(stderr=True)) as bar:
        task = bar.add_task("evaluating", total=count_steps(models) * len(datasets))

        def advance(label: str) -> None:
            bar.update(task, advance=1, description=label)

        reports.extend([await evaluate(data, models, progress=advance) for data in datasets])
    return reports
