"""Properties of the pure sync planners: list diff, write guard, cursor, blend, cadence, taste."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from reclio.domain import (
    CadenceTier,
    Interaction,
    ItemRef,
    ListDiff,
    ManagedList,
    ManagedListKind,
    MediaType,
    UserState,
)
from reclio.sync import CadencePolicy
from reclio.sync._plan import (
    Rating,
    advance_cursor,
    blend,
    cadence_tier,
    lists_fresh,
    next_sync_time,
    plan_list_diff,
    recommended_picks,
    select_picks,
    should_write,
    taste_profile,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)

# A small pool so that lists overlap often.
refs = st.builds(ItemRef, st.sampled_from(MediaType), st.integers(1, 40))
ref_lists = st.lists(refs, max_size=30)
distinct_lists = st.lists(refs, max_size=30, unique=True)
times = st.integers(0, 10_000).map(lambda m: NOW - timedelta(minutes=m))


def unique(items: list[ItemRef]) -> tuple[ItemRef, ...]:
    return tuple(dict.fromkeys(items))


# --- list diff -----------------------------------------------------------------------------


@given(current=ref_lists, desired=ref_lists)
def test_applying_the_plan_yields_the_desired_list(current, desired):
    """Whatever the list holds, applying the plan leaves exactly the desired items in order."""
    diff = plan_list_diff(current, desired)
    assert diff.apply(current) == unique(desired)


@given(current=distinct_lists)
def test_plan_for_an_unchanged_list_is_empty(current):
    """A list that already holds the desired items in order needs no write."""
    assert plan_list_diff(current, current).is_empty


@given(current=distinct_lists, desired=ref_lists)
def test_plan_touches_only_what_differs(current, desired):
    """Additions are missing items, removals are stale items; nothing else is touched."""
    diff = plan_list_diff(current, desired)
    assert set(diff.add) == set(desired) - set(current)
    assert set(diff.remove) == set(current) - set(desired)


@given(current=distinct_lists, extra=distinct_lists)
def test_appending_needs_no_reorder(current, extra):
    """A list that only gains items at its end is planned without a reorder."""
    desired = unique(current + [ref for ref in extra if ref not in current])
    diff = plan_list_diff(current, desired)
    assert diff.order is None
    assert diff.remove == ()


def test_reorder_is_planned_when_order_changes():
    """Swapping two items yields an order and no adds or removes."""
    a, b = ItemRef.movie(1), ItemRef.movie(2)
    diff = plan_list_diff([a, b], [b, a])
    assert diff == ListDiff(order=(b, a))


# --- write guard ---------------------------------------------------------------------------


@given(current=st.integers(0, 100), desired=ref_lists, complete=st.booleans())
def test_failed_or_empty_computations_never_empty_or_shrink(current, desired, complete):
    """An empty result never writes; an incomplete one writes only if it does not shrink."""
    allowed = should_write(current, desired, complete=complete)
    if not desired:
        assert not allowed
    if not complete and allowed:
        assert len(desired) > current
    if complete and desired:
        assert allowed


# --- cursor --------------------------------------------------------------------------------

views = st.builds(Interaction.view, st.just("u"), refs, times)


@given(
    cursor=st.none() | times,
    attempted=st.lists(views, max_size=20),
    data=st.data(),
)
def test_cursor_never_passes_an_unconfirmed_interaction(cursor, attempted, data):
    """The cursor stays before every unconfirmed interaction it had not reached yet."""
    confirmed = data.draw(
        st.lists(st.sampled_from(attempted), unique=True) if attempted else st.just([])
    )
    new = advance_cursor(cursor, attempted, confirmed)
    done = {i.key for i in confirmed}
    for interaction in attempted:
        if interaction.key not in done and (cursor is None or interaction.at > cursor):
            assert new is None or new < interaction.at
    if cursor is not None:
        assert new is not None
        assert new >= cursor
    assert new == cursor or new in {i.at for i in confirmed}


@given(cursor=st.none() | times, attempted=st.lists(views, min_size=1, max_size=20))
def test_cursor_reaches_the_newest_when_all_confirmed(cursor, attempted):
    """When everything is confirmed the cursor moves to the newest interaction."""
    newest = max(i.at for i in attempted)
    expected = newest if cursor is None else max(cursor, newest)
    assert advance_cursor(cursor, attempted, attempted) == expected


def test_cursor_stays_when_the_recommender_is_down():
    """Nothing confirmed: the cursor does not move (the original's lost-history bug)."""
    attempted = [Interaction.view("u", ItemRef.movie(1), NOW)]
    assert advance_cursor(NOW - timedelta(days=1), attempted, []) == NOW - timedelta(days=1)
    assert advance_cursor(None, attempted, []) is None


# --- blend ---------------------------------------------------------------------------------

pool = st.builds(ItemRef.movie, st.integers(1, 400))


@given(
    primary=st.lists(pool, max_size=60),
    secondary=st.lists(pool, max_size=60),
    exclude=st.frozensets(pool, max_size=20),
    size=st.integers(0, 40),
    weight=st.sampled_from([0.6, 0.5, 0.0, 1.0]) | st.floats(0, 1),
)
def test_blend_is_distinct_bounded_and_from_its_inputs(primary, secondary, exclude, size, weight):
    """Picks are unique, never excluded, drawn from the inputs, and as many as available."""
    result = blend(primary, secondary, size=size, weight=weight, exclude=exclude)
    assert len(result.items) == len(set(result.items))
    assert not set(result.items) & exclude
    assert set(result.items) <= set(primary) | set(secondary)
    available = (set(primary) | set(secondary)) - exclude
    assert len(result.items) == min(size, len(available))
    assert result.from_primary + result.from_secondary == len(result.items)


@given(
    data=st.data(),
    size=st.integers(1, 50),
    weight=st.sampled_from([0.6]) | st.floats(0, 1),
)
def test_blend_holds_its_weight_within_one_item(data, size, weight):
    """With enough candidates on both sides, the primary's share is within one item of weight."""
    movies = st.builds(ItemRef.movie, st.integers(1, 100))
    shows = st.builds(ItemRef.tv, st.integers(1, 100))
    shared = data.draw(st.lists(st.builds(ItemRef.movie, st.integers(500, 520)), max_size=15))
    own_primary = data.draw(st.lists(movies, min_size=size, max_size=size + 10, unique=True))
    own_secondary = data.draw(st.lists(shows, min_size=size, max_size=size + 10, unique=True))
    primary = data.draw(st.permutations(own_primary + shared))
    secondary = data.draw(st.permutations(own_secondary + shared[::-1]))
    exclude = data.draw(st.frozensets(st.builds(ItemRef.movie, st.integers(500, 530))))
    result = blend(primary, secondary, size=size, weight=weight, exclude=exclude)
    assert len(result.items) == size
    assert abs(result.from_primary - weight * size) <= 1


@given(
    primary=st.lists(st.builds(ItemRef.movie, st.integers(1, 100)), unique=True, max_size=60),
    secondary=st.lists(st.builds(ItemRef.tv, st.integers(1, 100)), unique=True, max_size=60),
    weight=st.floats(0, 1),
)
def test_every_prefix_of_the_blend_holds_the_weight(primary, secondary, weight):
    """The interleave is real: each prefix is within one item of the weight while both last."""
    size = min(len(primary), len(secondary))
    result = blend(primary, secondary, size=size, weight=weight)
    taken = 0
    for n, ref in enumerate(result.items, start=1):
        taken += ref.media_type is MediaType.MOVIE
        assert abs(taken - weight * n) <= 1 + 1e-9


def test_blend_interleaves_sixty_forty():
    """Ten picks at 0.6 are six recommender and four vector picks, interleaved."""
    primary = [ItemRef.movie(i) for i in range(1, 20)]
    secondary = [ItemRef.movie(i) for i in range(100, 120)]
    result = blend(primary, secondary, size=10)
    assert (result.from_primary, result.from_secondary) == (6, 4)
    assert result.items[:5] == (
        ItemRef.movie(1),
        ItemRef.movie(100),
        ItemRef.movie(2),
        ItemRef.movie(101),
        ItemRef.movie(3),
    )


def test_blend_fills_from_the_other_source_when_one_runs_dry():
    """An empty item-to-item answer leaves the vector neighbours, not an empty list."""
    secondary = [ItemRef.movie(i) for i in range(1, 10)]
    assert blend([], secondary, size=5).items == tuple(secondary[:5])


# --- picks ---------------------------------------------------------------------------------


@given(
    candidates=ref_lists,
    limit=st.integers(0, 30),
    media=st.none() | st.sampled_from(MediaType),
    exclude=st.frozensets(refs, max_size=10),
    data=st.data(),
)
def test_picks_respect_exclusions_and_limits(candidates, limit, media, exclude, data):
    """Picks are distinct, within the limit, of the asked type, never excluded or blocked."""
    blocked = data.draw(st.frozensets(st.integers(1, 5), max_size=3))
    genre_of = data.draw(
        st.dictionaries(refs, st.frozensets(st.integers(1, 5), max_size=3), max_size=20)
    )
    picks = select_picks(
        candidates,
        limit=limit,
        media_type=media,
        exclude=exclude,
        excluded_genres=blocked,
        genres=genre_of,
    )
    assert len(picks) <= limit
    assert len(picks) == len(set(picks))
    assert not set(picks) & exclude
    assert all(media is None or ref.media_type is media for ref in picks)
    assert all(not (genre_of.get(ref, frozenset()) & blocked) for ref in picks)
    # Order is the candidates' order.
    positions = [candidates.index(ref) for ref in picks]
    assert positions == sorted(positions)


@given(
    recommended=distinct_lists,
    neighbours=distinct_lists,
    exclude=st.frozensets(refs, max_size=10),
    min_results=st.integers(0, 10),
)
def test_cold_start_tops_up_from_neighbours(recommended, neighbours, exclude, min_results):
    """Enough recommender picks stand alone; too few are kept first and topped up."""
    picks = recommended_picks(
        recommended, neighbours, limit=20, min_results=min_results, exclude=exclude
    )
    own = select_picks(recommended, limit=20, exclude=exclude)
    assert picks[: len(own)] == own
    if len(own) >= min_results:
        assert picks == own
    else:
        assert picks == select_picks([*own, *neighbours], limit=20, exclude=exclude)


# --- cadence -------------------------------------------------------------------------------

POLICY = CadencePolicy()


@given(requests=st.integers(0, 200), moved=st.none() | st.integers(0, 400))
def test_cadence_tiers(requests, moved):
    """Hot by requests; dormant by real activity age; then cold or default by requests."""
    moved_at = None if moved is None else NOW - timedelta(days=moved)
    tier = cadence_tier(
        feed_requests_week=requests, activity_moved_at=moved_at, now=NOW, policy=POLICY
    )
    if requests >= 14:
        assert tier is CadenceTier.HOT
    elif moved is None or moved >= 30:
        assert tier is CadenceTier.DORMANT
    elif requests <= 3:
        assert tier is CadenceTier.COLD
    else:
        assert tier is CadenceTier.DEFAULT


@pytest.mark.parametrize(
    ("tier", "hours"),
    [
        (CadenceTier.HOT, 1),
        (CadenceTier.DEFAULT, 6),
        (CadenceTier.COLD, 24),
        (CadenceTier.DORMANT, 168),
    ],
)
def test_next_sync_time_by_tier(tier, hours):
    """Each tier has its interval; a failed sync retries within the hour."""
    assert next_sync_time(tier, NOW, POLICY) == NOW + timedelta(hours=hours)
    assert next_sync_time(tier, NOW, POLICY, failed=True) == NOW + timedelta(hours=1)


def test_policy_rejects_overlapping_thresholds():
    """A cold threshold at or above the hot one is a configuration mistake."""
    with pytest.raises(ValueError, match="cold_requests_per_week"):
        CadencePolicy(hot_requests_per_week=3, cold_requests_per_week=3)


# --- freshness -----------------------------------------------------------------------------


@given(
    computed=st.none() | st.integers(0, 4 * 24 * 60).map(lambda m: NOW - timedelta(minutes=m)),
    lists=st.lists(st.builds(ManagedList, st.sampled_from(ManagedListKind), st.integers(1, 9))),
)
def test_lists_are_fresh_exactly_while_the_last_computation_is_recent(computed, lists):
    """Freshness is when the picks were last computed, whatever was written (or not) then:
    a user with no lists at all, or whose lists kept older write times, is fresh too."""
    day = timedelta(days=1)
    state = UserState("u", lists=_one_per_kind(lists), picks_computed_at=computed)
    assert lists_fresh(state, NOW, day) == (computed is not None and NOW - computed < day)


def _one_per_kind(records):
    return list({record.kind: record for record in records}.values())


# --- taste ---------------------------------------------------------------------------------

genre_ids = st.frozensets(st.integers(1, 6), min_size=1, max_size=3)


@given(
    views=st.dictionaries(refs, times, max_size=20),
    ratings=st.dictionaries(refs, st.builds(Rating, st.floats(-1, 1), times), max_size=20),
    genre_of=st.dictionaries(refs, genre_ids, max_size=40),
)
def test_taste_scores_are_normalized(views, ratings, genre_of):
    """Scores lie in (0, 1], the best genre of each media type scores exactly 1."""
    profile = taste_profile(views, ratings, genre_of, now=NOW, half_life=timedelta(days=365))
    for media in MediaType:
        scores = [s.score for s in profile.genres(media)]
        assert all(0 < s <= 1 for s in scores)
        if scores:
            assert max(scores) == 1.0


@given(older=st.integers(1, 3000), newer=st.integers(0, 3000))
def test_recent_views_weigh_more(older, newer):
    """With one view each, the genre watched more recently scores at least as high."""
    assume(newer < older)
    a, b = ItemRef.movie(1), ItemRef.movie(2)
    profile = taste_profile(
        {a: NOW - timedelta(days=newer), b: NOW - timedelta(days=older)},
        {},
        {a: {10}, b: {20}},
        now=NOW,
        half_life=timedelta(days=365),
    )
    scores = {s.genre_id: s.score for s in profile.movie_genres}
    assert scores[10] == 1.0
    assert scores[20] <= scores[10]
    assert scores[20] == pytest.approx(0.5 ** ((older - newer) / 365), abs=1e-4)


def test_disliked_genres_drop_out():
    """A genre carried only by bad ratings has no positive score and is left out."""
    liked, disliked = ItemRef.tv(1), ItemRef.tv(2)
    profile = taste_profile(
        {},
        {liked: Rating(1.0, NOW), disliked: Rating(-1.0, NOW)},
        {liked: {18}, disliked: {35}},
        now=NOW,
        half_life=timedelta(days=365),
    )
    assert [(s.genre_id, s.score) for s in profile.show_genres] == [(18, 1.0)]
    assert profile.movie_genres == ()
