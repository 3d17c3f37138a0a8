"""When LocalRecommender fits: never on nothing, never twice on the same data, never on the loop."""

from __future__ import annotations

import asyncio
import threading
import warnings
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from unittest.mock import patch

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from reclio.adapters.local import LocalRecommender, LocalRecommenderConfig
from reclio.adapters.local import _model as model_module
from reclio.adapters.local import _recommender as engine_module
from reclio.domain import Interaction, InteractionKind, ItemRef, MediaType, Title
from reclio.testing.contracts.recommender import checkerboard

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy.typing as npt

    from reclio.adapters.local._model import FittedModel

AT = datetime(2024, 6, 1, tzinfo=UTC)
CATALOG = [Title(ItemRef.movie(n), f"Movie {n}", popularity=float(n)) for n in range(1, 21)]
BY_CATALOG_POPULARITY = [ItemRef.movie(n) for n in range(20, 15, -1)]


def view(user: str, movie: int, minutes: int = 0) -> Interaction:
    return Interaction.view(user, ItemRef.movie(movie), AT + timedelta(minutes=minutes))


class FitCalls:
    """Wraps the engine's fit function: counts the calls and notes each one's thread."""

    def __init__(self, during: Callable[[], object] = lambda: None) -> None:
        self.threads: list[int] = []
        self.during = during
        self._real = engine_module._fit_snapshot

    def __call__(
        self, snapshot: engine_module._Snapshot, config: LocalRecommenderConfig
    ) -> FittedModel:
        self.threads.append(threading.get_ident())
        self.during()
        return self._real(snapshot, config)


@pytest.fixture
def fits(monkeypatch: pytest.MonkeyPatch) -> FitCalls:
    calls = FitCalls()
    monkeypatch.setattr(engine_module, "_fit_snapshot", calls)
    return calls


async def engine_with(
    interactions: list[Interaction], config: LocalRecommenderConfig | None = None
) -> LocalRecommender:
    recommender = LocalRecommender(config)
    await recommender.upsert_items(CATALOG)
    await recommender.add_interactions(interactions)
    return recommender


NEAR_EMPTY = {
    "no interactions": [],
    "one interaction": [view("u", 1)],
    "one title, three users": [view("u", 1), view("v", 1), view("w", 1)],
    "one user, one title twice": [view("u", 1), view("u", 1, minutes=5)],
}


@pytest.mark.anyio
@pytest.mark.parametrize("algorithm", ["auto", "ease", "itemknn"])
@pytest.mark.parametrize("case", sorted(NEAR_EMPTY))
async def test_nothing_to_learn_fits_nothing_and_prints_nothing(
    capfd: pytest.CaptureFixture[str], fits: FitCalls, case: str, algorithm: str
) -> None:
    """Under two titles with interactions: no fit, no warning, no LAPACK line, unfitted."""
    config = LocalRecommenderConfig(algorithm=algorithm)  # type: ignore[arg-type]
    recommender = await engine_with(NEAR_EMPTY[case], config)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        await recommender.fit()
        cold = await recommender.recommend("nobody", media_type=MediaType.MOVIE, count=5)
        anchored = await recommender.similar(ItemRef.movie(1), count=5)
        shows = await recommender.recommend("nobody", media_type=MediaType.TV, count=5)
    assert capfd.readouterr() == ("", "")
    assert fits.threads == []
    assert recommender.algorithm is None
    assert recommender.model_bytes == 0
    assert anchored == []
    assert shows == []
    # Popularity: the one title people met (if any), then the catalog's popularity.
    met = [ItemRef.movie(1)] if NEAR_EMPTY[case] else []
    assert cold == [*met, *[ref for ref in BY_CATALOG_POPULARITY if ref not in met]][:5]


@pytest.mark.anyio
async def test_unfitted_engine_leaves_out_the_users_own_titles(fits: FitCalls) -> None:
    """Unfitted, a user's seen title is never recommended back; others still get it first."""
    recommender = await engine_with([view("u", 1), view("v", 1)])
    assert ItemRef.movie(1) not in await recommender.recommend(
        "u", media_type=MediaType.MOVIE, count=20
    )
    excluded = await recommender.recommend(
        "nobody", media_type=MediaType.MOVIE, count=2, exclude={ItemRef.movie(1)}
    )
    assert excluded == BY_CATALOG_POPULARITY[:2]
    assert fits.threads == []


@pytest.mark.anyio
async def test_empty_catalog_answers_empty() -> None:
    """No title at all: fit does nothing, recommend and similar return nothing."""
    recommender = LocalRecommender()
    await recommender.fit()
    assert await recommender.recommend("u", media_type=MediaType.MOVIE, count=3) == []
    assert await recommender.similar(ItemRef.movie(1), count=3) == []
    assert recommender.algorithm is None


