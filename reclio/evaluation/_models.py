"""The models the harness compares: MostPopular, LocalRecommender variants, baselines.

Each model is a name, a hyper-parameter grid and a ``fit`` that returns something able to
rank items for a user. LocalRecommender is driven through its public async port
(``upsert_items``, ``add_interactions``, ``fit``, ``recommend``), exactly as reclio uses
it. The classic baselines (EASE with an order-blind, rank-decayed or time-decayed
profile; first-order Markov transitions; sequential rules) are written here on the same
numerical core, the conventional way: a user's items ordered by (timestamp, item id), so
they show what the order among equal timestamps is worth. The established
implementations (``implicit``'s ALS, cosine and BM25 item-item models) are imported
lazily; they need ``pip install "reclio[bench]"``.

Every model ranks with the same rule at the cut-off: equal scores rank the smaller item
index first.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, Protocol

import attrs
import numpy as np
import scipy.sparse as sp

from reclio.adapters.local import LocalRecommender, LocalRecommenderConfig
from reclio.adapters.local._model import FittedModel, fit_ease, top_indices
from reclio.adapters.local._sequence import Timeline, fit_transitions
from reclio.domain import Interaction, ItemRef, MediaType, Title
from reclio.errors import ConfigurationError

if TYPE_CHECKING:
    import numpy.typing as npt

    from reclio.evaluation._datasets import RatingsDataset

__all__ = [
    "BENCH_EXTRA_HINT",
    "BenchModel",
    "EaseBaseline",
    "FittedBench",
    "ImplicitModel",
    "LocalModel",
    "MostPopular",
    "SequenceBaseline",
    "TrainingSet",
    "default_models",
    "expand_grid",
]

BENCH_EXTRA_HINT = 'pip install "reclio[bench]"'
Params = Mapping[str, Any]


def expand_grid(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of a grid, in order (the first value of each axis varies slowest)."""
    if not grid:
        return [{}]
    names = list(grid)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*grid.values())]


