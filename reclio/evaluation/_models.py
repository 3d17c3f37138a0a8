"""The models the harness compares: MostPopular, LocalRecommender variants, baselines.

Each model is a name, a hyper-parameter grid and a ``fit`` that returns something able to
rank items for a user. LocalRecommender is driven through its public async port
(``upsert_items``, ``add_interactions``, ``fit``, ``recommend``), exactly as reclio uses
it. The established implementations (``implicit``'s ALS, cosine and BM25 item-item
models) are imported lazily; they need ``pip install "reclio[bench]"``.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

import attrs
import numpy as np
import scipy.sparse as sp

from reclio.adapters.local import LocalRecommender, LocalRecommenderConfig
from reclio.domain import Interaction, ItemRef, MediaType, Title
from reclio.errors import ConfigurationError

if TYPE_CHECKING:
    import numpy.typing as npt

    from reclio.evaluation._datasets import RatingsDataset

__all__ = [
    "BENCH_EXTRA_HINT",
    "BenchModel",
    "FittedBench",
    "ImplicitModel",
    "LocalModel",
    "MostPopular",
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


def _top_unseen(scores: npt.NDArray[np.float64], seen: npt.NDArray[np.int32], n: int) -> list[int]:
    scores = scores.astype(np.float64, copy=True)
    scores[seen] = -np.inf
    take = min(n, int(np.isfinite(scores).sum()))
    best = np.argpartition(-scores, take - 1)[:take] if take else np.empty(0, np.int64)
    return [int(i) for i in best[np.lexsort((best, -scores[best]))]]


class _FittedPopular:
    def __init__(self, matrix: sp.csr_matrix) -> None:
        self._matrix = matrix
        self._counts = np.asarray(matrix.sum(axis=0), dtype=np.float64).ravel()

    async def recommend(self, user: int, n: int) -> Sequence[int]:
        seen = self._matrix.indices[self._matrix.indptr[user] : self._matrix.indptr[user + 1]]
        return _top_unseen(self._counts, seen, n)


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


@attrs.frozen
class LocalModel:
    """A LocalRecommender variant: a base configuration and the grid tuned over it.

    Attributes:
        name: Its name in the report.
        config: The configuration the grid varies.
        search: Field name -> values to try (empty: the configuration as it is).
    """

    name: str
    config: LocalRecommenderConfig
    search: Mapping[str, Sequence[Any]] = attrs.field(factory=dict)
    _cache: dict[int, list[Interaction]] = attrs.field(factory=dict, eq=False, repr=False)

    def grid(self) -> list[dict[str, Any]]:
        """Every combination of :attr:`search`."""
        return expand_grid(self.search)

    async def fit(self, train: TrainingSet, params: Params) -> FittedBench:
        """Build a LocalRecommender through its port and fit it."""
        data = train.data
        everything = self._cache.get(id(data))
        if everything is None:
            self._cache.clear()
            everything = self._cache[id(data)] = interactions_of(data)
        recommender = LocalRecommender(attrs.evolve(self.config, **params))
        await recommender.upsert_items(
            [Title(ref, title) for ref, title in zip(data.refs, data.titles, strict=True)]
        )
        await recommender.add_interactions([everything[int(row)] for row in train.rows])
        await recommender.fit()
        return _FittedLocal(recommender, train)


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

    Args:
        baselines: Include ``implicit``'s models (needs the bench extra).
    """
    default = LocalRecommenderConfig()
    models: list[BenchModel] = [
        MostPopular(),
        LocalModel(
            "LocalRecommender",
            default,
            {"ease_l2": [20.0, 100.0, 500.0, 1000.0], "recency_half_life": [2.0, 5.0, 10.0]},
        ),
        LocalModel("LocalRecommender (shipped defaults)", default),
        LocalModel(
            "LocalRecommender itemknn",
            attrs.evolve(default, algorithm="itemknn"),
            {"neighbors": [50, 200], "recency_half_life": [2.0, 5.0, 10.0]},
        ),
        LocalModel(
            "LocalRecommender no recency",
            attrs.evolve(default, recency_half_life=None),
            {"ease_l2": [20.0, 100.0, 500.0, 1000.0]},
        ),
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
