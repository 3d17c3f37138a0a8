"""Reports of an evaluation run: a table for people, one JSON object for machines, a plot."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from reclio.errors import ConfigurationError
from reclio.evaluation._harness import DatasetReport, ModelResult
from reclio.evaluation._metrics import RankingMetrics, paired_difference
from reclio.evaluation._models import BENCH_EXTRA_HINT

__all__ = [
    "DEFAULT_MODEL",
    "ESTABLISHED_PREFIX",
    "POPULARITY_MODEL",
    "Verdict",
    "plot_ndcg",
    "render_markdown",
    "render_table",
    "report_json",
    "verdict",
]

DEFAULT_MODEL = "LocalRecommender"
"""The row of ``LocalRecommender()`` exactly as shipped."""
POPULARITY_MODEL = "MostPopular"
ESTABLISHED_PREFIX = "implicit "
"""Names of the established implementations start with this."""


@attrs.frozen
class Verdict:
    """The acceptance comparison on one data set, on the tie-neutral run when it was made.

    Attributes:
        dataset: Which data set.
        tie_neutral: Whether the figures below come from the tie-neutral run.
        default: NDCG@10 of the default LocalRecommender.
        default_se: Its standard error.
        default_standard: Its NDCG@10 in the standard run.
        next_best: The best other model that is not a LocalRecommender variant.
        next_best_ndcg10: Its NDCG@10.
        next_best_se: Its standard error.
        paired_difference: Mean over users of default minus next best (same users).
        paired_se: Standard error of that difference.
        best_established: Name of the best established implementation (``None``: none ran).
        established: Its NDCG@10.
        established_se: Its standard error.
        popularity: NDCG@10 of MostPopular.
        beats_every_baseline: ``default >= next_best_ndcg10``.
        beats_established: ``default >= established``.
        beats_popularity: ``default >= 1.5 * popularity``.
    """

    dataset: str
    tie_neutral: bool
    default: float
    default_se: float
    default_standard: float
    next_best: str | None
    next_best_ndcg10: float
    next_best_se: float
    paired_difference: float
    paired_se: float
    best_established: str | None
    established: float
    established_se: float
    popularity: float
    beats_every_baseline: bool
    beats_established: bool
    beats_popularity: bool

    @property
    def passed(self) -> bool:
        """Every comparison holds."""
        return self.beats_every_baseline and self.beats_established and self.beats_popularity

    def sentence(self) -> str:
        """The comparison in one line, with the noise level next to the gap."""
        ratio = self.default / self.popularity if self.popularity > 0 else math.inf
        run = "tie-neutral" if self.tie_neutral else "standard"
        parts = [
            (
                f"{self.dataset} ({run}): LocalRecommender NDCG@10 {self.default:.4f} "
                f"(SE {self.default_se:.4f}; standard run {self.default_standard:.4f}), "
                f"{ratio:.2f}x MostPopular ({self.popularity:.4f})"
            )
        ]
        if self.next_best is not None:
            parts.append(
                f"{self.paired_difference:+.4f} (paired SE {self.paired_se:.4f}) vs the next "
                f"best model, {self.next_best} {self.next_best_ndcg10:.4f} "
                f"(SE {self.next_best_se:.4f})"
            )
        if self.best_established is not None:
            parts.append(
                f"{self.default - self.established:+.4f} vs best established "
                f"{self.best_established} {self.established:.4f} (SE {self.established_se:.4f})"
            )
        return ", ".join(parts)


def _is_variant(name: str) -> bool:
    return name.startswith(DEFAULT_MODEL)


def verdict(report: DatasetReport) -> Verdict:
    """Compare the default LocalRecommender with every baseline, paired on the same users."""
    neutral = bool(report.tie_neutral)
    results = report.tie_neutral if neutral else report.results
    default = report.result(DEFAULT_MODEL, tie_neutral=neutral)
    popularity = report.result(POPULARITY_MODEL, tie_neutral=neutral).test
    others = [r for r in results if not _is_variant(r.name)]
    rival = max(others, key=lambda r: r.test.ndcg10, default=None)
    established = [r for r in others if r.name.startswith(ESTABLISHED_PREFIX)]
    best = max(established, key=lambda r: r.test.ndcg10, default=None)
    gap, gap_se = (0.0, 0.0) if rival is None else paired_difference(default.gains, rival.gains)
    return Verdict(
        dataset=report.dataset,
        tie_neutral=neutral,
        default=default.test.ndcg10,
        default_se=default.test.ndcg10_se,
        default_standard=report.result(DEFAULT_MODEL).test.ndcg10,
        next_best=None if rival is None else rival.name,
        next_best_ndcg10=0.0 if rival is None else rival.test.ndcg10,
        next_best_se=0.0 if rival is None else rival.test.ndcg10_se,
        paired_difference=gap,
        paired_se=gap_se,
        best_established=None if best is None else best.name,
        established=0.0 if best is None else best.test.ndcg10,
        established_se=0.0 if best is None else best.test.ndcg10_se,
        popularity=popularity.ndcg10,
        beats_every_baseline=rival is None or default.test.ndcg10 >= rival.test.ndcg10,
        beats_established=best is None or default.test.ndcg10 >= best.test.ndcg10,
        beats_popularity=default.test.ndcg10 >= 1.5 * popularity.ndcg10,
    )


_HEADER = (
    "model",
    "NDCG@10",
    "tied",
    "untied",
    "NDCG@10 t-n",
    "+-SE",
    "tied",
    "untied",
    "HR@10",
    "Recall@20",
    "Cov@10",
    "fit s",
    "ms/user",
)


def _rows(report: DatasetReport) -> list[tuple[str, ...]]:
    """One row per model: standard NDCG (all, tied, untied), then the tie-neutral run."""
    neutral = {r.name: r for r in report.tie_neutral}
    rows: list[tuple[str, ...]] = []
    for standard in report.results:
        shown = neutral.get(standard.name, standard)
        missing = standard.name not in neutral
        rows.append(
            (
                standard.name,
                f"{standard.test.ndcg10:.4f}",
                f"{standard.tied.ndcg10:.4f}",
                f"{standard.untied.ndcg10:.4f}",
                "-" if missing else f"{shown.test.ndcg10:.4f}",
                f"{shown.test.ndcg10_se:.4f}",
                "-" if missing else f"{shown.tied.ndcg10:.4f}",
                "-" if missing else f"{shown.untied.ndcg10:.4f}",
                f"{shown.test.hr10:.4f}",
                f"{shown.test.recall20:.4f}",
                f"{shown.test.coverage10:.3f}",
                f"{shown.fit_seconds:.2f}",
                f"{shown.latency_ms:.2f}",
            )
        )
    return rows


def render_table(report: DatasetReport) -> str:
    """A fixed-width table of one data set's results, then the comparison sentence."""
    rows = [_HEADER, *_rows(report)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADER))]
    lines = [
        (
            f"{report.dataset}: {report.users} users ({report.tied_users} with a tied test "
            f"item), {report.items} items, {report.interactions} interactions; test metrics "
            "after tuning on validation. 't-n': the tie-neutral run (items renumbered at "
            "random, same held-out items); HR, recall, coverage, times from it."
        )
    ]
    for n, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append(
        "chosen parameters (tie-neutral run): "
        + "; ".join(
            f"{r.name}: {_params(r)}" for r in report.tie_neutral or report.results if r.params
        )
    )
    with contextlib.suppress(KeyError):  # a run without the default or MostPopular
        lines.append(verdict(report).sentence())
    return "\n".join(lines)


