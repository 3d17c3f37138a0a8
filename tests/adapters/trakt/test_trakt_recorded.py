"""The Trakt adapters decoding Trakt's real bodies, replayed from cassettes (vcrpy, replay only).

The cassette is built by ``make_cassettes.py`` from ``../shared/data/api-samples/trakt``; the
tests at the end also decode every sample directly, and skip when the data is absent.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from reclio.adapters.trakt import (
    TraktConfig,
    TraktInteractionSource,
    TraktListSink,
    TraktSession,
)
from reclio.adapters.trakt._wire import (
    WireHistoryItem,
    WireListItem,
    WirePlayback,
    WireRating,
    WireTraktList,
    decode,
    make_converter,
    to_activity,
    to_handle,
    to_ref,
)
from reclio.domain import ItemRef
from tests.adapters.trakt.conftest import REPLAY_CLIENT, REPLAY_SECRET

USER = "contract-user"


def session(store):
    return TraktSession(TraktConfig(REPLAY_CLIENT, REPLAY_SECRET), store=store)


@pytest.mark.anyio
async def test_history_of_real_plays_over_two_clamped_pages(replay, replay_store):
    """50 real plays on two pages of 25 (Trakt cut the 250 asked): each distinct play once,
    an episode a view of its show, newest first."""
    with replay():
        views = await TraktInteractionSource(session(replay_store)).history(USER)

    assert {(v.ref, v.at) for v in views} == {
        (ItemRef.movie(155), datetime(2014, 3, 31, 9, 28, 53, tzinfo=UTC)),
        (ItemRef.tv(8592), datetime(2014, 3, 31, 9, 28, 53, tzinfo=UTC)),
        (ItemRef.movie(76338), datetime(2013, 12, 7, 9, 4, 59, tzinfo=UTC)),
        (ItemRef.movie(20526), datetime(2013, 6, 15, 5, 54, 27, tzinfo=UTC)),
    }
    assert views[-1].ref == ItemRef.movie(20526)


@pytest.mark.anyio
async def test_real_activities_ratings_watchlist_and_playback(replay, replay_store):
    """The older last_activities shape, typeless rating entries, a season and an episode on
    the watchlist, and paused episodes all decode to reclio's values."""
    source = TraktInteractionSource(session(replay_store))
    with replay():
        stamp = await source.activity(USER)
        ratings = await source.ratings(USER)
        watchlist = await source.watchlist(USER)
        playback = await source.playback(USER)

    assert stamp.watched_at == datetime(2014, 11, 20, 6, 51, 30, 305000, tzinfo=UTC)
    assert stamp.paused_at == datetime(2014, 11, 20, 6, 51, 30, 250000, tzinfo=UTC)
    assert stamp.watchlisted_at == datetime(2014, 11, 20, 6, 51, 30, 321000, tzinfo=UTC)
    assert {r.ref for r in ratings} >= {ItemRef.tv(2316), ItemRef.tv(1404)}
    assert all(-1 <= r.value <= 1 for r in ratings)
    assert {b.ref for b in watchlist} == {ItemRef.movie(20526), ItemRef.tv(1396)}
    assert {p.ref for p in playback} == {ItemRef.movie(272), ItemRef.tv(1396)}
    assert {p.progress for p in playback} == {10.0, 65.5}


@pytest.mark.anyio
async def test_real_lists_and_items(replay, replay_store):
    """A real lists answer and list items: titles with their order, other entries foreign."""
    sink = TraktListSink(session(replay_store))
    with replay():
        account = await sink.account(USER)
        movies = await sink.snapshot(USER, 1)
        shows = await sink.snapshot(USER, 3)
        mixed = await sink.snapshot(USER, 55)

    assert len(account.lists) == 37
    assert account.find("Movies").list_id == 1
    assert movies.refs == (ItemRef.movie(76341), ItemRef.movie(287424))
    assert shows.refs == (ItemRef.tv(1399),)
    assert shows.foreign == 2  # a season and an episode are not titles on their own
    assert mixed.foreign == 3  # a season, an episode and a person
    assert len(mixed.refs) == 2


# -- every sample, decoded directly -------------------------------------------------------------


def load(shared_data, name):
    return json.loads((shared_data / "api-samples" / "trakt" / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("name", "wire"),
    [
        ("sync_history.json", WireHistoryItem),
        ("sync_history_movies.json", WireHistoryItem),
        ("sync_history_shows.json", WireHistoryItem),
        ("sync_ratings.json", WireRating),
        ("sync_ratings_movies.json", WireRating),
        ("sync_ratings_shows.json", WireRating),
        ("sync_ratings_episodes.json", WireRating),
        ("sync_watchlist.json", WireListItem),
        ("sync_watchlist_movies.json", WireListItem),
        ("sync_playback.json", WirePlayback),
        ("sync_playback_movies.json", WirePlayback),
        ("sync_playback_episodes.json", WirePlayback),
        ("users_me_lists_movies_items.json", WireListItem),
        ("users_me_lists_shows_items.json", WireListItem),
        ("users_sean_lists_55_items.json", WireListItem),
    ],
)
def test_every_sample_decodes_and_names_its_titles(shared_data, name, wire):
    """Each real body decodes; every entry but a person names a title (an episode or a
    season its show) by its TMDB id."""
    entries = decode(
        make_converter(), load(shared_data, name), list[wire], what=name, operation="t"
    )
    assert entries
    named = [to_ref(entry) for entry in entries if entry.type != "person"]
    assert named
    assert all(ref is not None for ref in named)


def test_real_lists_decode_to_handles(shared_data):
    """Every list of a real lists answer is a handle with its id, name and stamp."""
    lists = decode(
        make_converter(),
        load(shared_data, "users_me_lists.json"),
        list[WireTraktList],
        what="lists",
        operation="t",
    )
    handles = [to_handle(wire, operation="t") for wire in lists]
    assert len({h.list_id for h in handles}) == len(handles)
    assert all(h.updated_at is not None for h in handles)


def test_real_last_activities(shared_data):
    """The real last_activities body gives all four stamps."""
    stamp = to_activity(load(shared_data, "sync_last_activities.json"))
    assert None not in (stamp.watched_at, stamp.rated_at, stamp.watchlisted_at, stamp.paused_at)
