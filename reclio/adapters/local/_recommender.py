"""LocalRecommender: collaborative filtering and order in process, over reclio's interactions."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple, Protocol

import numpy as np

from reclio.adapters.local._config import LocalRecommenderConfig
from reclio.adapters.local._model import (
    FittedModel,
    fit_ease,
    fit_itemknn,
    interaction_matrix,
    popularity_tiebreak,
    top_indices,
    unit,
)
from reclio.adapters.local._persist import read_state, write_state
from reclio.adapters.local._sequence import Timeline, fit_order
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
_MIN_TITLES = 2
"""Titles with interactions a fit needs: with fewer, neither matrix links two titles."""


class DurableCopy(CatalogStore, HistoryStore, Protocol):
    """Where the engine's inputs are kept for good: the catalog and every user's history."""


class _Profile(NamedTuple):
    """What scoring reads of one user: weighted titles for each of the two signals."""

    items: npt.NDArray[np.int64]
    """Every title of the user (collaborative part)."""
    weights: npt.NDArray[np.float32]
    """Their weights: confidence x time decay x rank decay."""
    last_items: npt.NDArray[np.int64]
    """The newest viewed or rated titles (order part)."""
    last_weights: npt.NDArray[np.float32]
    """Their weights: decay by places back from the newest."""


_EMPTY = _Profile(
    np.empty(0, dtype=np.int64),
    np.empty(0, dtype=np.float32),
    np.empty(0, dtype=np.int64),
    np.empty(0, dtype=np.float32),
)


class _Snapshot(NamedTuple):
    """What a fit reads, copied on the event loop so the worker thread never sees a change."""

    interactions: list[Interaction]
    numbers: dict[ItemRef, int]
    """Each title's index."""
    n_items: int


class _Training(NamedTuple):
    """The arrays a fit reads, built from the recorded interactions."""

    users: npt.NDArray[np.int64]
    """User number of each (user, title) pair, any kind."""
    items: npt.NDArray[np.int64]
    """Title of each pair."""
    order_users: npt.NDArray[np.int64]
    """User number of each viewed or rated (user, title) pair."""
    order_items: npt.NDArray[np.int64]
    """Title of each of those."""
    order_times: npt.NDArray[np.float64]
    """Newest view or rating of each of those, Unix seconds."""
    n_items: int


