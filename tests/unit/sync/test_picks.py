"""plan_picks: the pure decision of what each managed row holds (hypothesis properties)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from reclio.domain import ItemRef, ManagedListKind, MediaType, PlaybackProgress, Preferences
from reclio.sync._picks import PickRules, PickSources, plan_picks

NOW = datetime(2026, 1, 1, tzinfo=UTC)
RULES = PickRules(recommended_count=10, because_watched_count=10, min_items=5)

refs = st.builds(ItemRef, st.sampled_from(MediaType), st.integers(1, 60))
ranked = st.lists(refs, max_size=30)
answers = st.one_of(st.none(), ranked)
by_media = st.fixed_dictionaries({MediaType.MOVIE: answers, MediaType.TV: answers})
neighbours = st.fixed_dictionaries({MediaType.MOVIE: ranked, MediaType.TV: ranked})
genres = st.dictionaries(refs, st.frozensets(st.sampled_from([18, 27, 35]), max_size=2))
prefs = st.builds(
    Preferences,
    excluded_movie_genres=st.frozensets(st.sampled_from([18, 27, 35]), max_size=2),
    excluded_show_genres=st.frozensets(st.sampled_from([18, 27, 35]), max_size=2),
)


@st.composite
def sources(draw: st.DrawFn) -> PickSources:
    anchors = {
        m: draw(st.builds(ItemRef, st.just(m), st.integers(1, 60)))
        for m in MediaType
        if draw(st.booleans())
    }
    return PickSources(
        recommended=draw(by_media),
        similar={m: draw(answers) for m in anchors},
        anchors=anchors,
        seed_neighbours=draw(neighbours),
        anchor_neighbours=draw(neighbours),
        genres=draw(genres),
    )


def _kind_media(kind: ManagedListKind) -> MediaType:
    movies = (ManagedListKind.RECOMMENDED_MOVIES, ManagedListKind.BECAUSE_WATCHED_MOVIES)
    return MediaType.MOVIE if kind in movies else MediaType.TV


@given(sources(), st.frozensets(refs, max_size=20), prefs)
def test_every_pick_is_usable(src: PickSources, seen: frozenset[ItemRef], pref: Preferences):
    """Right media type, never seen, never in an excluded genre, never twice, never the anchor."""
    for kind, wanted in plan_picks(src, seen=seen, preferences=pref, rules=RULES).items():
        media = _kind_media(kind)
        assert len(set(wanted.refs)) == len(wanted.refs)
        assert len(wanted.refs) <= 10
        for ref in wanted.refs:
            assert ref.media_type is media
            assert ref not in seen
            assert not pref.excluded_genres(media) & set(src.genres.get(ref, ()))
        if wanted.anchor is not None:
            assert wanted.anchor not in wanted.refs


@given(sources(), prefs)
def test_enough_usable_recommender_picks_are_kept_alone(src: PickSources, pref: Preferences):
    """No cold start when the recommender gave enough usable picks: its order, no neighbours."""
    planned = plan_picks(src, seen=frozenset(), preferences=pref, rules=RULES)
    for media in MediaType:
        answer = src.recommended[media]
        blocked = pref.excluded_genres(media)
        usable = [
            r
            for r in dict.fromkeys(answer or [])
            if r.media_type is media and not blocked & set(src.genres.get(r, ()))
        ]
        wanted = planned[ManagedListKind.recommended(media)]
        if answer is not None and len(usable) >= RULES.min_recommender_results:
            assert list(wanted.refs) == usable[:10]
            assert wanted.complete == (len(wanted.refs) >= RULES.min_items)


def test_cold_start_counts_usable_picks_not_the_raw_answer():
    """6 answers, 3 in an excluded genre: a cold start, topped up from the seed's neighbours."""
    answer = [ItemRef.movie(n) for n in range(1, 7)]
    horror = {ref: {27} for ref in answer[:3]}
    seed = [ItemRef.movie(n) for n in range(100, 110)]
    src = PickSources(
        recommended={MediaType.MOVIE: answer},
        seed_neighbours={MediaType.MOVIE: seed},
        genres=horror,
    )
    planned = plan_picks(
        src, seen=(), preferences=Preferences(excluded_movie_genres={27}), rules=RULES
    )
    wanted = planned[ManagedListKind.RECOMMENDED_MOVIES]
    assert list(wanted.refs) == [*answer[3:], *seed][:10]
    assert wanted.complete


def test_cold_start_needs_no_recommender():
    """The recommender failed for a new user: the seed's neighbours still make the list."""
    seed = [ItemRef.tv(n) for n in range(1, 20)]
    src = PickSources(recommended={MediaType.TV: None}, seed_neighbours={MediaType.TV: seed})
    wanted = plan_picks(src, seen=(), preferences=Preferences(), rules=RULES)[
        ManagedListKind.RECOMMENDED_SHOWS
    ]
    assert list(wanted.refs) == seed[:10]
    assert not wanted.complete  # never replaces a list the recommender made


def test_a_short_answer_is_incomplete():
    """3 picks and nothing to top up with: may grow a list, never shrink one."""
    src = PickSources(recommended={MediaType.MOVIE: [ItemRef.movie(n) for n in (1, 2, 3)]})
    wanted = plan_picks(src, seen=(), preferences=Preferences(), rules=RULES)[
        ManagedListKind.RECOMMENDED_MOVIES
    ]
    assert len(wanted.refs) == 3
    assert not wanted.complete


def test_continue_watching_is_newest_unfinished_first():
    """Finished titles drop out; the newest pause comes first."""
    old = PlaybackProgress(ItemRef.movie(1), 50, NOW.replace(year=2025))
    new = PlaybackProgress(ItemRef.tv(2), 10, NOW)
    done = PlaybackProgress(ItemRef.movie(3), 99, NOW)
    src = PickSources(playback=[old, done, new])
    wanted = plan_picks(src, seen=(), preferences=Preferences(), rules=RULES)
    assert wanted[ManagedListKind.CONTINUE_WATCHING].refs == (ItemRef.tv(2), ItemRef.movie(1))
