"""LocalRecommender: collaborative filtering in process, over reclio's own interactions."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

import numpy as np

from reclio.adapters.local._config import LocalRecommenderConfig
from reclio.adapters.local._model import (
    FittedModel,
    fit_ease,
    fit_itemknn,
    interaction_matrix,
)
from reclio.adapters.local._persist import read_state, write_state
from reclio.domain import Interaction, InteractionKind, ItemRef, MediaType, Title, WriteResult
from reclio.errors import SourceUnavailable
from reclio.ports import CatalogStore, HistoryStore, Recommender

if TYPE_CHECKING:
    from pathlib import Path

    import numpy.typing as npt

__all__ = ["LocalRecommender"]

_SERVICE = "local"
_NEGLIGIBLE = 1e-4
"""Profile weights below this fraction of the user's largest are left out of scoring."""


class DurableCopy(CatalogStore, HistoryStore, Protocol):
    """Where the engine's inputs are kept for good: the catalog and every user's history."""


class LocalRecommender(Recommender):
    """The embedded default :class:`~reclio.ports.Recommender`: EASE or item-kNN in process.

    Implements the ``Recommender`` port (and ``SupportsPing``); needs numpy and scipy, which
    reclio installs, and no service.

    Every interaction is kept (idempotent by :attr:`Interaction.key`). Fitting builds one
    item-to-item matrix from who interacted with what; ``recommend`` multiplies the user's
    *current* profile by it, so a user's new interactions count at once, without a refit.
    The matrix itself is refit by :meth:`fit` (call it after a content or user sync), or
    lazily by ``recommend``/``similar`` when no model exists yet or the interactions grew
    by more than ``config.refit_fraction`` since the last fit. Fits run in a worker thread.

    A user's profile weighs each title they interacted with by its confidence (views,
    bookmarks, ratings; see :class:`LocalRecommenderConfig`) and by recency. Users with no
    interactions, and titles the matrix does not cover, are ranked by popularity (number
    of users, then the catalog's ``popularity``), so ``recommend`` returns ``count``
    titles whenever the catalog holds that many the user has not seen.

    Stability: caller-stable; implementer-internal.

    Args:
        config: How to fit and score; the measured defaults when omitted.
    """

    def __init__(self, config: LocalRecommenderConfig | None = None) -> None:
        self.config = config or LocalRecommenderConfig()
        self._refs: list[ItemRef] = []
        self._index: dict[ItemRef, int] = {}
        self._catalog_popularity: list[float] = []
        self._is_movie: list[bool] = []
        self._arrays: tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]] | None = None
        self._interactions: dict[tuple[object, ...], Interaction] = {}
        self._by_user: dict[str, dict[tuple[object, ...], Interaction]] = {}
        self._model: FittedModel | None = None
        self._fitted_on = 0
        self._changes = 0
        self._profiles: dict[str, tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]] = {}
        self._lock = asyncio.Lock()

    # -- writes ---------------------------------------------------------------------------

    async def upsert_items(self, titles: Sequence[Title]) -> WriteResult[ItemRef]:
        """Add or update titles (their media type and catalog popularity); all confirmed."""
        for title in titles:
            index = self._intern(title.ref)
            self._catalog_popularity[index] = max(title.popularity, 0.0)
        self._arrays = None
        return WriteResult.all_ok(title.ref for title in titles)

    async def add_interactions(
        self, interactions: Sequence[Interaction]
    ) -> WriteResult[Interaction]:
        """Record interactions; one with a key already recorded is confirmed and replaced."""
        for interaction in interactions:
            key = interaction.key
            if key not in self._interactions:
                self._changes += 1
            self._intern(interaction.ref)
            self._interactions[key] = interaction
            self._by_user.setdefault(interaction.user_id, {})[key] = interaction
            self._profiles.pop(interaction.user_id, None)
        return WriteResult.all_ok(interactions)

    async def restore(self, store: DurableCopy, *, batch_size: int = 5000) -> int:
        """Load every stored title and recorded interaction: the engine's durable copy.

        The engine itself lives in process memory; what it learned is kept in the state
        store (user sync saves each user's history in the same transaction as the cursor
        that says it was pushed). A new process calls this before its first sync, so it
        recommends what every earlier process learned. Idempotent.

        Returns:
            How many interactions were loaded.

        Raises:
            SourceError: the store failed.
        """
        async for records in store.iter_titles(batch_size=batch_size):
            await self.upsert_items([record.title for record in records])
        loaded = 0
        async for interactions in store.iter_interactions(batch_size=batch_size):
            await self.add_interactions(interactions)
            loaded += len(interactions)
        return loaded

    def interactions_of(self, user_id: str) -> Sequence[Interaction]:
        """Every interaction recorded for ``user_id`` (in no particular order)."""
        return list(self._by_user.get(user_id, {}).values())

    @property
    def user_ids(self) -> Sequence[str]:
        """Every user with at least one recorded interaction, sorted."""
        return sorted(self._by_user)

    # -- fitting --------------------------------------------------------------------------

    async def fit(self) -> None:
        """Refit the item-to-item matrix on every interaction recorded so far.

        Raises:
            SourceUnavailable: the fit failed (e.g. not enough memory for the matrix).
        """
        async with self._lock:
            await self._fit_locked()

    async def _fit_locked(self) -> None:
        users, items, n_items = self._training_arrays()
        try:
            model = await asyncio.to_thread(self._fit_arrays, users, items, n_items)
        except (ValueError, MemoryError, np.linalg.LinAlgError) as exc:
            raise SourceUnavailable(
                f"fitting the local model failed: {exc}", service=_SERVICE, operation="fit"
            ) from exc
        self._model = model
        self._fitted_on = len(self._interactions)
        self._changes = 0

    def _training_arrays(
        self,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], int]:
        # Who interacted with what, once per (user, title): any interaction says the two
        # titles go together, even a bad rating; the sign is applied at scoring time.
        user_numbers: dict[str, int] = {}
        pairs = {
            (user_numbers.setdefault(i.user_id, len(user_numbers)), self._index[i.ref])
            for i in self._interactions.values()
        }
        users = np.fromiter((u for u, _ in pairs), dtype=np.int64, count=len(pairs))
        items = np.fromiter((t for _, t in pairs), dtype=np.int64, count=len(pairs))
        return users, items, len(self._refs)

    def _fit_arrays(
        self, users: npt.NDArray[np.int64], items: npt.NDArray[np.int64], n_items: int
    ) -> FittedModel:
        n_users = int(users.max()) + 1 if users.size else 0
        matrix = interaction_matrix(
            users, items, np.ones(users.shape[0], dtype=np.float32), (n_users, n_items)
        )
        config = self.config
        algorithm = config.algorithm
        if algorithm == "auto":
            support = np.asarray(matrix.getnnz(axis=0)).ravel()
            n_active = int((support >= config.min_support).sum())
            algorithm = "ease" if n_active <= config.ease_max_items else "itemknn"
        if algorithm == "ease":
            return fit_ease(matrix, l2=config.ease_l2, min_support=config.min_support)
        return fit_itemknn(matrix, neighbors=config.neighbors, shrinkage=config.shrinkage)

    async def _ensure_fresh(self) -> FittedModel:
        async with self._lock:
            stale = self._changes > self.config.refit_fraction * max(self._fitted_on, 1)
            if self._model is None or stale:
                await self._fit_locked()
            assert self._model is not None  # noqa: S101 - _fit_locked sets it or raises
            return self._model

    @property
    def algorithm(self) -> str | None:
        """The algorithm of the fitted model (``"ease"`` or ``"itemknn"``), ``None`` unfitted."""
        return None if self._model is None else self._model.algorithm

    @property
    def model_bytes(self) -> int:
        """Memory held by the fitted matrix and its arrays (0 when unfitted)."""
        return 0 if self._model is None else self._model.nbytes()

    # -- reads ----------------------------------------------------------------------------

    async def recommend(
        self,
        user_id: str,
        *,
        media_type: MediaType,
        count: int,
        exclude: Collection[ItemRef] = (),
    ) -> Sequence[ItemRef]:
        """Up to ``count`` titles of ``media_type`` for the user, best first.

        Titles the user interacted with and titles in ``exclude`` are never returned.

        Raises:
            SourceUnavailable: a needed refit failed.
        """
        if count <= 0 or not self._refs:
            return []
        model = await self._ensure_fresh()
        items, weights = self._profile(user_id)
        scores = self._scores(model, items, weights)
        banned = list(items)
        return self._top(scores, count, media_type, banned, exclude)

    async def similar(
        self,
        ref: ItemRef,
        *,
        count: int,
        media_type: MediaType | None = None,
        target_user: str | None = None,
        exclude: Collection[ItemRef] = (),
    ) -> Sequence[ItemRef]:
        """Up to ``count`` titles like ``ref`` (item-to-item), best first, never ``ref``.

        Only titles the fitted matrix links to ``ref`` are returned, so an unknown anchor or
        one without neighbours yields an empty result. With ``target_user``, the user's
        titles are left out and their own scores nudge the order.

        Raises:
            SourceUnavailable: a needed refit failed.
        """
        anchor = self._index.get(ref)
        if count <= 0 or anchor is None:
            return []
        model = await self._ensure_fresh()
        if anchor >= model.n_items:
            return []
        raw = model.neighbours(anchor)
        scores = np.full(len(self._refs), -np.inf, dtype=np.float64)
        linked = np.flatnonzero(raw > 0)
        top = float(raw[linked].max()) if linked.size else 0.0
        if top <= 0:
            return []
        scores[linked] = raw[linked] / top
        banned = [anchor]
        if target_user is not None:
            items, weights = self._profile(target_user)
            banned.extend(items.tolist())
            personal = self._scores(model, items, weights)[linked]
            scale = float(np.abs(personal).max()) if items.size else 0.0
            if scale > 0:
                scores[linked] += self.config.similar_personalization * personal / scale
        return self._top(scores, count, media_type, banned, exclude)

    async def ping(self) -> None:
        """Healthy whenever the process runs: the engine is in memory."""

    # -- persistence ----------------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write interactions, catalog and fitted model to the folder ``path`` (npz + json).

        Files are replaced atomically one by one; a model is saved only if fitted.
        """
        write_state(
            path,
            config=self.config,
            refs=self._refs,
            catalog_popularity=self._catalog_popularity,
            interactions=list(self._interactions.values()),
            model=self._model,
            fitted_on=self._fitted_on,
        )

    @classmethod
    def load(cls, path: Path, *, config: LocalRecommenderConfig | None = None) -> LocalRecommender:
        """A recommender restored from :meth:`save`'s folder (the fitted model included).

        Args:
            path: The folder :meth:`save` wrote.
            config: Replaces the saved configuration when given.

        Raises:
            FileNotFoundError: nothing saved at ``path``.
            DecodeError: the files are not a saved local recommender.
        """
        state = read_state(path)
        recommender = cls(config or state.config)
        for ref, popularity in zip(state.refs, state.catalog_popularity, strict=True):
            recommender._catalog_popularity[recommender._intern(ref)] = popularity
        recommender._arrays = None
        for interaction in state.interactions:
            recommender._interactions[interaction.key] = interaction
            recommender._by_user.setdefault(interaction.user_id, {})[interaction.key] = interaction
        recommender._model = state.model
        recommender._fitted_on = state.fitted_on
        recommender._changes = len(state.interactions) - state.fitted_on
        return recommender

    # -- internals ------------------------------------------------------------------------

    def _intern(self, ref: ItemRef) -> int:
        index = self._index.get(ref)
        if index is None:
            index = len(self._refs)
            self._index[ref] = index
            self._refs.append(ref)
            self._catalog_popularity.append(0.0)
            self._is_movie.append(ref.media_type is MediaType.MOVIE)
            self._arrays = None
        return index

    def _profile(self, user_id: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """The user's titles and their weights, newest first (cached until they change)."""
        profile = self._profiles.get(user_id)
        if profile is None:
            profile = self._profiles[user_id] = self._build_profile(user_id)
        return profile

    def _build_profile(self, user_id: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """The user's titles and their weights: confidence times recency."""
        history = self._by_user.get(user_id)
        if not history:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        config = self.config
        base: dict[ItemRef, float] = {}
        rating: dict[ItemRef, tuple[datetime, float]] = {}
        newest: dict[ItemRef, tuple[datetime, int]] = {}
        for interaction in history.values():
            ref = interaction.ref
            if interaction.kind is InteractionKind.BOOKMARK:
                weight = config.bookmark_weight
            else:
                weight = config.view_weight
            base[ref] = max(base.get(ref, 0.0), weight)
            if interaction.kind is InteractionKind.RATING and interaction.value is not None:
                previous = rating.get(ref)
                if previous is None or interaction.at >= previous[0]:
                    rating[ref] = (interaction.at, interaction.value)
            stamp = (interaction.at, ref.tmdb_id)
            if ref not in newest or stamp > newest[ref]:
                newest[ref] = stamp
        # Newest first, ties by the larger id: the same order the evaluation protocol uses.
        order = sorted(newest, key=newest.__getitem__, reverse=True)
        half_life = config.recency_half_life
        items = np.empty(len(order), dtype=np.int64)
        weights = np.empty(len(order), dtype=np.float32)
        for age, ref in enumerate(order):
            confidence = base[ref]
            if ref in rating:
                confidence += config.rating_influence * rating[ref][1]
            decay = 1.0 if half_life is None else math.pow(0.5, age / half_life)
            items[age] = self._index[ref]
            weights[age] = confidence * decay
        return items, weights

    def _scores(
        self,
        model: FittedModel,
        items: npt.NDArray[np.int64],
        weights: npt.NDArray[np.float32],
    ) -> npt.NDArray[np.float64]:
        n_total = len(self._refs)
        scores = np.zeros(n_total, dtype=np.float64)
        # Titles whose weight recency has decayed below 1e-4 of the largest change no
        # ranking; skipping them bounds the cost for users with thousands of titles.
        if weights.size:
            keep = np.abs(weights) >= _NEGLIGIBLE * float(np.abs(weights).max())
            items, weights = items[keep], weights[keep]
        known = items < model.n_items
        scores[: model.n_items] = model.score(items[known], weights[known])
        # Catalog popularity breaks the remaining ties (e.g. titles nobody interacted with).
        scores += self._catalog_arrays()[0]
        return scores

    def _catalog_arrays(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
        """Cached per-title arrays: the popularity tie-break and the is-a-movie flags."""
        if self._arrays is None:
            catalog = np.asarray(self._catalog_popularity, dtype=np.float64)
            top = float(catalog.max()) if catalog.size else 0.0
            tiebreak = catalog / top * 1e-9 if top > 0 else np.zeros_like(catalog)
            self._arrays = (tiebreak, np.asarray(self._is_movie, dtype=np.bool_))
        return self._arrays

    def _top(
        self,
        scores: npt.NDArray[np.float64],
        count: int,
        media_type: MediaType | None,
        banned: list[int],
        exclude: Collection[ItemRef],
    ) -> list[ItemRef]:
        scores = scores.copy()
        if banned:
            scores[np.asarray(banned, dtype=np.int64)] = -np.inf
        for ref in exclude:
            index = self._index.get(ref)
            if index is not None:
                scores[index] = -np.inf
        if media_type is not None:
            scores[self._media_mask(media_type)] = -np.inf
        allowed = int(np.isfinite(scores).sum())
        take = min(count, allowed)
        if take == 0:
            return []
        if take < scores.shape[0]:
            best = np.argpartition(-scores, take - 1)[:take]
        else:
            best = np.arange(scores.shape[0])
        best = best[np.lexsort((best, -scores[best]))]
        return [self._refs[i] for i in best]

    def _media_mask(self, media_type: MediaType) -> npt.NDArray[np.bool_]:
        """True where a title is *not* of ``media_type``."""
        is_movie = self._catalog_arrays()[1]
        return ~is_movie if media_type is MediaType.MOVIE else is_movie
