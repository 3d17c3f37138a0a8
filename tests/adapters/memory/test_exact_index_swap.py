"""The exact index swaps a rebuild in whole: a query in another thread never mixes two."""

from __future__ import annotations

import sys
import threading

import numpy as np

from reclio.adapters.memory import ExactVectorIndex
from reclio.domain import ItemRef


def _pairs(count: int, dimension: int, seed: int) -> list[tuple[ItemRef, np.ndarray]]:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((count, dimension)).astype(np.float32)
    return [(ItemRef.movie(n + 1), vectors[n]) for n in range(count)]


def test_queries_during_rebuilds_see_one_build_or_the_other() -> None:
    """Rebuilds alternate between 200 x 8 and 50 x 16 while another thread queries by ref.

    A query that mixed the two (the new refs with the old matrix) would raise or return a
    ref the build it scored does not hold; every answer must come from one whole build.
    """
    small, large = _pairs(50, 16, 1), _pairs(200, 8, 2)
    answers = {
        len(pairs): {ref: _answer(pairs, ref) for ref, _ in pairs[:50]} for pairs in (small, large)
    }
    index = ExactVectorIndex()
    index.build(large)
    stop = threading.Event()
    failures: list[str] = []

    def rebuild() -> None:
        for n in range(400):  # bounded
            index.build(small if n % 2 else large)
        stop.set()

    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # interleave the two threads as finely as possible
    try:
        writer = threading.Thread(target=rebuild)
        writer.start()
        queries = 0
        while not stop.is_set() and queries < 20_000:
            ref = ItemRef.movie(queries % 50 + 1)
            try:
                hits = [hit for hit, _ in index.nearest(ref, k=3)]
            except (IndexError, ValueError) as exc:
                failures.append(repr(exc))
                continue
            finally:
                queries += 1
            if hits not in (answers[50][ref], answers[200][ref]):
                failures.append(f"{ref}: {hits}")
        writer.join(timeout=30)
    finally:
        sys.setswitchinterval(previous)
    assert not writer.is_alive()
    assert queries > 0
    assert failures == []


def _answer(pairs: list[tuple[ItemRef, np.ndarray]], ref: ItemRef) -> list[ItemRef]:
    alone = ExactVectorIndex()
    alone.build(pairs)
    return [hit for hit, _ in alone.nearest(ref, k=3)]