@attrs.frozen(eq=False)
class TrainingSet:
    """The interactions a model is fit on: row positions into one data set.

    Attributes:
        data: The data set.
        rows: Rows to fit on.
    """

    data: RatingsDataset
    rows: npt.NDArray[np.int64]

    @cached_property
    def matrix(self) -> sp.csr_matrix:
        """Users x items, 1 where a user rated an item (binary implicit feedback)."""
        data = self.data
        return sp.csr_matrix(
            (
                np.ones(len(self.rows), dtype=np.float32),
                (data.users[self.rows], data.items[self.rows]),
            ),
            shape=(data.n_users, data.n_items),
        )

    @cached_property
    def sequences(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Rows sorted by (user, timestamp, item id) and where each user's rows start.

        The conventional order of a user's history: ties of time broken by the larger id
        last, as the split rule does. Returns ``(ordered_rows, user_start)``, with
        ``user_start`` of length ``n_users + 1``.
        """
        data = self.data
        ids = np.asarray(data.item_ids, dtype=np.int64)[data.items[self.rows]]
        order = np.lexsort((ids, data.timestamps[self.rows], data.users[self.rows]))
        ordered = self.rows[order]
        counts = np.bincount(data.users[ordered], minlength=data.n_users)
        start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return ordered.astype(np.int64), start


class FittedBench(Protocol):
    """A fitted model: ranks unseen items for one user."""

    async def recommend(self, user: int, n: int) -> Sequence[int]:
        """The user's top ``n`` item indices, best first, never an item fit on."""
        ...


class BenchModel(Protocol):
    """A model the harness tunes, fits and scores."""

    @property
    def name(self) -> str:
        """Its name in the report."""
        ...

    def grid(self) -> list[dict[str, Any]]:
        """Hyper-parameter combinations to try on the validation items."""
        ...

    async def fit(self, train: TrainingSet, params: Params) -> FittedBench:
        """Fit with ``params`` on ``train``."""
        ...


def _top_unseen(
    scores: npt.NDArray[np.floating[Any]], seen: npt.NDArray[np.integer[Any]], n: int
) -> list[int]:
    ranked = np.array(scores, dtype=np.float64)
    ranked[seen] = -np.inf
    take = min(n, int(np.isfinite(ranked).sum()))
    return [int(i) for i in top_indices(ranked, take)]


def _seen(matrix: sp.csr_matrix, user: int) -> npt.NDArray[np.int32]:
    return np.asarray(matrix.indices[matrix.indptr[user] : matrix.indptr[user + 1]])


class _FittedPopular:
    def __init__(self, matrix: sp.csr_matrix) -> None:
        self._matrix = matrix
        self._counts = np.asarray(matrix.sum(axis=0), dtype=np.float64).ravel()

    async def recommend(self, user: int, n: int) -> Sequence[int]:
        return _top_unseen(self._counts, _seen(self._matrix, user), n)


@attrs.frozen
class MostPopular:
    """Items by how many users interacted with them, minus the user's own."""

    name: str = "MostPopular"

    def grid(self) -> list[dict[str, Any]]:
        """Nothing to tune."""
        return [{}]

    async def fit(self, train: TrainingSet, params: Params) -> FittedBench:  # noqa: ARG002
        """Count interactions per item."""
        return _FittedPopular(train.matrix)


class _FittedLocal:
    def __init__(self, recommender: LocalRecommender, train: TrainingSet) -> None:
        self._recommender = recommender
        self._train = train
        self._item_of: dict[ItemRef, int] = {ref: i for i, ref in enumerate(train.data.refs)}

    async def recommend(self, user: int, n: int) -> Sequence[int]:
        refs = await self._recommender.recommend(
            self._train.data.user_ids[user], media_type=MediaType.MOVIE, count=n
        )
        return [self._item_of[ref] for ref in refs]


def interactions_of(data: RatingsDataset) -> list[Interaction]:
    """Every rating of ``data`` as a reclio interaction (stars x 2 onto the 1..10 scale)."""
    return [
        Interaction.rating(
            data.user_ids[int(user)],
            data.refs[int(item)],
            float(stars) * 2,
            datetime.fromtimestamp(int(timestamp), UTC),
        )
        for user, item, stars, timestamp in zip(
            data.users, data.items, data.stars, data.timestamps, strict=True
        )
    ]


_LAST_LOCAL_FIT: list[tuple[TrainingSet, tuple[object, ...], LocalRecommender]] = []
"""The last two fitted LocalRecommenders: reused when the same rows come with the same
fit settings (grids over scoring settings then cost one fit per data set). Only a tuning
set can match: a final fit always has new rows."""


@attrs.frozen
class LocalModel:
    """A LocalRecommender variant: a base configuration and the grid tuned over it.

    Grid combinations that differ only in scoring settings (equal
    :meth:`LocalRecommenderConfig.fit_settings`) share one fit: the next combination
    replaces the fitted recommender's ``config``, which needs no refit.

    Attributes:
        name: Its name in the report.
        config: The configuration the grid varies.
        search: Field name -> values to try (empty: the configuration as it is). Put the
            fit settings first: the first axis varies slowest.
    """

    name: str
    config: LocalRecommenderConfig
    search: Mapping[str, Sequence[Any]] = attrs.field(factory=dict)
    _cache: dict[int, list[Interaction]] = attrs.field(factory=dict, eq=False, repr=False)

    def grid(self) -> list[dict[str, Any]]:
        """Every combination of :attr:`search`."""
        return expand_grid(self.search)

    async def fit(self, train: TrainingSet, params: Params) -> FittedBench:
        """Build a LocalRecommender through its port and fit it (or reuse the last fit)."""
        config = attrs.evolve(self.config, **params)
        settings = config.fit_settings()
        for last_train, last_settings, recommender in _LAST_LOCAL_FIT:
            same_rows = last_train.data is train.data and last_train.rows is train.rows
            if same_rows and last_settings == settings:
                recommender.config = config
                return _FittedLocal(recommender, train)
        data = train.data
        everything = self._cache.get(id(data))
        if everything is None:
            self._cache.clear()
            everything = self._cache[id(data)] = interactions_of(data)
        recommender = LocalRecommender(config)
        await recommender.upsert_items(
            [Title(ref, title) for ref, title in zip(data.refs, data.titles, strict=True)]
        )
        await recommender.add_interactions([everything[int(row)] for row in train.rows])
        await recommender.fit()
        _LAST_LOCAL_FIT[:] = [*_LAST_LOCAL_FIT[-1:], (train, settings, recommender)]
        return _FittedLocal(recommender, train)


class _FittedEase:
    def __init__(
        self,
        model: FittedModel,
        train: TrainingSet,
        weigh: Literal["none", "rank", "time"],
        decay: float,
    ) -> None:
        self._model = model
        self._train = train
        self._weigh = weigh
        self._decay = decay

    async def recommend(self, user: int, n: int) -> Sequence[int]:
        ordered, start = self._train.sequences
        rows = ordered[start[user] : start[user + 1]]
        data = self._train.data
        items = data.items[rows].astype(np.int64)
        if self._weigh == "rank":
            back = np.arange(rows.shape[0] - 1, -1, -1, dtype=np.float64)
            weights = 0.5 ** (back / self._decay)
        elif self._weigh == "time" and rows.size:
            times = data.timestamps[rows].astype(np.float64)
            weights = 0.5 ** ((times.max() - times) / self._decay)
        else:
            weights = np.ones(rows.shape[0])
        scores = self._model.score(items, weights.astype(np.float32))
        return _top_unseen(scores, items, n)


@attrs.frozen
class EaseBaseline:
    """EASE on binary feedback, with an order-blind, rank-decayed or time-decayed profile.

    ``"rank"``: the n-th newest item (ties by the larger id) weighs ``0.5 ** (n / h)``;
    ``"time"``: an item ``dt`` seconds before the user's newest weighs
    ``0.5 ** (dt / h)``. ``h`` is the grid's ``half_life``; ``l2`` the ridge penalty.

    Attributes:
        name: Its name in the report.
        weigh: ``"none"``, ``"rank"`` or ``"time"``.
        search: ``l2`` (and ``half_life`` unless ``"none"``) -> values to try.
    """

    name: str
    weigh: Literal["none", "rank", "time"]
    search: Mapping[str, Sequence[Any]]
    _last: list[tuple[TrainingSet, float, FittedModel]] = attrs.field(
        factory=list, eq=False, repr=False
    )

    def grid(self) -> list[dict[str, Any]]:
        """Every combination of :attr:`search`."""
        return expand_grid(self.search)

    async def fit(self, train: TrainingSet, params: Params) -> FittedBench:
        """Fit EASE (once per ``l2`` on one training set) and weigh profiles as asked."""
        l2 = float(params["l2"])
        if self._last and self._last[0][0] is train and self._last[0][1] == l2:
            model = self._last[0][2]
        else:
            model = fit_ease(train.matrix.astype(np.float32), l2=l2)
            self._last[:] = [(train, l2, model)]
        return _FittedEase(model, train, self.weigh, float(params.get("half_life", 1.0)))


class _FittedSequence:
    def __init__(self, transitions: sp.csr_matrix, train: TrainingSet) -> None:
        self._transitions = transitions
        self._train = train
        counts = np.asarray(train.matrix.sum(axis=0), dtype=np.float64).ravel()
        self._popularity = counts / (counts.max(initial=0.0) + 1.0) * 1e-6

    async def recommend(self, user: int, n: int) -> Sequence[int]:
        ordered, start = self._train.sequences
        rows = ordered[start[user] : start[user + 1]]
        items = self._train.data.items[rows]
        scores = self._popularity.copy()
        if rows.size:
            last = int(items[-1])
            row = self._transitions[last]
            scores[row.indices] += row.data
        return _top_unseen(scores, items, n)


@attrs.frozen
class SequenceBaseline:
    """What followed the user's last item: sequential rules (Ludewig & Jannach 2018).

    A user's items in (timestamp, item id) order give pairs ``a`` then ``b`` at most
    ``window`` places apart, weighted ``1 / distance``; the user's last item's row ranks
    the catalog (popularity breaks ties). ``window`` 1 is first-order Markov transitions.

    Attributes:
        name: Its name in the report.
        search: ``window`` -> values to try.
    """

    name: str
    search: Mapping[str, Sequence[Any]]

    def grid(self) -> list[dict[str, Any]]:
        """Every combination of :attr:`search`."""
        return expand_grid(self.search)

    async def fit(self, train: TrainingSet, params: Params) -> FittedBench:
        """Count the pairs."""
        ordered, _ = train.sequences
        data = train.data
        # Positions as times: every item its own place, ties already broken by id.
        line = Timeline(
            data.users[ordered].astype(np.int64),
            data.items[ordered].astype(np.int64),
            np.arange(ordered.shape[0], dtype=np.float64),
        )
        transitions = fit_transitions(
            line,
            data.n_items,
            window=int(params["window"]),
            session_weight=0.0,
            max_session=2,
            neighbors=None,
        )
        return _FittedSequence(transitions, train)


class _FittedImplicit:
    def __init__(self, model: Any, matrix: sp.csr_matrix) -> None:  # noqa: ANN401 - implicit is untyped
        self._model = model
        self._matrix = matrix

    async def recommend(self, user: int, n: int) -> Sequence[int]:
        ids, _ = self._model.recommend(
            user, self._matrix[user], N=n, filter_already_liked_items=True
        )
        return [int(i) for i in ids if i >= 0]


@attrs.frozen
class ImplicitModel:
    """One of ``implicit``'s models (an established implementation), on binary feedback.

    Attributes:
        name: Its name in the report.
        kind: ``"als"``, ``"cosine"`` or ``"bm25"``.
        search: Constructor argument -> values to try.
    """

    name: str
    kind: str
    search: Mapping[str, Sequence[Any]]

    def grid(self) -> list[dict[str, Any]]:
        """Every combination of :attr:`search`."""
        return expand_grid(self.search)

    async def fit(self, train: TrainingSet, params: Params) -> FittedBench:
        """Fit the implicit model (BLAS held to one thread, as implicit asks for ALS)."""
        modules = _import_implicit()
        threadpoolctl = modules["threadpoolctl"]
        # implicit warns unless BLAS runs on one thread while ALS is built and fit.
        with threadpoolctl.threadpool_limits(1, "blas"), warnings.catch_warnings():
            # implicit's own BM25/cosine weighting hands itself a COO matrix and warns.
            warnings.simplefilter("ignore", modules["utils"].ParameterWarning)
            if self.kind == "als":
                model = modules["als"].AlternatingLeastSquares(
                    **params, random_state=0, calculate_training_loss=False
                )
            elif self.kind == "cosine":
                model = modules["nn"].CosineRecommender(**params)
            else:
                model = modules["nn"].BM25Recommender(**params)
            model.fit(train.matrix, show_progress=False)
        return _FittedImplicit(model, train.matrix)


def _import_implicit() -> dict[str, Any]:
    try:
        import implicit.als  # noqa: PLC0415 - optional, bench-only
        import implicit.nearest_neighbours  # noqa: PLC0415
        import implicit.utils  # noqa: PLC0415
        import threadpoolctl  # noqa: PLC0415
    except ImportError as exc:
        msg = f"the established baselines need the implicit package: {BENCH_EXTRA_HINT}"
        raise ConfigurationError(msg) from exc
    return {
        "als": implicit.als,
        "nn": implicit.nearest_neighbours,
        "utils": implicit.utils,
        "threadpoolctl": threadpoolctl,
    }


def baselines_available() -> bool:
    """Whether ``implicit`` can be imported (the bench extra is installed)."""
    try:
        _import_implicit()
    except ConfigurationError:
        return False
    return True


def default_models(*, baselines: bool = True) -> list[BenchModel]:
    """The models of the standard run, in report order.

    ``"LocalRecommender"`` is ``LocalRecommender()`` exactly as shipped (its defaults come
    from ``benchmarks/local_defaults.py``, a validation-only grid on both data sets);
    ``"LocalRecommender (tuned)"`` tunes a grid around them per data set.

    Args:
        baselines: Include ``implicit``'s models (needs the bench extra).
    """
    default = LocalRecommenderConfig()
    models: list[BenchModel] = [
        MostPopular(),
        LocalModel("LocalRecommender", default),
        LocalModel(
            "LocalRecommender (tuned)",
            default,
            {
                "ease_l2": [50.0, 100.0, 200.0],
                "order_weight": [0.6, 0.9, 1.2],
                "time_decay_seconds": [600.0, 3600.0, 86400.0],
            },
        ),
        LocalModel(
            "LocalRecommender itemknn",
            attrs.evolve(default, algorithm="itemknn"),
            {"neighbors": [50, 200], "order_weight": [0.6, 0.9, 1.2]},
        ),
        LocalModel(
            "LocalRecommender no order",
            attrs.evolve(default, order_weight=0.0),
            {
                "ease_l2": [100.0, 200.0, 500.0],
                "time_decay_seconds": [60.0, 3600.0, 86400.0],
                "recency_half_life": [5.0, 10.0, None],
            },
        ),
        LocalModel(
            "LocalRecommender previous defaults",
            attrs.evolve(
                default,
                ease_l2=200.0,
                order_weight=0.0,
                time_decay_seconds=None,
                recency_half_life=10.0,
            ),
        ),
        EaseBaseline("EASE order-blind", "none", {"l2": [50.0, 100.0, 200.0, 500.0, 1000.0]}),
        EaseBaseline(
            "EASE rank-decayed",
            "rank",
            {"l2": [100.0, 200.0, 500.0, 1000.0], "half_life": [2.0, 5.0, 10.0]},
        ),
        EaseBaseline(
            "EASE time-decayed",
            "time",
            {
                "l2": [100.0, 200.0, 500.0, 1000.0],
                "half_life": [60.0, 600.0, 3600.0, 86400.0, 604800.0],
            },
        ),
        SequenceBaseline("Markov (last item)", {"window": [1]}),
        SequenceBaseline("sequential rules", {"window": [5, 10, 20]}),
    ]
    if baselines:
        models += [
            ImplicitModel(
                "implicit ALS",
                "als",
                {
                    "factors": [64, 128],
                    "regularization": [0.01, 0.1, 1.0],
                    "alpha": [1.0, 10.0],
                    "iterations": [15],
                },
            ),
            ImplicitModel("implicit cosine", "cosine", {"K": [20, 50, 100, 200]}),
            ImplicitModel("implicit BM25", "bm25", {"K": [20, 50, 100, 200]}),
        ]
    return models