class LocalRecommender(Recommender):
    """The embedded default :class:`~reclio.ports.Recommender`: EASE or item-kNN in process.

    Implements the ``Recommender`` port (and ``SupportsPing``); needs numpy and scipy, which
    reclio installs, and no service.

    Every interaction is kept (idempotent by :attr:`Interaction.key`). Fitting builds one
    item-to-item matrix from who interacted with what; ``recommend`` multiplies the user's
    *current* profile by it, so a user's new interactions count at once, without a refit.
    The matrix itself is refit by :meth:`fit` (call it after a content or user sync; it
    does nothing when no interaction was added since the last fit), or lazily by
    ``recommend``/``similar`` when no model exists yet or the interactions grew by more
    than ``config.refit_fraction`` since the last fit. Until two titles have interactions
    there is nothing to learn: no fit runs, the engine stays unfitted (``algorithm`` is
    ``None``), ``recommend`` ranks by popularity and ``similar`` finds nothing. A fit
    copies the interactions on the event loop and does all the rest in a worker thread.

    A user's profile weighs each title they interacted with by its confidence (views,
    bookmarks, ratings; see :class:`LocalRecommenderConfig`), by the real time since it
    relative to the user's newest interaction, and by rank. Fitting also learns an order
    matrix ("what people watch next", only across distinct timestamps); ``recommend``
    blends what follows the user's newest titles into the collaborative score and
    ``similar`` ranks what is watched next after the anchor first. Users with no
    interactions, and titles the matrices do not cover, are ranked by popularity (number
    of users, then the catalog's ``popularity``), so ``recommend`` returns ``count``
    titles whenever the catalog holds that many the user has not seen. Equal scores rank
    the title the engine learned of first.

    ``config`` may be replaced at any time: the next call scores with it, and refits first
    only if its :meth:`~LocalRecommenderConfig.fit_settings` differ from the fitted ones.

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
        self._fitted_settings: tuple[object, ...] | None = None
        self._fitted_on = 0
        self._interacted: set[int] = set()
        self._profiles: dict[str, _Profile] = {}
        self._profiles_config = self.config
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
            self._interacted.add(self._intern(interaction.ref))
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

        Does nothing when there is nothing new to learn: no interaction was added and no fit
        setting changed since the last fit, or fewer than two titles have interactions (the
        engine then stays unfitted and ranks by popularity).

        Raises:
            SourceUnavailable: the fit failed (e.g. not enough memory for the matrix).
        """
        async with self._lock:
            if self._stale(tolerance=0.0):
                await self._fit_locked()

    def _stale(self, *, tolerance: float) -> bool:
        """Whether a fit would learn something: the model is missing or older than allowed.

        Args:
            tolerance: Growth of the interactions since the last fit, as a fraction of the
                interactions it read, that still counts as fresh (0: any new one is stale).
        """
        if len(self._interacted) < _MIN_TITLES:
            return False
        if self._model is None or self._fitted_settings != self.config.fit_settings():
            return True
        added = len(self._interactions) - self._fitted_on  # keys are never removed
        return added > tolerance * max(self._fitted_on, 1)

    async def _fit_locked(self) -> None:
        # Copies of two dicts (C speed): the loop may add to the originals meanwhile.
        snapshot = _Snapshot(list(self._interactions.values()), dict(self._index), len(self._refs))
        config = self.config
        try:
            model = await asyncio.to_thread(_fit_snapshot, snapshot, config)
        except (ValueError, MemoryError, np.linalg.LinAlgError) as exc:
            raise SourceUnavailable(
                f"fitting the local model failed: {exc}", service=_SERVICE, operation="fit"
            ) from exc
        self._model = model
        self._fitted_settings = config.fit_settings()
        self._fitted_on = len(snapshot.interactions)

    async def _ensure_fresh(self) -> FittedModel | None:
        """The model, refit first when stale; ``None`` while there is nothing to learn."""
        async with self._lock:
            if self._stale(tolerance=self.config.refit_fraction):
                await self._fit_locked()
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
        profile = self._profile(user_id)
        scores = self._scores(model, profile)
        banned = list(profile.items)
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

        "Watched next after ``ref``" comes first (the order signal), the collaborative
        neighbours after (``similar_cf_weight``). Only titles one of the two links to
        ``ref`` are returned, so an unknown anchor or one without neighbours yields an
        empty result. With ``target_user``, the user's titles are left out and their own
        scores nudge the order.

        Raises:
            SourceUnavailable: a needed refit failed.
        """
        anchor = self._index.get(ref)
        if count <= 0 or anchor is None:
            return []
        model = await self._ensure_fresh()
        if model is None or anchor >= model.n_items:
            return []
        neighbours = model.neighbours(anchor)
        following = model.follow(np.array([anchor], dtype=np.int64), np.ones(1, np.float32))
        linked = np.flatnonzero((neighbours > 0) | (following > 0))
        if not linked.size:
            return []
        blended = _positive_unit(following) + self.config.similar_cf_weight * _positive_unit(
            neighbours
        )
        scores = np.full(len(self._refs), -np.inf, dtype=np.float64)
        scores[linked] = blended[linked]
        banned = [anchor]
        if target_user is not None:
            profile = self._profile(target_user)
            banned.extend(profile.items.tolist())
            personal = self._scores(model, profile)[linked]
            scale = float(np.abs(personal).max()) if profile.items.size else 0.0
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
            model_settings=self._fitted_settings,
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
            recommender._interacted.add(recommender._index[interaction.ref])
            recommender._interactions[interaction.key] = interaction
            recommender._by_user.setdefault(interaction.user_id, {})[interaction.key] = interaction
        recommender._model = state.model
        if state.model is not None:
            recommender._fitted_settings = state.model_settings
        recommender._fitted_on = state.fitted_on
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

    def _profile(self, user_id: str) -> _Profile:
        """The user's weighted titles (cached until they or the configuration change)."""
        if self._profiles_config is not self.config:
            self._profiles.clear()
            self._profiles_config = self.config
        profile = self._profiles.get(user_id)
        if profile is None:
            profile = self._profiles[user_id] = self._build_profile(user_id)
        return profile

    def _build_profile(self, user_id: str) -> _Profile:
        """Confidence x time decay x rank decay per title; decay by places for the order part.

        Nothing here depends on how titles sharing a timestamp are listed: they get the
        same weight in both parts.
        """
        history = self._by_user.get(user_id)
        if not history:
            return _EMPTY
        config = self.config
        index = self._index
        # Keyed by title index: an ItemRef hashes far slower than an int.
        base: dict[int, float] = {}
        rating: dict[int, tuple[datetime, float]] = {}
        newest: dict[int, datetime] = {}
        watched: dict[int, datetime] = {}
        for interaction in history.values():
            item, at = index[interaction.ref], interaction.at
            if interaction.kind is InteractionKind.BOOKMARK:
                weight = config.bookmark_weight
            else:
                weight = config.view_weight
                if item not in watched or at > watched[item]:
                    watched[item] = at
            base[item] = max(base.get(item, 0.0), weight)
            if interaction.kind is InteractionKind.RATING and interaction.value is not None:
                previous = rating.get(item)
                if previous is None or at >= previous[0]:
                    rating[item] = (at, interaction.value)
            if item not in newest or at > newest[item]:
                newest[item] = at
        items = np.fromiter(newest, dtype=np.int64, count=len(newest))
        confidence = np.array(
            [
                base[item] + (config.rating_influence * rating[item][1] if item in rating else 0.0)
                for item in newest
            ],
            dtype=np.float64,
        )
        times = np.array([at.timestamp() for at in newest.values()], dtype=np.float64)
        weights = confidence * self._decay(times)
        last_items, last_weights = self._last_titles(
            watched, dict(zip(newest, confidence.tolist(), strict=True))
        )
        return _Profile(items, weights.astype(np.float32), last_items, last_weights)

    def _decay(self, times: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Time decay (seconds before the newest) times rank decay (titles strictly newer)."""
        config = self.config
        decay = np.ones_like(times)
        if config.time_decay_seconds is not None:
            age = times.max() - times
            decay *= (1.0 + age / config.time_decay_seconds) ** -config.time_decay_power
        if config.recency_half_life is not None:
            ordered = np.sort(times)
            newer = times.shape[0] - np.searchsorted(ordered, times, side="right")
            decay *= np.power(0.5, newer / config.recency_half_life)
        return decay

    def _last_titles(
        self, watched: dict[int, datetime], confidence: dict[int, float]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """The newest viewed or rated titles and their order weights."""
        config = self.config
        if config.order_weight <= 0 or not watched:
            return _EMPTY.last_items, _EMPTY.last_weights
        line = Timeline(
            np.zeros(len(watched), dtype=np.int64),
            np.fromiter(watched, dtype=np.int64, count=len(watched)),
            np.array([at.timestamp() for at in watched.values()], dtype=np.float64),
        )
        back = line.midrank.max() - line.midrank
        near = back < config.order_last
        half_life = config.order_half_life
        weights = np.ones(int(near.sum())) if half_life is None else 0.5 ** (back[near] / half_life)
        items = line.items[near]
        # A disliked title (negative confidence) pushes what follows it away.
        signs = np.array([confidence[int(item)] for item in items], dtype=np.float64)
        weights *= np.where(signs < 0, signs, 1.0)
        return items, weights.astype(np.float32)

    def _scores(self, model: FittedModel | None, profile: _Profile) -> npt.NDArray[np.float64]:
        """Collaborative plus ``order_weight`` x order score (each scaled to 1), tie-broken.

        Unfitted (fewer than two titles with interactions), popularity alone.
        """
        n_total = len(self._refs)
        if model is None:
            # At most one title has interactions, so every user with any met that one.
            users = np.zeros(n_total, dtype=np.float32)
            users[list(self._interacted)] = len(self._by_user)
            return popularity_tiebreak(users) + self._catalog_arrays()[0]
        scores = np.zeros(n_total, dtype=np.float64)
        items, weights = profile.items, profile.weights
        # Titles whose weight decay has brought below 1e-4 of the largest change no
        # ranking; skipping them bounds the cost for users with thousands of titles.
        if weights.size:
            keep = np.abs(weights) >= _NEGLIGIBLE * float(np.abs(weights).max())
            items, weights = items[keep], weights[keep]
        known = items < model.n_items
        blended = unit(model.score(items[known], weights[known], tiebreak=False))
        order_weight = self.config.order_weight
        if order_weight > 0 and model.transitions is not None:
            last = profile.last_items < model.n_items
            following = model.follow(profile.last_items[last], profile.last_weights[last])
            blended = blended + np.float32(order_weight) * unit(following)
        scores[: model.n_items] = blended + model.tiebreak
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
        return [self._refs[i] for i in top_indices(scores, min(count, allowed))]

    def _media_mask(self, media_type: MediaType) -> npt.NDArray[np.bool_]:
        """True where a title is *not* of ``media_type``."""
        is_movie = self._catalog_arrays()[1]
        return ~is_movie if media_type is MediaType.MOVIE else is_movie


def _positive_unit(values: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """``values`` divided by their largest positive value (unchanged when none is)."""
    top = float(values.max()) if values.size else 0.0
    return values / np.float32(top) if top > 0 else values


def _fit_snapshot(snapshot: _Snapshot, config: LocalRecommenderConfig) -> FittedModel:
    """The whole fit, from the copied interactions to both matrices (runs in a worker thread)."""
    return _fit_arrays(_training_arrays(snapshot), config)


def _training_arrays(snapshot: _Snapshot) -> _Training:
    """Who interacted with what, once per (user, title), and when each was last watched.

    Any interaction says the two titles go together, even a bad rating; the sign is applied
    at scoring time. The order signal reads when each title was last viewed or rated (a
    watchlist entry says nothing about what was watched after what).

    One pass reads plain numbers out of the interactions and numpy does the rest: numbers
    are not tracked by the garbage collector, so the pass starts no full collection (one
    holds the interpreter lock, stalling the event loop, for tens of milliseconds).
    """
    interactions, numbers, n_items = snapshot
    count = len(interactions)
    user_numbers: dict[str, int] = {}
    users = np.fromiter(
        (user_numbers.setdefault(i.user_id, len(user_numbers)) for i in interactions),
        dtype=np.int64,
        count=count,
    )
    items = np.fromiter((numbers[i.ref] for i in interactions), dtype=np.int64, count=count)
    times = np.fromiter((i.at.timestamp() for i in interactions), dtype=np.float64, count=count)
    watched = np.fromiter(
        (i.kind is not InteractionKind.BOOKMARK for i in interactions), dtype=np.bool_, count=count
    )
    pairs = np.unique(users * n_items + items)
    watched_pairs, which = np.unique(users[watched] * n_items + items[watched], return_inverse=True)
    newest = np.full(watched_pairs.shape[0], -np.inf, dtype=np.float64)
    np.maximum.at(newest, which, times[watched])
    return _Training(
        users=pairs // n_items,
        items=pairs % n_items,
        order_users=watched_pairs // n_items,
        order_items=watched_pairs % n_items,
        order_times=newest,
        n_items=n_items,
    )


def _fit_arrays(training: _Training, config: LocalRecommenderConfig) -> FittedModel:
    """EASE or item-kNN, and the order matrix, fitted on the training arrays."""
    users, items, n_items = training.users, training.items, training.n_items
    n_users = int(users.max()) + 1 if users.size else 0
    matrix = interaction_matrix(
        users, items, np.ones(users.shape[0], dtype=np.float32), (n_users, n_items)
    )
    algorithm = config.algorithm
    if algorithm == "auto":
        support = np.asarray(matrix.getnnz(axis=0)).ravel()
        n_active = int((support >= config.min_support).sum())
        algorithm = "ease" if n_active <= config.ease_max_items else "itemknn"
    if algorithm == "ease":
        model = fit_ease(matrix, l2=config.ease_l2, min_support=config.min_support)
    else:
        model = fit_itemknn(matrix, neighbors=config.neighbors, shrinkage=config.shrinkage)
    if config.order_weight > 0:
        line = Timeline(training.order_users, training.order_items, training.order_times)
        model.transitions = fit_order(
            line,
            n_items,
            window=config.order_window,
            session_weight=config.order_session_weight,
            max_session=config.order_max_session,
            source_exponent=config.order_source_exponent,
            target_exponent=config.order_target_exponent,
            neighbors=config.order_neighbors,
        )
    return model
