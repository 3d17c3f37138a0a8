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
from reclio.evaluation._models import BENCH_EXTRA_HINT

__all__ = [
    "DEFAULT_MODEL",
    "ESTABLISHED_PREFIX",
    "POPULARITY_MODEL",
    "Verdict",
    "plot_ndcg",
    "render_table",
    "report_json",
    "verdict",
]

DEFAULT_MODEL = "LocalRecommender"
POPULARITY_MODEL = "MostPopular"
ESTABLISHED_PREFIX = "implicit "
"""Names of the established implementations start with this."""


@attrs.frozen
class Verdict:
    """The acceptance comparison on one data set.

    Attributes:
        dataset: Which data set.
        default: NDCG@10 of the default LocalRecommender.
        default_se: Its standard error.
        best_established: Name of the best established implementation (``None``: none ran).
        established: Its NDCG@10.
        established_se: Its standard error.
        popularity: NDCG@10 of MostPopular.
        beats_established: ``default >= established``.
        beats_popularity: ``default >= 1.5 * popularity``.
    """

    dataset: str
    default: float
    default_se: float
    best_established: str | None
    established: float
    established_se: float
    popularity: float
    beats_established: bool
    beats_popularity: bool

    def sentence(self) -> str:
        """The comparison in one line, with the noise level next to the gap."""
        ratio = self.default / self.popularity if self.popularity > 0 else math.inf
        parts = [
            (
                f"{self.dataset}: LocalRecommender NDCG@10 {self.default:.4f} "
                f"(SE {self.default_se:.4f}), {ratio:.2f}x MostPopular ({self.popularity:.4f})"
            )
        ]
        if self.best_established is not None:
            gap = self.default - self.established
            parts.append(
                f"{gap:+.4f} vs best established {self.best_established} "
                f"{self.established:.4f} (SE {self.established_se:.4f}; one held-out item "
                f"per user leaves about {max(self.default_se, self.established_se):.3f} of "
                "noise on each figure)"
            )
        return ", ".join(parts)


def verdict(report: DatasetReport) -> Verdict:
    """Compare the default LocalRecommender with the best established model and popularity."""
    default = report.result(DEFAULT_MODEL).test
    popularity = report.result(POPULARITY_MODEL).test
    established = [r for r in report.results if r.name.startswith(ESTABLISHED_PREFIX)]
    best = max(established, key=lambda r: r.test.ndcg10, default=None)
    return Verdict(
        dataset=report.dataset,
        default=default.ndcg10,
        default_se=default.ndcg10_se,
        best_established=None if best is None else best.name,
        established=0.0 if best is None else best.test.ndcg10,
        established_se=0.0 if best is None else best.test.ndcg10_se,
        popularity=popularity.ndcg10,
        beats_established=best is None or default.ndcg10 >= best.test.ndcg10,
        beats_popularity=default.ndcg10 >= 1.5 * popularity.ndcg10,
    )


_HEADER = ("model", "NDCG@10", "+-SE", "HR@10", "Recall@20", "Cov@10", "fit s", "ms/user")


def render_table(report: DatasetReport) -> str:
    """A fixed-width table of one data set's results, then the comparison sentence."""
    rows = [_HEADER]
    rows.extend(
        (
            r.name,
            f"{r.test.ndcg10:.4f}",
            f"{r.test.ndcg10_se:.4f}",
            f"{r.test.hr10:.4f}",
            f"{r.test.recall20:.4f}",
            f"{r.test.coverage10:.3f}",
            f"{r.fit_seconds:.2f}",
            f"{r.latency_ms:.2f}",
        )
        for r in report.results
    )
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADER))]
    lines = [
        (
            f"{report.dataset}: {report.users} users, {report.items} items, "
            f"{report.interactions} interactions; test metrics after tuning on validation"
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
        "chosen parameters: "
        + "; ".join(f"{r.name}: {_params(r)}" for r in report.results if r.params)
    )
    with contextlib.suppress(KeyError):  # a run without the default or MostPopular
        lines.append(verdict(report).sentence())
    return "\n".join(lines)


def render_markdown(report: DatasetReport) -> str:
    """The same table in Markdown (for the docs page)."""
    lines = [
        "| " + " | ".join(_HEADER) + " | chosen parameters |",
        "|" + "---|" * (len(_HEADER) + 1),
    ]
    lines.extend(
        f"| {r.name} | {r.test.ndcg10:.4f} | {r.test.ndcg10_se:.4f} | {r.test.hr10:.4f} | "
        f"{r.test.recall20:.4f} | {r.test.coverage10:.3f} | {r.fit_seconds:.2f} | "
        f"{r.latency_ms:.2f} | {_params(r)} |"
        for r in report.results
    )
    return "\n".join(lines)


def _params(result: ModelResult) -> str:
    return ", ".join(f"{k}={v}" for k, v in result.params.items()) or "-"


def report_json(reports: Sequence[DatasetReport]) -> dict[str, Any]:
    """Every figure of a run as one JSON-ready object."""
    datasets: dict[str, Any] = {}
    for report in reports:
        entry: dict[str, Any] = {
            "users": report.users,
            "items": report.items,
            "interactions": report.interactions,
            "models": {
                r.name: {
                    "ndcg10": round(r.test.ndcg10, 5),
                    "ndcg10_se": round(r.test.ndcg10_se, 5),
                    "hr10": round(r.test.hr10, 5),
                    "recall20": round(r.test.recall20, 5),
                    "coverage10": round(r.test.coverage10, 5),
                    "validation_ndcg10": round(r.validation_ndcg10, 5),
                    "fit_s": round(r.fit_seconds, 3),
                    "latency_ms": round(r.latency_ms, 3),
                    "latency_p95_ms": round(r.latency_p95_ms, 3),
                    "params": r.params,
                }
                for r in report.results
            },
        }
        with contextlib.suppress(KeyError):
            entry["verdict"] = attrs.asdict(verdict(report))
        datasets[report.dataset] = entry
    return {"protocol": "leave-last-out full ranking (reclio eval movielens)", "datasets": datasets}


def plot_ndcg(reports: Sequence[DatasetReport], path: Path) -> Path:
    """Draw NDCG@10 per model (bars with one standard error) for each data set into a PNG.

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
    figure, axes = plt.subplots(
        1, len(reports), figsize=(6 * len(reports), 4.5), squeeze=False, sharey=True
    )
    for axis, report in zip(axes[0], reports, strict=True):
        names = [r.name for r in report.results]
        values = [r.test.ndcg10 for r in report.results]
        errors = [r.test.ndcg10_se for r in report.results]
        colours = [_colour(name) for name in names]
        axis.barh(names, values, xerr=errors, color=colours, capsize=3)
        axis.invert_yaxis()
        axis.set_title(f"{report.dataset} ({report.users} users)")
        axis.set_xlabel("NDCG@10 on the test item (bars: one standard error)")
        for y, (value, error) in enumerate(zip(values, errors, strict=True)):
            axis.text(value + error, y, f"  {value:.3f}", va="center", fontsize=8)
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
