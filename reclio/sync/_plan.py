"""The functional core of the sync pipelines: pure planners, no I/O, no clock.

Each function here decides; the pipelines in :mod:`reclio.sync` gather inputs from the ports,
call these, and apply the result. Keeping the decisions pure is what lets the invariants be
stated and property-tested:

* :func:`plan_list_diff` with `ListDiff.apply`: applying the plan yields the desired
  list; the plan for an unchanged list is empty.
* :func:`should_write`: a failed or empty computation never empties or shrinks a list.
* :func:`advance_cursor`: the cursor never passes an interaction that was not confirmed.
* :func:`blend`: the weighted interleave holds its weight within one item.
* :func:`cadence_tier` / :func:`next_sync_time`: the adaptive schedule.
* :func:`taste_profile`: genre scores with recency decay, normalized to 0..1.
* :func:`select_picks` / :func:`recommended_picks`: exclusions, limits and cold start.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Final

import attrs

from reclio.domain import (
    CadenceTier,
    GenreScore,
    Interaction,
    ItemRef,
    ListAccount,
    ListDiff,
    ListHandle,
    ManagedList,
    ManagedListKind,
    MediaType,
    Rating,
    TasteProfile,
    UserState,
)
from reclio.sync._config import CadencePolicy

__all__ = [
    "Blend",
    "Rating",
    "advance_cursor",
    "allot_lists",
    "blend",
    "cadence_tier",
    "list_read_lags",
    "lists_fresh",
    "managed_kinds",
    "next_sync_time",
    "plan_list_diff",
    "recommended_picks",
    "select_picks",
    "should_write",
    "taste_profile",
]

_WEEK: Final = timedelta(days=7)


def _unique(refs: Iterable[ItemRef]) -> list[ItemRef]:
    """First occurrence of each ref, in order."""
    return list(dict.fromkeys(refs))


# --- managed lists -------------------------------------------------------------------------


def plan_list_diff(current: Sequence[ItemRef], desired: Sequence[ItemRef]) -> ListDiff:
    """The smallest diff that turns ``current`` into ``desired`` (add missing, drop stale).

    ``order`` is set only when appending the additions would not already give the desired
    order, so a list that only gains items at its end costs no reorder.

    Args:
        current: What the list holds now, in order.
        desired: What it should hold, best first; duplicates after the first are ignored.

    Returns:
        A diff with ``diff.apply(current) == tuple(unique(desired))``; empty when
        the list already is the desired list.
    """
    wanted = _unique(desired)
    wanted_set = set(wanted)
    have = set(current)
    remove = tuple(_unique(ref for ref in current if ref not in wanted_set))
    add = tuple(ref for ref in wanted if ref not in have)
    unordered = ListDiff(add=add, remove=remove)
    if unordered.apply(current) == tuple(wanted):
        return unordered
    return ListDiff(add=add, remove=remove, order=tuple(wanted))


def should_write(current_count: int, desired: Sequence[ItemRef], *, complete: bool) -> bool:
    """Whether a computed list may replace what the sink holds.

    An empty computation never writes (a list is never emptied by reclio), and an incomplete
    computation (a source failed, or the picks are short) writes only if it grows the list:
    it never shrinks a list, and never replaces one of the same length with a fallback.

    Args:
        current_count: Items the list holds now.
        desired: The computed picks.
        complete: Every source the computation uses answered.

    Returns:
        True when writing is allowed.
    """
    if not desired:
        return False
    return complete or len(desired) > current_count


def allot_lists(
    kinds: Sequence[ManagedListKind], account: ListAccount
) -> tuple[ManagedListKind, ...]:
    """The managed lists the account has room for, in the order of ``kinds`` (priority).

    A kind whose list the account already holds (by its exact name) is adopted and needs no
    room; every other one takes one of the free slots, ``max_lists`` minus every list held
    (the user's own lists count), in priority order. So a free account whose owner keeps
    four lists of their own (five allowed) gets the first kind only, and reclio never asks
    for a list the account cannot hold.

    Args:
        kinds: The lists to write, best first (`managed_kinds` order).
        account: What the sink said the account allows and holds.

    Returns:
        The kinds to write; the rest fall back in their feed chains.
    """
    room = account.limits.max_lists - len(account.lists)
    allotted: list[ManagedListKind] = []
    for kind in kinds:
        if account.find(kind.list_name) is not None:
            allotted.append(kind)
        elif room > 0:
            allotted.append(kind)
            room -= 1
    return tuple(allotted)


def list_read_lags(
    record: ManagedList | None,
    listed: ListHandle | None,
    *,
    now: datetime,
    lag: timedelta,
    entries: int | None = None,
) -> bool:
    """Whether the sink's read of a managed list is older than reclio's last write to it.

    A sink that stamps its lists (`ListHandle.updated_at`: Trakt) may answer a read with
    the list as it was before a write. reclio keeps what its writes answered on the record,
    and a read that is behind it is not planned from (the list is written next sync):

    * the list is not listed at all within ``lag`` of the write (created too recently to
      show; after ``lag`` it counts as deleted, and a new one is made);
    * it is listed with a stamp older than the write's;
    * it is listed with the write's stamp but ``entries`` (what its items read found)
      differs from the count the write answered.

    A sink without stamps (in memory, SQLite) reads its own writes: never lagging.

    Args:
        record: reclio's record of the list (``None``: reclio never wrote it).
        listed: The account's list with the record's id, as the sink read it (``None``:
            not listed).
        now: The sync's clock.
        lag: How long a sink's reads may lag its writes.
        entries: Entries the read of its items found, when read.
    """
    if record is None or record.updated_at is None:
        return False
    if listed is None:
        return record.synced_at is not None and now - record.synced_at < lag
    if listed.updated_at is None:
        return False
    if listed.updated_at < record.updated_at:
        return True
    return (
        entries is not None
        and listed.updated_at == record.updated_at
        and entries != record.item_count
    )


def lists_fresh(state: UserState, now: datetime, max_age: timedelta) -> bool:
    """Whether the user's managed lists need no recomputation without new activity.

    Fresh means the last complete computation of the picks ran within ``max_age``, whatever
    it wrote: a computation that rightly wrote nothing (an empty answer, nothing to
    recommend) is as fresh as one that rewrote every list. A sync that failed anywhere
    records no computation time, so the next poll recomputes.
    """
    computed = state.picks_computed_at
    return computed is not None and now - computed < max_age


# --- the history cursor --------------------------------------------------------------------


def advance_cursor(
    cursor: datetime | None,
    attempted: Iterable[Interaction],
    confirmed: Iterable[Interaction],
    *,
    now: datetime | None = None,
) -> datetime | None:
    """The new history cursor after a push: the newest confirmed time below every failure.

    The cursor moves forward only to the timestamp of an interaction the recommender
    confirmed, and stays strictly before the oldest attempted interaction it did not confirm,
    so the next incremental fetch (which starts at or before the cursor) sees that one again.
    It never passes ``now``: a view stamped in the future (a device's clock ahead) is pushed,
    but a cursor past the sync's own clock would hide every real view made before that stamp.

    Args:
        cursor: The cursor before the push (``None``: nothing confirmed yet).
        attempted: Every interaction sent.
        confirmed: Those the recommender confirmed.
        now: The sync's clock; the cursor is never later than this.

    Returns:
        The new cursor; never earlier than ``cursor`` (unless that was past ``now``).
    """
    confirmed = list(confirmed)
    done = {interaction.key for interaction in confirmed}
    unconfirmed = [i.at for i in attempted if i.key not in done]
    floor = min(unconfirmed, default=None)
    newest = max(
        (i.at for i in confirmed if floor is None or i.at < floor),
        default=None,
    )
    moved = cursor if newest is None else newest if cursor is None else max(cursor, newest)
    if now is not None and moved is not None and moved > now:
        return now
    return moved


# --- the Because You Watched blend ---------------------------------------------------------


@attrs.frozen
class Blend:
    """The result of :func:`blend`.

    Attributes:
        items: The interleaved picks, best first.
        from_primary: How many came from the primary source.
        from_secondary: How many came from the secondary source.
    """

    items: tuple[ItemRef, ...]
    from_primary: int
    from_secondary: int


def blend(
    primary: Sequence[ItemRef],
    secondary: Sequence[ItemRef],
    *,
    size: int,
    weight: float = 0.6,
    exclude: Collection[ItemRef] = (),
) -> Blend:
    """Interleave two ranked lists so ``weight`` of the picks come from ``primary``.

    At each position the source furthest below its share takes the next slot (ties go to
    ``primary``), so every prefix holds the weight within one item. Items already picked or
    in ``exclude`` are skipped; when one source runs dry the other fills the rest.

    Args:
        primary: Ranked picks of the first source (the recommender's item-to-item).
        secondary: Ranked picks of the second source (vector neighbours).
        size: How many picks at most.
        weight: The primary's share, 0..1.
        exclude: Never pick these (watched titles, the anchor itself).

    Returns:
        The blend with its per-source counts.
    """
    seen = set(exclude)
    sources = (iter(primary), iter(secondary))
    shares = (weight, 1.0 - weight)
    taken = [0, 0]
    items: list[ItemRef] = []
    exhausted = [False, False]

    def take(which: int) -> bool:
        for ref in sources[which]:
            if ref not in seen:
                seen.add(ref)
                items.append(ref)
                taken[which] += 1
                return True
        exhausted[which] = True
        return False

    while len(items) < size and not all(exhausted):
        position = len(items) + 1
        deficits = [shares[i] * position - taken[i] for i in (0, 1)]
        first = 0 if deficits[0] >= deficits[1] else 1
        order = (first, 1 - first)
        for which in order:
            if not exhausted[which] and take(which):
                break
    return Blend(tuple(items), from_primary=taken[0], from_secondary=taken[1])


# --- picks ---------------------------------------------------------------------------------


def select_picks(
    candidates: Iterable[ItemRef],
    *,
    limit: int,
    media_type: MediaType | None = None,
    exclude: Collection[ItemRef] = (),
    excluded_genres: Collection[int] = (),
    genres: Mapping[ItemRef, Collection[int]] | None = None,
) -> tuple[ItemRef, ...]:
    """The first ``limit`` usable candidates, in order, each once.

    Args:
        candidates: Ranked candidates, best first.
        limit: How many at most (also the sink's per-list item limit).
        media_type: Keep only this media type, when given.
        exclude: Never pick these (watched titles).
        excluded_genres: Never pick a title in one of these genres (the user's preference).
        genres: Genre ids of the titles the catalog knows; unknown titles pass.

    Returns:
        At most ``limit`` distinct picks.
    """
    blocked = frozenset(excluded_genres)
    known = genres or {}

    def usable(ref: ItemRef) -> bool:
        if media_type is not None and ref.media_type is not media_type:
            return False
        if ref in exclude:
            return False
        return not (blocked and blocked.intersection(known.get(ref, ())))

    picks: list[ItemRef] = []
    for ref in _unique(candidates):
        if len(picks) >= limit:
            break
        if usable(ref):
            picks.append(ref)
    return tuple(picks)


def recommended_picks(
    recommended: Sequence[ItemRef],
    neighbours: Sequence[ItemRef],
    *,
    limit: int,
    min_results: int,
    exclude: Collection[ItemRef] = (),
) -> tuple[ItemRef, ...]:
    """The Recommended list: recommender picks, topped up on a cold start.

    When the recommender gives fewer than ``min_results`` usable picks, the user is cold:
    vector neighbours of their highest-rated title fill the rest of the list, after the
    recommender's own picks.

    Args:
        recommended: The recommender's picks, best first.
        neighbours: Vector neighbours of the highest-rated title, best first.
        limit: How many at most.
        min_results: The cold-start threshold.
        exclude: Never pick these.

    Returns:
        At most ``limit`` distinct picks.
    """
    own = select_picks(recommended, limit=limit, exclude=exclude)
    if len(own) >= min_results:
        return own
    return select_picks([*own, *neighbours], limit=limit, exclude=exclude)


# --- cadence -------------------------------------------------------------------------------


def cadence_tier(
    *,
    feed_requests_week: int,
    activity_moved_at: datetime | None,
    now: datetime,
    policy: CadencePolicy,
) -> CadenceTier:
    """The user's sync tier; first match wins: hot, dormant, cold, default.

    Args:
        feed_requests_week: Feed requests in the seven days before ``now``.
        activity_moved_at: When Trakt activity last actually moved (``None``: never).
        now: The current time.
        policy: Thresholds.

    Returns:
        The tier.
    """
    if feed_requests_week >= policy.hot_requests_per_week:
        return CadenceTier.HOT
    if activity_moved_at is None or now - activity_moved_at >= policy.dormant_after:
        return CadenceTier.DORMANT
    if feed_requests_week <= policy.cold_requests_per_week:
        return CadenceTier.COLD
    return CadenceTier.DEFAULT


def next_sync_time(
    tier: CadenceTier, now: datetime, policy: CadencePolicy, *, failed: bool = False
) -> datetime:
    """When a user of ``tier`` is next due; sooner (``policy.retry``) after a failed sync."""
    interval = {
        CadenceTier.HOT: policy.hot,
        CadenceTier.DEFAULT: policy.default,
        CadenceTier.COLD: policy.cold,
        CadenceTier.DORMANT: policy.dormant,
    }[tier]
    if failed:
        interval = min(interval, policy.retry)
    return now + interval


# --- taste ---------------------------------------------------------------------------------


def _decay(at: datetime, now: datetime, half_life: timedelta) -> float:
    age = max(now - at, timedelta(0))
    return float(0.5 ** (age / half_life))


def taste_profile(
    views: Mapping[ItemRef, datetime],
    ratings: Mapping[ItemRef, Rating],
    genres: Mapping[ItemRef, Collection[int]],
    *,
    now: datetime,
    half_life: timedelta,
    view_weight: float = 0.3,
) -> TasteProfile:
    """Genre scores per media type, with recency decay, normalized to 0..1.

    Each viewed title adds ``view_weight`` and each rated title its rating (-1..1) to every
    one of its genres, times ``0.5 ** (age / half_life)``. Scores are then divided by the
    best genre's, so the favourite genre scores 1.0; genres with no positive weight are left
    out. Titles without known genres contribute nothing.

    Args:
        views: Newest view time per watched title.
        ratings: The user's current rating per title.
        genres: TMDB genre ids per title the catalog knows.
        now: The time ages are measured from.
        half_life: Age at which a signal weighs half.
        view_weight: What one view adds.

    Returns:
        The profile, best genre first.
    """
    raw: dict[MediaType, defaultdict[int, float]] = {m: defaultdict(float) for m in MediaType}

    def add(ref: ItemRef, weight: float) -> None:
        for genre_id in genres.get(ref, ()):
            raw[ref.media_type][genre_id] += weight

    for ref, at in views.items():
        add(ref, view_weight * _decay(at, now, half_life))
    for ref, rating in ratings.items():
        add(ref, rating.value * _decay(rating.at, now, half_life))

    def normalized(scores: Mapping[int, float]) -> Iterator[GenreScore]:
        best = max(scores.values(), default=0.0)
        if best <= 0:
            return
        for genre_id, score in scores.items():
            value = round(min(score / best, 1.0), 4)
            if value > 0:
                yield GenreScore(genre_id, value)

    return TasteProfile(
        movie_genres=normalized(raw[MediaType.MOVIE]),
        show_genres=normalized(raw[MediaType.TV]),
    )


def managed_kinds() -> tuple[ManagedListKind, ...]:
    """The managed lists in priority order (the first ones survive a low list limit)."""
    return (
        ManagedListKind.RECOMMENDED_MOVIES,
        ManagedListKind.RECOMMENDED_SHOWS,
        ManagedListKind.BECAUSE_WATCHED_MOVIES,
        ManagedListKind.BECAUSE_WATCHED_SHOWS,
        ManagedListKind.CONTINUE_WATCHING,
    )
