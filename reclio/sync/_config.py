"""Tunables of the sync pipelines: frozen values handed to ``ContentSync`` and ``UserSync``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from types import MappingProxyType

import attrs
from attrs.validators import ge, gt, le

from reclio.ports import CandidateList

__all__ = ["CadencePolicy", "ContentSyncConfig", "UserSyncConfig"]


def _positive(_inst: object, attribute: attrs.Attribute[timedelta], value: timedelta) -> None:
    if value <= timedelta(0):
        msg = f"{attribute.name} must be positive, got {value!r}"
        raise ValueError(msg)


def _not_negative(_inst: object, attribute: attrs.Attribute[timedelta], value: timedelta) -> None:
    if value < timedelta(0):
        msg = f"{attribute.name} must not be negative, got {value!r}"
        raise ValueError(msg)


@attrs.frozen
class CadencePolicy:
    """How often a user is synced, by tier (DESIGN section 5, step 8).

    The tier comes from two signals: feed requests in the last seven days (how much the
    person uses the app) and how long ago their Trakt activity actually moved (not when
    reclio last looked). First match wins: hot, dormant, cold, default.

    Stability: caller-stable; fields may be added with defaults.

    Attributes:
        hot_requests_per_week: At least this many feed requests a week make a user hot.
        cold_requests_per_week: At most this many make a user cold.
        dormant_after: No Trakt activity for this long makes a user dormant.
        hot: Interval between syncs of a hot user.
        default: Interval for everyone else.
        cold: Interval for a cold user.
        dormant: Interval for a dormant user.
        retry: After a sync that failed somewhere, the next one comes at most this late.
    """

    hot_requests_per_week: int = attrs.field(default=14, validator=ge(1))
    cold_requests_per_week: int = attrs.field(default=3, validator=ge(0))
    dormant_after: timedelta = attrs.field(default=timedelta(days=30), validator=_positive)
    hot: timedelta = attrs.field(default=timedelta(hours=1), validator=_positive)
    default: timedelta = attrs.field(default=timedelta(hours=6), validator=_positive)
    cold: timedelta = attrs.field(default=timedelta(hours=24), validator=_positive)
    dormant: timedelta = attrs.field(default=timedelta(days=7), validator=_positive)
    retry: timedelta = attrs.field(default=timedelta(hours=1), validator=_positive)

    def __attrs_post_init__(self) -> None:
        if self.cold_requests_per_week >= self.hot_requests_per_week:
            msg = (
                "cold_requests_per_week must be below hot_requests_per_week, got"
                f" {self.cold_requests_per_week} >= {self.hot_requests_per_week}"
            )
            raise ValueError(msg)


@attrs.frozen
class UserSyncConfig:
    """Tunables of :class:`~reclio.sync.UserSync`.

    Stability: caller-stable; fields may be added with defaults.

    Attributes:
        push_batch_size: Interactions per recommender write.
        overlap: How far before the cursor each incremental history fetch starts; entries
            seen twice are de-duplicated, late-arriving ones inside the window are kept.
        recommended_count: Picks per Recommended list (movies and shows each).
        because_watched_count: Picks per Because You Watched list.
        blend_weight: Share of recommender item-to-item picks in Because You Watched; the
            rest are vector neighbours of the anchor.
        min_items: A computed list shorter than this (the feeds' ``min_items``) is short: it
            may grow a list but never shrink one.
        min_recommender_results: Fewer recommender picks than this is a cold start: vector
            neighbours of the highest-rated title fill the Recommended list.
        continue_watching_count: Titles in the Continue Watching list.
        finished_progress: Playback at or above this percent counts as finished, not in progress.
        taste_half_life: An interaction this old weighs half as much in the taste profile.
        view_weight: What one view adds to each of its genres (a rating adds its value, -1..1).
        lists_max_age: Lists older than this are recomputed even without new activity.
        list_read_lag: How long after reclio's last write a sink may still read a list as it
            was before (Trakt lists are not read-your-writes): a managed list the sink does
            not show within this time of the write is taken for lagging (written next
            sync), after it for deleted (created again).
        lease_ttl: How long a user's lease lasts if the worker dies mid-sync.
        cadence: The sync cadence tiers.
        worker_id: Lease owner name; a fresh one per ``UserSync`` when ``None``.
    """

    push_batch_size: int = attrs.field(default=500, validator=ge(1))
    overlap: timedelta = attrs.field(default=timedelta(days=1), validator=_not_negative)
    recommended_count: int = attrs.field(default=50, validator=ge(1))
    because_watched_count: int = attrs.field(default=50, validator=ge(1))
    blend_weight: float = attrs.field(default=0.6, validator=[ge(0.0), le(1.0)])
    min_recommender_results: int = attrs.field(default=5, validator=ge(0))
    min_items: int = attrs.field(default=5, validator=ge(1))
    continue_watching_count: int = attrs.field(default=50, validator=ge(1))
    finished_progress: float = attrs.field(default=95.0, validator=[gt(0.0), le(100.0)])
    taste_half_life: timedelta = attrs.field(default=timedelta(days=365), validator=_positive)
    view_weight: float = attrs.field(default=0.3, validator=[gt(0.0), le(1.0)])
    lists_max_age: timedelta = attrs.field(default=timedelta(days=1), validator=_positive)
    list_read_lag: timedelta = attrs.field(default=timedelta(minutes=10), validator=_positive)
    lease_ttl: timedelta = attrs.field(default=timedelta(minutes=10), validator=_positive)
    cadence: CadencePolicy = CadencePolicy()
    worker_id: str | None = None


_DEFAULT_PAGES: Mapping[CandidateList, int] = MappingProxyType(
    {
        CandidateList.POPULAR: 5,
        CandidateList.TOP_RATED: 5,
        CandidateList.TRENDING: 1,
        CandidateList.CURRENT: 1,
    }
)


def _pages(value: Mapping[CandidateList, int]) -> Mapping[CandidateList, int]:
    return MappingProxyType(dict(value))


@attrs.frozen
class ContentSyncConfig:
    """Tunables of :class:`~reclio.sync.ContentSync`.

    Stability: caller-stable; fields may be added with defaults.

    Attributes:
        pages: How many pages of each candidate list to read, per media type.
        batch_size: Titles fetched, stored, pushed and embedded together (bounds memory).
        concurrency: Title fetches in flight at once.
        max_new_per_run: At most this many titles fetched per run (the rest come next run).
        include_history: Also fetch titles in users' histories that the catalog lacks.
        lease_ttl: How long the content-sync lease lasts if the worker dies.
        max_errors: Error lines kept in the report (the count is always exact).
        worker_id: Lease owner name; a fresh one per ``ContentSync`` when ``None``.
    """

    pages: Mapping[CandidateList, int] = attrs.field(default=_DEFAULT_PAGES, converter=_pages)
    batch_size: int = attrs.field(default=100, validator=ge(1))
    concurrency: int = attrs.field(default=8, validator=ge(1))
    max_new_per_run: int = attrs.field(default=5000, validator=ge(1))
    include_history: bool = True
    lease_ttl: timedelta = attrs.field(default=timedelta(hours=1), validator=_positive)
    max_errors: int = attrs.field(default=50, validator=ge(0))
    worker_id: str | None = None
