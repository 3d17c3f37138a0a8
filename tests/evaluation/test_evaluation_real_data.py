"""Smoke tests on the real MovieLens files (skipped when ../shared/data is absent)."""

from __future__ import annotations

from pathlib import Path

from reclio.evaluation import leave_last_out, load_movielens


def test_ml_100k_loads_and_splits(shared_data: Path) -> None:
    """ml-100k has 943 users, 1,682 movies and 100,000 ratings; every user is kept."""
    data = load_movielens(shared_data / "ml-100k")
    assert (data.n_users, data.n_items, len(data)) == (943, 1682, 100_000)
    split = leave_last_out(data)
    assert len(split.users) == 943
    assert len(split.train) == 100_000 - 2 * 943


def test_ml_latest_small_loads(shared_data: Path) -> None:
    """ml-latest-small has 610 users, 9,742 movies and 100,836 ratings, refs all distinct."""
    data = load_movielens(shared_data / "ml-latest-small")
    assert (data.n_users, data.n_items, len(data)) == (610, 9742, 100_836)
    assert len(set(data.refs)) == data.n_items