@pytest.mark.anyio
async def test_no_title_reaching_min_support_fits_without_lapack(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Two titles but none with ``min_support`` users: EASE fits empty, the order part works."""
    recommender = await engine_with(
        [view("u", 1), view("u", 2, minutes=1)], LocalRecommenderConfig(min_support=2)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        await recommender.fit()
        following = await recommender.similar(ItemRef.movie(1), count=3)
    assert capfd.readouterr() == ("", "")
    assert recommender.algorithm == "ease"
    assert following == [ItemRef.movie(2)]  # the order signal: watched next after 1


@pytest.mark.anyio
async def test_second_title_makes_the_next_call_fit(fits: FitCalls) -> None:
    """The interaction that brings a second title ends the unfitted state at once."""
    recommender = await engine_with([view("u", 1)], LocalRecommenderConfig(refit_fraction=10.0))
    assert await recommender.similar(ItemRef.movie(1), count=3) == []
    await recommender.add_interactions([view("u", 2, minutes=1)])
    assert await recommender.similar(ItemRef.movie(1), count=3) == [ItemRef.movie(2)]
    assert recommender.algorithm == "ease"
    assert len(fits.threads) == 1


@pytest.mark.anyio
async def test_enough_data_fits_silently(capfd: pytest.CaptureFixture[str]) -> None:
    """The checkerboard fits with warnings as errors and nothing on stdout or stderr."""
    board = checkerboard()
    recommender = LocalRecommender()
    await recommender.upsert_items(board.titles)
    await recommender.add_interactions(board.interactions)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        await recommender.fit()
        picks = await recommender.recommend("a3", media_type=MediaType.MOVIE, count=1)
    assert capfd.readouterr() == ("", "")
    assert recommender.algorithm == "ease"
    assert recommender.model_bytes > 0
    assert picks == [board.withheld["a3"]]


@pytest.mark.anyio
async def test_fit_without_new_interactions_does_not_refit(fits: FitCalls) -> None:
    """fit() refits only on new interactions or new fit settings, not on re-sent ones."""
    recommender = await engine_with([view("u", 1), view("u", 2, minutes=1), view("v", 2)])
    await recommender.fit()
    await recommender.fit()
    await recommender.add_interactions([view("v", 2)])  # already recorded
    await recommender.upsert_items(CATALOG)
    await recommender.fit()
    assert len(fits.threads) == 1
    await recommender.add_interactions([view("v", 3, minutes=2)])
    await recommender.fit()
    assert len(fits.threads) == 2
    recommender.config = LocalRecommenderConfig(order_weight=0.0)
    await recommender.fit()
    assert len(fits.threads) == 3


def many_interactions(users: int = 150, per_user: int = 20) -> list[Interaction]:
    """A few thousand views over the catalog, Zipf-like, each user's an hour apart."""
    picks = np.random.default_rng(7).pareto(0.8, size=(users, per_user)) + 1
    movies = np.minimum(picks, len(CATALOG)).astype(int)
    return [
        view(f"u{user}", int(movies[user, step]), minutes=60 * step)
        for user in range(users)
        for step in range(per_user)
    ]


@pytest.mark.anyio
@pytest.mark.parametrize("entry", ["fit", "recommend"])
async def test_fit_runs_in_a_worker_thread_while_the_loop_keeps_ticking(
    monkeypatch: pytest.MonkeyPatch, entry: str
) -> None:
    """The fit runs off the loop's thread, and the loop ticks while it runs.

    The fit waits (in its thread) until a ticker on the loop has ticked: were the fit on
    the loop, the ticker could not run and the wait would end unset after its bound.
    """
    loop_thread = threading.get_ident()
    loop = asyncio.get_running_loop()
    started = asyncio.Event()
    ticked = threading.Event()
    waited: list[bool] = []

    def in_the_fit() -> None:
        loop.call_soon_threadsafe(started.set)
        waited.append(ticked.wait(timeout=10))

    calls = FitCalls(during=in_the_fit)
    monkeypatch.setattr(engine_module, "_fit_snapshot", calls)
    recommender = await engine_with(many_interactions())
    ticks_during_fit = 0

    async def ticker() -> None:
        nonlocal ticks_during_fit
        await started.wait()
        while not waited:
            ticks_during_fit += 1
            ticked.set()
            await asyncio.sleep(0.001)

    task = asyncio.create_task(ticker())
    if entry == "fit":
        await recommender.fit()
    else:
        await recommender.recommend("u1", media_type=MediaType.MOVIE, count=3)
    await task
    assert len(calls.threads) == 1
    assert calls.threads[0] != loop_thread
    assert waited == [True]
    assert ticks_during_fit >= 1
    assert recommender.algorithm == "ease"


@pytest.mark.anyio
async def test_interactions_added_during_a_fit_make_the_next_fit_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The fit reads a copy; what the loop adds meanwhile is still new to the next fit."""
    loop = asyncio.get_running_loop()
    started = asyncio.Event()
    added = threading.Event()

    def in_the_fit() -> None:
        loop.call_soon_threadsafe(started.set)
        added.wait(timeout=10)

    calls = FitCalls(during=in_the_fit)
    monkeypatch.setattr(engine_module, "_fit_snapshot", calls)
    recommender = await engine_with(many_interactions(users=20, per_user=5))

    async def add_while_fitting() -> None:
        await started.wait()
        await recommender.add_interactions([view("late", 1), view("late", 2, minutes=1)])
        added.set()

    task = asyncio.create_task(add_while_fitting())
    await recommender.fit()
    await task
    await recommender.fit()
    assert len(calls.threads) == 2


_interactions = st.lists(
    st.builds(
        lambda kind, user, movie, minutes: kind(
            f"u{user}", ItemRef.movie(movie), AT + timedelta(minutes=minutes)
        ),
        st.sampled_from(
            [
                Interaction.view,
                Interaction.bookmark,
                lambda user, ref, at: Interaction.rating(user, ref, 7, at),
            ]
        ),
        st.integers(0, 4),
        st.integers(1, 6),
        st.integers(0, 5),
    ),
    max_size=40,
)


@given(_interactions)
def test_training_arrays_hold_each_pair_once_and_its_newest_watch(
    interactions: list[Interaction],
) -> None:
    """Pairs: every (user, title) once; order: each watched pair's newest view or rating."""
    numbers = {ItemRef.movie(n): n - 1 for n in range(1, 7)}
    training = engine_module._training_arrays(engine_module._Snapshot(interactions, numbers, 6))
    users = list(dict.fromkeys(i.user_id for i in interactions))  # numbered as first seen
    pairs = sorted(zip(training.users.tolist(), training.items.tolist(), strict=True))
    assert pairs == sorted({(users.index(i.user_id), numbers[i.ref]) for i in interactions})
    newest: dict[tuple[int, int], float] = {}
    for i in interactions:
        if i.kind is not InteractionKind.BOOKMARK:
            pair = (users.index(i.user_id), numbers[i.ref])
            newest[pair] = max(newest.get(pair, -np.inf), i.at.timestamp())
    order = zip(
        training.order_users.tolist(),
        training.order_items.tolist(),
        training.order_times.tolist(),
        strict=True,
    )
    assert sorted(order) == sorted((*pair, at) for pair, at in newest.items())
    assert training.n_items == 6


def _spd(draw_size: int, seed: int, ridge: float) -> npt.NDArray[np.float32]:
    """A Gram matrix plus a ridge, as EASE inverts: symmetric positive definite."""
    rng = np.random.default_rng(seed)
    rows = (rng.random((draw_size + 3, draw_size)) < 0.3).astype(np.float32)
    gram = rows.T @ rows
    gram[np.diag_indices_from(gram)] += np.float32(ridge)
    return gram


@given(st.integers(1, 40), st.integers(0, 2**32 - 1), st.floats(0.5, 200.0))
def test_the_inverse_by_blocks_is_the_inverse(size: int, seed: int, ridge: float) -> None:
    """With blocks of at most 4 rows, the Schur-complement inverse is the inverse, as close
    to the exact one as a single factorization of the whole matrix."""
    matrix = _spd(size, seed, ridge)
    exact = np.linalg.inv(matrix.astype(np.float64))
    whole = model_module._cholesky_inverse(matrix)
    with patch.object(model_module, "_LEAF", 4):
        blocks = model_module._spd_inverse(matrix)
    scale = float(np.abs(exact).max())
    assert np.abs(whole - exact).max() <= 1e-4 * scale
    assert np.abs(blocks - exact).max() <= 1e-4 * scale
    assert np.allclose(blocks, blocks.T, atol=1e-5 * scale)
    assert np.allclose(blocks @ matrix, np.eye(size), atol=1e-3)


def test_ease_factorizes_small_blocks_only() -> None:
    """One LAPACK call on the whole Gram matrix held the interpreter lock for seconds (the
    event loop stalled, the fit's worker thread notwithstanding): EASE factorizes no block
    larger than ``_LEAF`` rows, and fits the same weights as one call on the whole."""
    rng = np.random.default_rng(3)
    matrix = sp.csr_matrix((rng.random((60, 30)) < 0.2).astype(np.float32))
    sizes: list[int] = []
    real = model_module._cholesky_inverse

    def spy(block: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        sizes.append(block.shape[0])
        return real(block)

    whole = model_module.fit_ease(matrix, l2=10.0)
    with (
        patch.object(model_module, "_LEAF", 8),
        patch.object(model_module, "_cholesky_inverse", spy),
    ):
        blocked = model_module.fit_ease(matrix, l2=10.0)
    assert sizes
    assert max(sizes) <= 8
    assert sum(sizes) == whole.dense.shape[0]  # every row inverted once, in some leaf
    assert np.allclose(blocked.dense, whole.dense, atol=1e-6)


def test_a_matrix_that_is_not_positive_definite_is_refused_by_blocks() -> None:
    """The block that is not positive definite says so, naming the fix."""
    matrix = -np.eye(12, dtype=np.float32)
    with patch.object(model_module, "_LEAF", 4), pytest.raises(ValueError, match="raise l2"):
        model_module._spd_inverse(matrix)
