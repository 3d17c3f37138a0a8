"""Properties of the list planners for sinks with limits and lagging reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from reclio.domain import AccountLimits, ListAccount, ListHandle, ManagedList, ManagedListKind
from reclio.sync._plan import allot_lists, list_read_lags, managed_kinds

NOW = datetime(2026, 9, 1, tzinfo=UTC)
LAG = timedelta(minutes=10)
KINDS = managed_kinds()


@st.composite
def accounts(draw):
    """An account with some lists of the user's own and some managed ones already."""
    own = draw(st.integers(0, 6))
    managed = draw(st.lists(st.sampled_from(KINDS), unique=True))
    lists = [ListHandle(n + 1, f"Mine {n}") for n in range(own)]
    lists += [ListHandle(100 + n, kind.list_name) for n, kind in enumerate(managed)]
    limit = draw(st.integers(0, 8))
    return ListAccount(AccountLimits(limit, 250), lists), set(managed)


@given(accounts(), st.lists(st.sampled_from(KINDS), unique=True))
def test_allotment_never_asks_for_a_list_the_account_cannot_hold(drawn, wanted):
    """Existing managed lists are always kept; new ones only fill free slots, in priority."""
    account, existing = drawn
    wanted = [kind for kind in KINDS if kind in wanted]  # callers pass priority order
    allotted = allot_lists(wanted, account)
    room = max(account.limits.max_lists - len(account.lists), 0)
    created = [kind for kind in allotted if kind not in existing]
    assert list(allotted) == [kind for kind in wanted if kind in allotted]
    assert {kind for kind in wanted if kind in existing} <= set(allotted)
    assert len(created) == min(room, len([k for k in wanted if k not in existing]))
    skipped = [kind for kind in wanted if kind not in allotted]
    if skipped:  # what falls back comes after everything new that was created
        assert all(wanted.index(k) < wanted.index(skipped[0]) for k in created)


def test_a_free_account_with_four_own_lists_gets_recommended_movies():
    """Five allowed, four held: the first row only."""
    account = ListAccount(AccountLimits(5, 250), [ListHandle(n, f"Mine {n}") for n in range(1, 5)])
    assert allot_lists(KINDS, account) == (ManagedListKind.RECOMMENDED_MOVIES,)


def record(updated_at=NOW, synced_at=NOW, count=3):
    return ManagedList(
        ManagedListKind.RECOMMENDED_MOVIES, 7, count, True, synced_at, None, updated_at
    )


def test_a_read_lags_when_it_is_older_than_the_last_write():
    """Older stamp, unlisted within the lag, or a count that differs at the same stamp."""
    listed = ListHandle(7, "x", 3, NOW)
    assert not list_read_lags(record(), listed, now=NOW, lag=LAG)
    assert list_read_lags(
        record(), ListHandle(7, "x", 3, NOW - timedelta(seconds=1)), now=NOW, lag=LAG
    )
    assert list_read_lags(record(), None, now=NOW + timedelta(minutes=1), lag=LAG)
    assert not list_read_lags(record(), None, now=NOW + timedelta(hours=1), lag=LAG)  # deleted
    assert list_read_lags(record(), listed, now=NOW, lag=LAG, entries=2)
    assert not list_read_lags(
        record(), ListHandle(7, "x", 5, NOW + timedelta(hours=1)), now=NOW, lag=LAG, entries=5
    )


@given(st.one_of(st.none(), st.builds(ListHandle, st.just(7), st.just("x"))), st.integers(0, 9))
def test_sinks_without_stamps_never_lag(listed, entries):
    """A record without the sink's stamp (a read-your-writes sink) is never taken for lagging."""
    assert not list_read_lags(record(updated_at=None), listed, now=NOW, lag=LAG, entries=entries)
    assert not list_read_lags(None, listed, now=NOW, lag=LAG, entries=entries)
