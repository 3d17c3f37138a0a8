"""Configuration of the local engine (frozen; every default was chosen by measurement)."""

from __future__ import annotations

from typing import Literal, cast

import attrs
from attrs.validators import ge, gt, in_

Algorithm = Literal["auto", "ease", "itemknn"]


def _positive_or_none(
    _inst: object, attribute: attrs.Attribute[float | None], value: float | None
) -> None:
    if value is not None and not value > 0:
        msg = f"{attribute.name} must be positive or None, got {value!r}"
        raise ValueError(msg)


@attrs.frozen
class LocalRecommenderConfig:
    """How :class:`~reclio.adapters.local.LocalRecommender` fits and scores.

    The defaults are the values ``benchmarks/local_defaults.py`` chose on the validation
    items of ml-latest-small and ml-100k (tie-neutral, no test item read); see
    ``docs/local-recommender.md`` for that grid and for ``reclio eval movielens``.

    Stability: caller-stable; fields may be added with defaults.

    Attributes:
        algorithm: ``"ease"``, ``"itemknn"``, or ``"auto"``: EASE while the titles with
            interactions number at most ``ease_max_items``, item-kNN beyond.
        ease_l2: EASE's ridge penalty.
        ease_max_items: Largest dense EASE matrix ``"auto"`` allows (its memory is
            ``4 * n**2`` bytes: 10,000 titles take 400 MB).
        min_support: Titles with fewer interacting users stay out of the item-to-item
            matrix (they are still recommended by popularity).
        neighbors: item-kNN: neighbours kept per title.
        shrinkage: item-kNN: added to the cosine denominator.
        time_decay_seconds: Profile weight by real time: a title the user last touched
            ``dt`` seconds before their newest interaction weighs
            ``(1 + dt / time_decay_seconds) ** -time_decay_power``; ``None`` turns it off.
        time_decay_power: The exponent of that decay (a power law: steep over the last
            session, with a long tail, so older taste still counts a little).
        recency_half_life: Profile weight by rank: a title with ``n`` of the user's titles
            strictly newer weighs ``0.5 ** (n / half_life)`` (titles sharing a timestamp
            weigh the same); ``None`` turns it off. Multiplied with the time decay.
        view_weight: Confidence of a view (a rating implies a view).
        bookmark_weight: Confidence of a watchlist entry alone.
        rating_influence: A rating ``v`` in [-1, 1] adds ``rating_influence * v`` to the
            confidence. Above 1, the worst ratings turn negative and push similar titles
            away.
        refit_fraction: ``recommend`` and ``similar`` refit first when the interactions
            changed by more than this fraction since the last fit (0: after any change).
        similar_personalization: In ``similar`` with a ``target_user``, the weight of the
            user's own scores against the anchor's neighbours (both scaled to at most 1).
        order_weight: Weight of the order signal ("watched next") against the
            collaborative score in ``recommend`` (both scaled to at most 1); 0 turns the
            order signal off (not fitted, not used in ``similar``).
        order_window: A title counts as watched next after another when it came at most
            this many places later, at a strictly later time (weight ``1 / distance``).
        order_session_weight: Weight of two titles sharing one timestamp (both ways).
        order_max_session: Larger groups of equal timestamps (bulk imports) are not
            sessions and add no pairs of their own.
        order_source_exponent: Each title's next-row is divided by its number of users
            to this power, so a long history of popular titles does not drown the others.
        order_target_exponent: Each target is divided by its number of users to this
            power (damps the pull of the most popular titles).
        order_neighbors: Targets kept per title in the order matrix (bounds its memory).
        order_last: The user's titles fewer than this many places from their newest
            (mid-ranks: equal timestamps share a place) feed the order signal.
        order_half_life: Among those, a title ``n`` places back weighs ``0.5 ** (n / h)``.
        similar_cf_weight: In ``similar``, the weight of the collaborative neighbours
            against "watched next after the anchor" (both scaled to at most 1).
    """

    algorithm: Algorithm = attrs.field(default="auto", validator=in_(("auto", "ease", "itemknn")))
    ease_l2: float = attrs.field(default=100.0, validator=gt(0))
    ease_max_items: int = attrs.field(default=10_000, validator=ge(1))
    min_support: int = attrs.field(default=1, validator=ge(1))
    neighbors: int = attrs.field(default=100, validator=ge(1))
    shrinkage: float = attrs.field(default=10.0, validator=ge(0))
    time_decay_seconds: float | None = attrs.field(
        default=cast("float | None", 3600.0), validator=_positive_or_none
    )
    time_decay_power: float = attrs.field(default=0.5, validator=gt(0))
    recency_half_life: float | None = attrs.field(
        default=cast("float | None", 10.0), validator=_positive_or_none
    )
    view_weight: float = attrs.field(default=1.0, validator=gt(0))
    bookmark_weight: float = attrs.field(default=0.7, validator=gt(0))
    rating_influence: float = attrs.field(default=0.5, validator=ge(0))
    refit_fraction: float = attrs.field(default=0.1, validator=ge(0))
    similar_personalization: float = attrs.field(default=0.25, validator=ge(0))
    order_weight: float = attrs.field(default=0.9, validator=ge(0))
    order_window: int = attrs.field(default=20, validator=ge(1))
    order_session_weight: float = attrs.field(default=1.0, validator=ge(0))
    order_max_session: int = attrs.field(default=50, validator=ge(2))
    order_source_exponent: float = attrs.field(default=0.5, validator=ge(0))
    order_target_exponent: float = attrs.field(default=0.25, validator=ge(0))
    order_neighbors: int = attrs.field(default=200, validator=ge(1))
    order_last: float = attrs.field(default=5.0, validator=gt(0))
    order_half_life: float | None = attrs.field(
        default=cast("float | None", 1.0), validator=_positive_or_none
    )
    similar_cf_weight: float = attrs.field(default=0.25, validator=ge(0))

    def fit_settings(self) -> tuple[object, ...]:
        """The values a fit depends on: configurations with equal ones share a fitted model.

        The other fields only change how a fitted model scores, so changing them needs no
        refit.
        """
        return (*(getattr(self, name) for name in FIT_FIELDS), self.order_weight > 0)


FIT_FIELDS = (
    "algorithm",
    "ease_l2",
    "ease_max_items",
    "min_support",
    "neighbors",
    "shrinkage",
    "order_window",
    "order_session_weight",
    "order_max_session",
    "order_source_exponent",
    "order_target_exponent",
    "order_neighbors",
)
"""Fields of :class:`LocalRecommenderConfig` a fit reads (``order_weight`` only as on/off)."""
