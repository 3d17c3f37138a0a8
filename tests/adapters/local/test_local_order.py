"""The local engine's time and order signals: what comes next, tie-neutral by construction."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from reclio.adapters.local import LocalRecommender, LocalRecommenderConfig
from reclio.adapters.local._model import top_indices
from reclio.adapters.local._sequence import (
    Timeline,
    fit_order,
    fit_transitions,
    keep_top_per_row,
)
from reclio.domain import Interaction, ItemRef, MediaType

AT = datetime(2024, 6, 1, tzinfo=UTC)
SEQUENCE = [ItemRef.movie(n) for n in (1, 2, 3, 4)]
"""Everyone watches these in this order; a noise title is watched by some, before all."""


def watched_in_order(users: int) -> list[Interaction]:
    history: list[Interaction] = []
    for user in range(users):
        start = AT + timedelta(days=user)
        if user % 2 == 0:
            history.append(Interaction.view(f"u{user}", ItemRef.movie(99), start))
        history += [
            Interaction.view(f"u{user}", ref, start + timedelta(hours=1 + step))
            for step, ref in enumerate(SEQUENCE)
        ]
    return history


@pytest.mark.anyio
async def test_recommend_puts_what_comes_next_first() -> None:
    """After watching 1 and 2, the title everyone watched next (3) comes first."""
    recommender = LocalRecommender()
    await recommender.add_interactions(watched_in_order(12))
    await recommender.add_interactions(
        [
            Interaction.view("new", SEQUENCE[0], AT + timedelta(days=40)),
            Interaction.view("new", SEQUENCE[1], AT + timedelta(days=40, hours=1)),
        ]
    )
    picks = await recommender.recommend("new", media_type=MediaType.MOVIE, count=2)
    assert picks[0] == SEQUENCE[2]


@pytest.mark.anyio
async def test_similar_reads_watched_next_after() -> None:
    """``similar(2)`` ranks the title watched right after 2 before the one watched before it."""
    recommender = LocalRecommender()
    await recommender.add_interactions(watched_in_order(12))
    picks = await recommender.similar(SEQUENCE[1], count=3)
    assert picks[0] == SEQUENCE[2]
    assert picks.index(SEQUENCE[2]) < picks.index(SEQUENCE[0])


@pytest.mark.anyio
async def test_without_order_similar_is_symmetric_again() -> None:
    """With ``order_weight=0`` no order is fitted: neighbours come from co-occurrence only."""
    recommender = LocalRecommender(LocalRecommenderConfig(order_weight=0.0))
    await recommender.add_interactions(watched_in_order(12))
    await recommender.fit()
    assert recommender.model_bytes > 0
    ordered = LocalRecommender()
    await ordered.add_interactions(watched_in_order(12))
    await ordered.fit()
    assert ordered.model_bytes > recommender.model_bytes  # the order matrix


@pytest.mark.anyio
async def test_changing_a_fit_setting_refits_and_a_scoring_setting_does_not() -> None:
    """A new ``config`` with other fit settings refits lazily; scoring changes reuse the fit."""
    recommender = LocalRecommender()
    await recommender.add_interactions(watched_in_order(6))
    await recommender.fit()
    with_order = recommender.model_bytes
    recommender.config = attrs.evolve(recommender.config, order_last=1.0)
    await recommender.recommend("u1", media_type=MediaType.MOVIE, count=1)
    assert recommender.model_bytes == with_order
    recommender.config = attrs.evolve(recommender.config, order_weight=0.0)
    await recommender.recommend("u1", media_type=MediaType.MOVIE, count=1)
    assert recommender.model_bytes < with_order


@pytest.mark.anyio
async def test_titles_sharing_a_timestamp_weigh_the_same() -> None:
    """Two titles saved at the same second are scored alike, whichever is listed first."""
    picks = []
    for first, second in ((1, 2), (2, 1)):
        recommender = LocalRecommender()
        await recommender.add_interactions(watched_in_order(12))
        await recommender.add_interactions(
            [
                Interaction.view("tied", ItemRef.movie(first), AT + timedelta(days=50)),
                Interaction.view("tied", ItemRef.movie(second), AT + timedelta(days=50)),
            ]
        )
        picks.append(await recommender.recommend("tied", media_type=MediaType.MOVIE, count=3))
    assert picks[0] == picks[1]


def test_transitions_count_only_later_pairs_within_the_window() -> None:
    """Next pairs need a strictly later time, weigh 1 / mid-rank distance, stop at the window."""
    users = np.zeros(4, dtype=np.int64)
    items = np.array([0, 1, 2, 3], dtype=np.int64)
    times = np.array([10.0, 20.0, 20.0, 30.0])  # 1 and 2 tie: mid-ranks 0, 1.5, 1.5, 3
    matrix = fit_transitions(
        Timeline(users, items, times),
        4,
        window=2,
        session_weight=0.0,
        max_session=50,
        neighbors=None,
    ).toarray()
    assert matrix[0, 1] == pytest.approx(1 / 1.5)
    assert matrix[0, 2] == pytest.approx(1 / 1.5)
    assert matrix[1, 2] == 0.0  # same timestamp: no order
    assert matrix[2, 1] == 0.0
    assert matrix[1, 3] == pytest.approx(1 / 1.5)
    assert matrix[0, 3] == 0.0  # distance 3 > window 2
    assert (np.tril(matrix) == 0).all()


def test_session_pairs_are_symmetric_and_bulk_imports_skipped() -> None:
    """Equal timestamps add ``session_weight`` both ways, unless the group is a bulk import."""
    users = np.array([0, 0, 1, 1, 1], dtype=np.int64)
    items = np.array([0, 1, 2, 3, 4], dtype=np.int64)
    times = np.array([5.0, 5.0, 7.0, 7.0, 7.0])
    line = Timeline(users, items, times)
    matrix = fit_transitions(
        line, 5, window=3, session_weight=0.5, max_session=2, neighbors=None
    ).toarray()
    assert matrix[0, 1] == matrix[1, 0] == pytest.approx(0.5)
    assert matrix[2:, 2:].sum() == 0.0  # a group of 3 > max_session


@st.composite
def histories(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    n_items = draw(st.integers(2, 12))
    rows = draw(st.integers(1, 40))
    users = draw(hnp.arrays(np.int64, rows, elements=st.integers(0, 4)))
    items = draw(hnp.arrays(np.int64, rows, elements=st.integers(0, n_items - 1)))
    # Few distinct times: ties are the rule, not the exception.
    times = draw(hnp.arrays(np.float64, rows, elements=st.sampled_from([1.0, 2.0, 3.0, 9.0])))
    pairs: dict[tuple[int, int], float] = {}
    for user, item, at in zip(users.tolist(), items.tolist(), times.tolist(), strict=True):
        pairs[(user, item)] = max(at, pairs.get((user, item), at))
    keys = sorted(pairs)
    return (
        np.array([u for u, _ in keys], dtype=np.int64),
        np.array([i for _, i in keys], dtype=np.int64),
        np.array([pairs[k] for k in keys], dtype=np.float64),
        n_items,
    )


@given(histories(), st.randoms(use_true_random=False))
def test_order_matrix_does_not_depend_on_how_ties_are_numbered(
    history: tuple[np.ndarray, np.ndarray, np.ndarray, int], rng: random.Random
) -> None:
    """Renumbering the titles at random renumbers the order matrix, nothing else."""
    users, items, times, n_items = history
    permutation = np.array(rng.sample(range(n_items), n_items), dtype=np.int64)

    def fit(line: Timeline) -> np.ndarray:
        return np.asarray(
            fit_order(
                line,
                n_items,
                window=3,
                session_weight=0.7,
                max_session=3,
                source_exponent=0.5,
                target_exponent=0.25,
                neighbors=n_items,
            ).toarray()
        )

    original = fit(Timeline(users, items, times))
    renumbered = fit(Timeline(users, permutation[items], times))
    back = renumbered[np.ix_(permutation, permutation)]
    np.testing.assert_allclose(back, original, rtol=1e-6)


@given(hnp.arrays(np.float64, st.integers(1, 60), elements=st.integers(-3, 3).map(float)))
def test_top_indices_follow_the_stated_rule(scores: np.ndarray) -> None:
    """The top k equal a full sort by score, equal scores by the smaller index."""
    expected = np.lexsort((np.arange(scores.shape[0]), -scores))
    for k in (1, 3, scores.shape[0]):
        assert top_indices(scores, k).tolist() == expected[:k].tolist()


@given(
    hnp.arrays(np.float32, (6, 6), elements=st.integers(0, 4).map(float)),
    st.integers(1, 6),
)
def test_keep_top_per_row_keeps_the_largest(dense: np.ndarray, k: int) -> None:
    """Each row keeps its k largest entries (ties: the smaller column), dropping the rest."""
    kept = keep_top_per_row(sp.csr_matrix(dense), k).toarray()
    for row, original in zip(kept, dense, strict=True):
        nonzero = np.flatnonzero(original)
        order = nonzero[np.lexsort((nonzero, -original[nonzero]))][:k]
        assert set(np.flatnonzero(row)) == set(order.tolist())
        np.testing.assert_array_equal(row[order], original[order])


@pytest.mark.anyio
async def test_the_order_matrix_is_saved_and_loaded(tmp_path: Path) -> None:
    """A loaded recommender keeps the order matrix and its fit (no refit on first use)."""
    recommender = LocalRecommender()
    await recommender.add_interactions(watched_in_order(8))
    await recommender.fit()
    recommender.save(tmp_path / "model")
    restored = LocalRecommender.load(tmp_path / "model")
    assert restored.model_bytes == recommender.model_bytes
    assert await restored.similar(SEQUENCE[1], count=3) == await recommender.similar(
        SEQUENCE[1], count=3
    )
    # Same interactions, so a refit would change nothing visible: the fitted-on count
    # would. Adding nothing and asking again must keep the loaded matrix object.
    loaded_model = restored._model
    await restored.recommend("u1", media_type=MediaType.MOVIE, count=2)
    assert restored._model is loaded_model
    changed = LocalRecommender.load(
        tmp_path / "model", config=LocalRecommenderConfig(order_weight=0.0)
    )
    await changed.recommend("u1", media_type=MediaType.MOVIE, count=2)
    assert changed.model_bytes < recommender.model_bytes