def render_markdown(report: DatasetReport) -> str:
    """The same table in Markdown (for the docs page), with the chosen parameters."""
    neutral = {r.name: r for r in report.tie_neutral}
    lines = [
        "| " + " | ".join(_HEADER) + " | chosen on validation (t-n) |",
        "|" + "---|" * (len(_HEADER) + 1),
    ]
    for row, standard in zip(_rows(report), report.results, strict=True):
        chosen = _params(neutral.get(standard.name, standard))
        lines.append("| " + " | ".join(row) + f" | {chosen} |")
    return "\n".join(lines)


def _params(result: ModelResult) -> str:
    return ", ".join(f"{k}={v}" for k, v in result.params.items()) or "-"


def _figures(metrics: RankingMetrics) -> dict[str, float]:
    return {
        "users": metrics.users,
        "ndcg10": round(metrics.ndcg10, 5),
        "ndcg10_se": round(metrics.ndcg10_se, 5),
        "hr10": round(metrics.hr10, 5),
        "recall20": round(metrics.recall20, 5),
        "coverage10": round(metrics.coverage10, 5),
    }


def _model_json(result: ModelResult) -> dict[str, Any]:
    return {
        **_figures(result.test),
        "tied": _figures(result.tied),
        "untied": _figures(result.untied),
        "validation_ndcg10": round(result.validation_ndcg10, 5),
        "fit_s": round(result.fit_seconds, 3),
        "latency_ms": round(result.latency_ms, 3),
        "latency_p95_ms": round(result.latency_p95_ms, 3),
        "params": result.params,
    }


