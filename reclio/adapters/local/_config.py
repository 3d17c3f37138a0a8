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

    The defaults are the values the MovieLens harness (``reclio eval movielens``) chose on
    its validation items; see ``docs/local-recommender.md`` for the measurements.

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
        recency_half_life: A user's n-th newest title weighs ``0.5 ** (n / half_life)`` in
            their profile; ``None`` weighs the whole history equally.
        view_weight: Confidence of a view (a rating implies a view).
        bookmark_weight: Confidence of a watchlist entry alone.
        rating_influence: A rating ``v`` in [-1, 1] adds ``rating_influence * v`` to the
            confidence. Above 1, the worst ratings turn negative and push similar titles
            away.
        refit_fraction: ``recommend`` and ``similar`` refit first when the interactions
            changed by more than this fraction since the last fit (0: after any change).
        similar_personalization: In ``similar`` with a ``target_user``, the weight of the
            user's own scores against the anchor's neighbours (both scaled to at most 1).
    """

    algorithm: Algorithm = attrs.field(default="auto", validator=in_(("auto", "ease", "itemknn")))
    ease_l2: float = attrs.field(default=200.0, validator=gt(0))
    ease_max_items: int = attrs.field(default=10_000, validator=ge(1))
    min_support: int = attrs.field(default=1, validator=ge(1))
    neighbors: int = attrs.field(default=100, validator=ge(1))
    shrinkage: float = attrs.field(default=10.0, validator=ge(0))
    recency_half_life: float | None = attrs.field(
        default=cast("float | None", 10.0), validator=_positive_or_none
    )
    view_weight: float = attrs.field(default=1.0, validator=gt(0))
    bookmark_weight: float = attrs.field(default=0.7, validator=gt(0))
    rating_influence: float = attrs.field(default=0.5, validator=ge(0))
    refit_fraction: float = attrs.field(default=0.1, validator=ge(0))
    similar_personalization: float = attrs.field(default=0.25, validator=ge(0))
