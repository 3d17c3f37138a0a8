"""The tie artifact: tied users, the tie-neutral view, the baselines that exploit ties, the rule."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from test_evaluation_protocol import write_100k  # the protocol tests' hand-made files

from reclio.adapters.local import LocalRecommenderConfig
from reclio.domain import ItemRef
from reclio.evaluation import (
    EaseBaseline,
    LocalModel,
    MostPopular,
    SequenceBaseline,
    evaluate,
    leave_last_out,
    load_movielens,
    paired_difference,
    render_markdown,
    render_table,
    report_json,
    tie_neutral_view,
    tied_test_users,
    verdict,
)
from reclio.evaluation._datasets import RatingsDataset
from reclio.evaluation._models import TrainingSet


def ladder(users: int = 30) -> RatingsDataset:
    """Every user rates items in pairs saved at one second; the larger id is the later one.

    User ``u`` rates items ``(2k, 2k + 1)`` at time ``k`` for ``k`` in ``u..u+4``: the held-out
    items are the two of the last second, the test item the larger. A model reading the
    (timestamp, id) order learns "the next item is the larger id of the same second".
    """
    user_rows, item_rows, times = [], [], []
    for user in range(users):
        for k in range(user % 7, user % 7 + 5):
            for item in (2 * k, 2 * k + 1):
                user_rows.append(user)
                item_rows.append(item)
                times.append(1000 + k)
    n_items = 2 * (7 + 5)
    order = np.lexsort((item_rows, user_rows))

    return RatingsDataset(
        name="ladder",
        user_ids=tuple(str(u) for u in range(users)),
        item_ids=tuple(range(1, n_items + 1)),
        refs=tuple(ItemRef.movie(n) for n in range(1, n_items + 1)),
        titles=tuple(f"item {n}" for n in range(1, n_items + 1)),
        users=np.array(user_rows, dtype=np.int64)[order],
        items=np.array(item_rows, dtype=np.int64)[order],
        stars=np.full(len(order), 4.0),
        timestamps=np.array(times, dtype=np.int64)[order],
    )


def test_tied_test_users_are_those_whose_test_item_shares_its_timestamp(tmp_path: Path) -> None:
    """User 1's test item (30) ties with 20 at t=500; user 3's does not."""
    data = load_movielens(write_100k(tmp_path / "d"))
    split = leave_last_out(data)
    assert tied_test_users(data, split).tolist() == [True, False]


def test_tie_neutral_view_keeps_the_held_out_items(tmp_path: Path) -> None:
    """Renumbered items, re-sorted rows, the same (user, item) in every part of the split."""
    data = ladder()
    split = leave_last_out(data)
    view, moved = tie_neutral_view(data, split, seed=3)

    def pairs(dataset: RatingsDataset, rows: np.ndarray) -> list[tuple[str, str]]:
        return sorted(
            (dataset.user_ids[dataset.users[r]], dataset.titles[dataset.items[r]]) for r in rows
        )

    for part in ("train", "validation", "test"):
        assert pairs(view, getattr(moved, part)) == pairs(data, getattr(split, part))
    assert view.item_ids == tuple(range(1, data.n_items + 1))
    assert view.titles != data.titles  # the numbering did change
    assert np.all(np.diff(view.users) >= 0)
    assert (moved.users == split.users).all()


def test_sequences_break_timestamp_ties_by_item_id() -> None:
    """The conventional order a baseline reads: time, then the larger id last."""
    data = ladder(1)
    ordered, start = TrainingSet(data, np.arange(len(data))).sequences
    assert data.items[ordered[start[0] : start[1]]].tolist() == list(range(10))


@pytest.mark.anyio
async def test_order_baselines_exploit_ties_and_the_engine_does_not() -> None:
    """On the ladder, Markov and sequential rules drop in the tie-neutral run; the engine
    and EASE without order by id score the same in both runs."""
    report = await evaluate(
        ladder(),
        [
            MostPopular(),
            SequenceBaseline("Markov (last item)", {"window": [1]}),
            SequenceBaseline("sequential rules", {"window": [3]}),
            EaseBaseline("EASE time-decayed", "time", {"l2": [1.0], "half_life": [10.0]}),
            LocalModel("LocalRecommender", LocalRecommenderConfig()),
        ],
    )
    markov = report.result("Markov (last item)")
    markov_neutral = report.result("Markov (last item)", tie_neutral=True)
    # "The larger id of the same second" is right for every user whose last pair others
    # rated too (26 of 30).
    assert markov.test.ndcg10 == pytest.approx(26 / 30)
    assert markov_neutral.test.ndcg10 < markov.test.ndcg10 - 0.2
    engine = report.result("LocalRecommender")
    engine_neutral = report.result("LocalRecommender", tie_neutral=True)
    assert engine.test.ndcg10 == pytest.approx(engine_neutral.test.ndcg10, abs=0.01)
    assert report.tied_users == report.users == 30
    assert engine.tied.users == 30
    assert engine.untied.users == 0
    text = render_table(report)
    assert "NDCG@10 t-n" in text
    assert "paired SE" in text
    assert "| LocalRecommender |" in render_markdown(report)
    document = report_json([report])["datasets"]["ladder"]
    assert set(document["tie_neutral"]) == set(document["models"])
    assert document["tied_users"] == 30
    outcome = verdict(report)
    assert outcome.tie_neutral
    assert outcome.next_best is not None


@pytest.mark.anyio
async def test_most_popular_breaks_equal_counts_by_the_smaller_index(tmp_path: Path) -> None:
    """Equal popularity ranks the smaller item index first, whatever a partial sort does."""
    data = load_movielens(write_100k(tmp_path / "d"))
    split = leave_last_out(data)
    fitted = await MostPopular().fit(TrainingSet(data, split.fit_rows(final=True)), {})
    counts = np.asarray(TrainingSet(data, split.fit_rows(final=True)).matrix.sum(axis=0)).ravel()
    picks = list(await fitted.recommend(int(split.users[-1]), 20))
    assert picks == sorted(picks, key=lambda item: (-counts[item], item))


def test_paired_difference_by_hand() -> None:
    """Mean and standard error of per-user differences."""
    mean, se = paired_difference([1.0, 0.5, 0.0, 0.25], [0.5, 0.5, 0.25, 0.0])
    differences = [0.5, 0.0, -0.25, 0.25]
    expected = sum(differences) / 4
    sd = math.sqrt(sum((d - expected) ** 2 for d in differences) / 3)
    assert mean == pytest.approx(expected)
    assert se == pytest.approx(sd / 2)
    with pytest.raises(ValueError, match="same users"):
        paired_difference([1.0], [1.0, 0.0])