def report_json(reports: Sequence[DatasetReport]) -> dict[str, Any]:
    """Every figure of a run as one JSON-ready object."""
    datasets: dict[str, Any] = {}
    for report in reports:
        entry: dict[str, Any] = {
            "users": report.users,
            "tied_users": report.tied_users,
            "items": report.items,
            "interactions": report.interactions,
            "models": {r.name: _model_json(r) for r in report.results},
            "tie_neutral": {r.name: _model_json(r) for r in report.tie_neutral},
        }
        with contextlib.suppress(KeyError):
            entry["verdict"] = attrs.asdict(verdict(report))
        datasets[report.dataset] = entry
    return {
        "protocol": "leave-last-out full ranking (reclio eval movielens)",
        "tie_rule": "equal scores rank the smaller item index first",
        "datasets": datasets,
    }


def plot_ndcg(reports: Sequence[DatasetReport], path: Path) -> Path:
    """Draw NDCG@10 per model (bars with one standard error) for each data set into a PNG.

    Each model gets two bars: the tie-neutral run (dark) and the standard run (light).

    Raises:
        ConfigurationError: matplotlib is missing (it comes with the bench extra).
    """
    try:
        import matplotlib as mpl  # noqa: PLC0415 - optional, bench-only

        mpl.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError as exc:
        msg = f"plotting needs matplotlib: {BENCH_EXTRA_HINT}"
        raise ConfigurationError(msg) from exc
    height = max(4.5, 0.42 * max(len(r.results) for r in reports) + 1.5)
    figure, axes = plt.subplots(
        1, len(reports), figsize=(6.5 * len(reports), height), squeeze=False, sharey=True
    )
    for axis, report in zip(axes[0], reports, strict=True):
        neutral = {r.name: r for r in report.tie_neutral}
        names = [r.name for r in report.results]
        positions = list(range(len(names)))
        shown = [neutral.get(r.name, r) for r in report.results]
        axis.barh(
            [p - 0.2 for p in positions],
            [r.test.ndcg10 for r in shown],
            height=0.4,
            xerr=[r.test.ndcg10_se for r in shown],
            color=[_colour(name) for name in names],
            capsize=2,
            label="tie-neutral",
        )
        axis.barh(
            [p + 0.2 for p in positions],
            [r.test.ndcg10 for r in report.results],
            height=0.4,
            color=[_colour(name) for name in names],
            alpha=0.35,
            label="standard (ties by item id)",
        )
        axis.set_yticks(positions, names)
        axis.set_title(f"{report.dataset} ({report.users} users)")
        axis.set_xlabel("NDCG@10 on the test item (dark: tie-neutral, bars: one SE)")
        for y, result in zip(positions, shown, strict=True):
            value = result.test.ndcg10
            axis.text(
                value + result.test.ndcg10_se, y - 0.2, f"  {value:.3f}", va="center", fontsize=7
            )
        axis.legend(loc="lower right", fontsize=7)
    axes[0][0].invert_yaxis()  # the axes share y: inverting each would undo it
    figure.suptitle("reclio eval movielens: leave-last-out, full ranking")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _colour(name: str) -> str:
    if name == DEFAULT_MODEL:
        return "#2b7bba"
    if name.startswith(DEFAULT_MODEL):
        return "#8fbce0"
    if name.startswith(ESTABLISHED_PREFIX):
        return "#e08f3b"
    return "#999999"
