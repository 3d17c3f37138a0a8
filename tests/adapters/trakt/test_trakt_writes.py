"""The Trakt list write planner: reaches the target, never empties the list on the way."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from reclio.adapters.trakt._writes import Add, Remove, Reorder, plan_writes, simulate
from reclio.domain import ItemRef, ListEntry

movies = st.lists(st.integers(1, 12).map(ItemRef.movie), max_size=10, unique=True)
mixed = st.lists(
    st.one_of(st.integers(1, 8).map(ItemRef.movie), st.integers(1, 8).map(ItemRef.tv)),
    max_size=10,
    unique=True,
)


def entries(refs, *, ids=True):
    counter = itertools.count(100)
    return [ListEntry(ref, next(counter) if ids else None) for ref in refs]


def run(current, writes):
    states = [tuple(current)]
    for write in writes:
        states.append(simulate(states[-1], write))
    return states


@given(movies, movies, st.booleans())
def test_the_plan_reaches_the_target(current, target, with_ids):
    """Whatever the list holds and whatever it should, the writes end at the target."""
    writes = plan_writes(entries(current, ids=with_ids), target)
    assert run(current, writes)[-1] == tuple(target)


@given(movies, movies, st.booleans())
def test_never_empty_on_the_way(current, target, with_ids):
    """Between two writes the list is never empty (when the target is not), and only ever
    holds titles of the list or of the target."""
    writes = plan_writes(entries(current, ids=with_ids), target)
    allowed = set(current) | set(target)
    for state in run(current, writes)[1:]:
        assert set(state) <= allowed
        if target and current:
            assert state, writes


@given(movies, movies, st.booleans())
def test_at_most_three_writes_and_none_for_an_equal_list(current, target, with_ids):
    """A plan is at most three calls (three seconds of the user's write budget)."""
    writes = plan_writes(entries(current, ids=with_ids), target)
    assert len(writes) <= 3
    if current == target:
        assert writes == []


@given(movies, movies)
def test_a_reorder_names_every_entry_by_its_id(current, target):
    """A reorder is a permutation of the list's entry ids (Trakt ranks what it names)."""
    listed = entries(current)
    ids = {entry.ref: entry.entry_id for entry in listed}
    for write in plan_writes(listed, target):
        if isinstance(write, Reorder):
            assert sorted(write.entry_ids) == sorted(ids.values())
            assert write.entry_ids == tuple(ids[ref] for ref in write.refs)


@given(movies, movies)
def test_no_reorder_without_ids(current, target):
    """Without entry ids (or with entries reclio cannot name) no reorder is planned."""
    assert not any(isinstance(w, Reorder) for w in plan_writes(entries(current, ids=False), target))
    assert not any(
        isinstance(w, Reorder) for w in plan_writes(entries(current), target, can_reorder=False)
    )


@given(movies, movies, st.booleans())
def test_the_list_never_outgrows_what_it_needs(current, target, with_ids):
    """When the list keeps a head, removals come first: it never holds more than the larger
    of now and the target (a full list never provokes a 420)."""
    writes = plan_writes(entries(current, ids=with_ids), target)
    if writes and not isinstance(writes[0], Add):
        bound = max(len(current), len(target))
        assert all(len(state) <= bound for state in run(current, writes))


@given(mixed, mixed)
def test_mixed_additions_hold_the_target_set(current, target):
    """Trakt appends movies before shows: a mixed list gets the right titles (its order is
    fixed by the next sync's reorder)."""
    writes = plan_writes(entries(current), target)
    assert set(run(current, writes)[-1]) == set(target)


def test_new_top_pick_grows_first():
    """The top pick is new: add it, drop the rest, add the others after it."""
    current = [ItemRef.movie(n) for n in (1, 2, 3)]
    target = [ItemRef.movie(n) for n in (9, 3, 2)]
    assert plan_writes(entries(current), target) == [
        Add((ItemRef.movie(9),)),
        Remove(tuple(current)),
        Add((ItemRef.movie(3), ItemRef.movie(2))),
    ]


def test_kept_head_is_reordered_then_the_tail_added():
    """A head already on the list is reordered in place; only the rest moves."""
    current = [ItemRef.movie(n) for n in (1, 2, 3, 4)]
    target = [ItemRef.movie(n) for n in (2, 1, 5)]
    writes = plan_writes(entries(current), target)
    assert [type(w) for w in writes] == [Reorder, Remove, Add]
    assert writes[1] == Remove((ItemRef.movie(3), ItemRef.movie(4)))
    assert writes[2] == Add((ItemRef.movie(5),))
