"""FeedBuilder: ten valid feeds for any state, any store failure, any hint."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Sequence
from datetime import date
from pathlib import Path
from urllib.parse import parse_qsl

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reclio import chilllink
from reclio.adapters.sqlite import SqliteStateStore
from reclio.domain import (
    MOVIE_GENRES,
    Anchor,
    Attempt,
    CatalogRecord,
    ContentType,
    FeedsResponse,
    GenreScore,
    ItemRef,
    ManagedList,
    ManagedListKind,
    MediaType,
    Outcome,
    Preferences,
    TasteProfile,
    Title,
    TmdbQuerySource,
    TraktListSource,
    UserState,
)
from reclio.errors import SourceError, SourceUnavailable
from reclio.feeds import (
    DEFAULT_LAYOUT,
    FeedBuilder,
    layout_markdown,
    parse_last_watched,
    queries,
)
from reclio.testing import strategies as rst

TODAY = date(2026, 11, 26)
IDS = [
    "continue_watching",
    "recommended_movies",
    "recommended_shows",
    "because_watched_movie",
    "because_watched_show",
    "trending_movies",
    "trending_shows",
    "top_genre_movies",
    "top_genre_shows",
    "hidden_gems",
]


class ScriptedStore:
    """A state store holding one state (or failing) for the two reads feeds make."""

    def __init__(
        self,
        state: UserState | None = None,
        *,
        error: SourceError | None = None,
        titles: Sequence[Title] = (),
    ) -> None:
        self.state = state
        self.error = error
        self.titles = {t.ref: t for t in titles}
        self.reads = 0

    async def get_user(self, user_id: str) -> UserState | None:
        self.reads += 1
        if self.error is not None:
            raise self.error
        return self.state if self.state and self.state.user_id == user_id else None

    async def get_titles(self, refs: Collection[ItemRef]) -> list[CatalogRecord]:
        if self.error is not None:
            raise self.error
        return [CatalogRecord.of(self.titles[r]) for r in refs if r in self.titles]


def _builder(store: ScriptedStore) -> FeedBuilder:
    return FeedBuilder(store, today=lambda: TODAY)  # type: ignore[arg-type]


def _params(source: TmdbQuerySource) -> dict[str, str]:
    return dict(parse_qsl(source.parameters, keep_blank_values=True))


def assert_valid_layout(response: FeedsResponse, state: UserState | None) -> None:
    """Ten feeds, unique ids in DESIGN order, valid ChillLink, preferences honoured."""
    feeds = response.feeds
    assert len(feeds) == 10
    assert len({f.id for f in feeds}) == 10
    for feed, expected in zip(feeds, IDS, strict=True):
        assert feed.id == expected or feed.id.startswith(f"{expected}_tmdb_")
    assert chilllink.loads(chilllink.dumps(response)) == response
    prefs = state.preferences if state else Preferences()
    for feed in feeds:
        assert feed.provenance
        assert feed.provenance[-1].outcome is Outcome.SERVED
        assert feed.title
        if isinstance(feed.source, TmdbQuerySource) and feed.source.path.startswith("/discover/"):
            media_type = MediaType(feed.source.path.rsplit("/", 1)[1])
            params = _params(feed.source)
            requested = params.get("with_genres", "")
            assert "," not in requested, "genres must be OR-joined"
            requested_ids = [int(g) for g in requested.split("|") if g]
            assert len(requested_ids) == len(set(requested_ids)), "each genre once"
            wanted = set(requested_ids)
            assert not wanted & prefs.excluded_genres(media_type)
            expected = queries.preference_params(media_type, prefs, today=TODAY)
            for key, value in expected.items():
                if key.endswith("_date.gte"):  # a row may narrow the era (trending: 90 days)
                    assert params[key] >= str(value)
                else:
                    assert params[key] == str(value)
        if isinstance(feed.source, TmdbQuerySource):
            # Endpoints that take no filters appear only when preferences filter nothing.
            for media_type in MediaType:
                unfiltered = (f"/{media_type.value}/popular", f"/trending/{media_type.value}/")
                if feed.source.path.startswith(unfiltered):
                    assert not queries.preference_params(media_type, prefs, today=TODAY)
                if feed.source.path.startswith("/trending/all/"):  # movies and shows alike
                    assert not queries.preference_params(media_type, prefs, today=TODAY)


hints = st.none() | st.text(max_size=20) | st.builds(
    "{}:{}".format, st.sampled_from(["movie", "show"]), st.integers(-5, 20_000_000)
)


@given(
    state=st.none() | rst.user_states(user_id="u"),
    error=st.none() | rst.source_errors(),
    hint=hints,
)
@pytest.mark.anyio
async def test_always_ten_valid_feeds(
    state: UserState | None, error: SourceError | None, hint: str | None
) -> None:
    """Any state (or none), any store failure, any hint: exactly ten valid feeds, no raise."""
    store = ScriptedStore(state, error=error)
    response = await _builder(store).build("u", last_watched=hint)
    assert_valid_layout(response, None if error else state)
    assert store.reads == 1


@pytest.mark.anyio
async def test_recommended_rows_are_second_and_third() -> None:
    """Recommended For You (movies, shows) are rows 2 and 3."""
    response = await _builder(ScriptedStore()).build("nobody")
    assert [f.id for f in response.feeds[1:3]] == ["recommended_movies", "recommended_shows"]
    assert {f.title for f in response.feeds[1:3]} == {"Recommended For You"}


def _lists(*records: ManagedList) -> tuple[ManagedList, ...]:
    return records


MATRIX = ItemRef.movie(603)
BREAKING_BAD = ItemRef.tv(1396)


def _rich_state(**changes: object) -> UserState:
    state = UserState(
        "u",
        taste=TasteProfile(
            movie_genres=[GenreScore(878, 1.0), GenreScore(28, 0.8), GenreScore(53, 0.5),
                          GenreScore(18, 0.1)],
            show_genres=[GenreScore(80, 1.0), GenreScore(18, 0.9)],
        ),
        last_watched_movie=Anchor(MATRIX, "The Matrix"),
        last_watched_show=Anchor(BREAKING_BAD, "Breaking Bad"),
        movies_watched=10,
        shows_watched=40,
        lists=_lists(
            ManagedList(ManagedListKind.RECOMMENDED_MOVIES, 11, 50, synced_ok=True),
            ManagedList(ManagedListKind.RECOMMENDED_SHOWS, 12, 50, synced_ok=True),
            ManagedList(ManagedListKind.BECAUSE_WATCHED_MOVIES, 13, 30, True, anchor=MATRIX),
            ManagedList(ManagedListKind.BECAUSE_WATCHED_SHOWS, 14, 30, True, anchor=BREAKING_BAD),
            ManagedList(ManagedListKind.CONTINUE_WATCHING, 15, 2, synced_ok=True),
        ),
    )
    return attrs.evolve(state, **changes)


@pytest.mark.anyio
async def test_healthy_lists_serve_rows_one_to_five() -> None:
    """With good managed lists, rows 1-5 point at them and BYW ids embed the anchor."""
    feeds = (await _builder(ScriptedStore(_rich_state())).build("u")).feeds
    assert [f.source for f in feeds[:5]] == [TraktListSource(i) for i in (15, 11, 12, 13, 14)]
    assert feeds[3].id == "because_watched_movie_tmdb_603"
    assert feeds[3].title == "Because You Watched The Matrix"
    assert feeds[4].id == "because_watched_show_tmdb_1396"


@pytest.mark.anyio
async def test_failed_sync_falls_back_to_top_genres_or_joined() -> None:
    """A list whose last sync failed is not served: the top three genres, OR-joined, are."""
    state = _rich_state()
    broken = ManagedList(ManagedListKind.RECOMMENDED_MOVIES, 11, 50, synced_ok=False)
    feeds = (await _builder(ScriptedStore(state.with_list(broken))).build("u")).feeds
    source = feeds[1].source
    assert isinstance(source, TmdbQuerySource)
    assert source.path == "/discover/movie"
    assert _params(source)["with_genres"] == "878|28|53"
    assert feeds[1].provenance[0].detail == "the last sync that wrote the list failed"


@pytest.mark.anyio
async def test_short_list_is_not_served() -> None:
    """A list with fewer than five items passes (and says so)."""
    short = ManagedList(ManagedListKind.RECOMMENDED_SHOWS, 12, 4, synced_ok=True)
    feeds = (await _builder(ScriptedStore(_rich_state().with_list(short))).build("u")).feeds
    assert not isinstance(feeds[2].source, TraktListSource)
    assert "4 items" in feeds[2].provenance[0].detail


@pytest.mark.anyio
async def test_excluded_genre_is_never_requested() -> None:
    """A top genre the user excluded is dropped from every query and sent as without_genres."""
    state = _rich_state(preferences=Preferences(excluded_movie_genres={878}), lists=())
    feeds = (await _builder(ScriptedStore(state)).build("u")).feeds
    recommended, top_genre = feeds[1].source, feeds[7].source
    assert isinstance(recommended, TmdbQuerySource)
    assert isinstance(top_genre, TmdbQuerySource)
    assert _params(recommended)["with_genres"] == "28|53|18"
    assert _params(top_genre)["with_genres"] == "28"
    assert feeds[7].title == "Action Movies You'll Love"
    assert _params(top_genre)["without_genres"] == "878"


@pytest.mark.anyio
async def test_zero_slider_is_a_value() -> None:
    """Era 0 asks for older titles and runtime 0 for short ones; None asks for nothing."""
    zero = _rich_state(preferences=Preferences(era=0, runtime=0), lists=())
    unset = _rich_state(lists=())
    zero_params = _params((await _builder(ScriptedStore(zero)).build("u")).feeds[1].source)  # type: ignore[arg-type]
    unset_params = _params((await _builder(ScriptedStore(unset)).build("u")).feeds[1].source)  # type: ignore[arg-type]
    assert zero_params["primary_release_date.lte"] == "2005-12-31"
    assert zero_params["with_runtime.lte"] == "100"
    assert "primary_release_date.lte" not in unset_params
    assert "with_runtime.lte" not in unset_params


@pytest.mark.anyio
async def test_hidden_gems_follow_what_the_user_watches_and_discovery() -> None:
    """Hidden gems use the media type watched more and a vote band narrowing with discovery."""
    low = _rich_state(preferences=Preferences(discovery=0))
    high = _rich_state(preferences=Preferences(discovery=100))
    gems_low = (await _builder(ScriptedStore(low)).build("u")).feeds[9]
    gems_high = (await _builder(ScriptedStore(high)).build("u")).feeds[9]
    assert gems_low.content_type is ContentType.SHOWS
    assert gems_low.source.path == "/discover/tv"  # type: ignore[union-attr]
    p_low, p_high = _params(gems_low.source), _params(gems_high.source)  # type: ignore[arg-type]
    assert int(p_high["vote_count.lte"]) < int(p_low["vote_count.gte"])
    assert "popularity.lte" not in p_low


@pytest.mark.anyio
async def test_hint_overrides_anchor_and_falls_back_to_tmdb_recommendations() -> None:
    """A last_watched hint for another title moves the BYW row off the stale list."""
    heat = Title(ItemRef.movie(949), "Heat")
    store = ScriptedStore(_rich_state(), titles=[heat])
    feed = (await _builder(store).build("u", last_watched="movie:949")).feeds[3]
    assert feed.id == "because_watched_movie_tmdb_949"
    assert feed.title == "Because You Watched Heat"
    assert feed.source == TmdbQuerySource("/movie/949/recommendations")


@pytest.mark.anyio
async def test_unknown_hint_is_ignored() -> None:
    """A hint naming a title nobody knows is ignored; the stored anchor stays."""
    builder = _builder(ScriptedStore(_rich_state()))
    feed = (await builder.build("u", last_watched="movie:5")).feeds[3]
    assert feed.id == "because_watched_movie_tmdb_603"


@pytest.mark.anyio
async def test_store_failure_still_answers_non_personal_rows() -> None:
    """A broken store yields the non-personal end of every chain, with the error noted."""
    store = ScriptedStore(error=SourceUnavailable("disk I/O error", service="sqlite",
                                                  operation="get_user"))
    feeds = (await _builder(store).build("u")).feeds
    assert feeds[0].source == TmdbQuerySource("/trending/all/day")
    assert feeds[0].title == "Trending Today"
    assert feeds[1].source == TmdbQuerySource("/movie/popular")
    assert feeds[3].id == "because_watched_movie"
    assert feeds[3].title == "More Movies To Discover"


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        ("movie:603", ItemRef.movie(603)),
        ("show:1399", ItemRef.tv(1399)),
        (" movie:603 ", ItemRef.movie(603)),
        ("movie:0", None),
        ("tv:1399", None),
        ("movie:603abc", None),
        ("movie:10000001", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_last_watched(hint: str | None, expected: ItemRef | None) -> None:
    """Only movie:<id> and show:<id> with ids 1..10,000,000 are hints."""
    assert parse_last_watched(hint) == expected


def test_layout_ids_are_unique_and_ten() -> None:
    """The default layout is ten specs with the documented ids."""
    assert [spec.id for spec in DEFAULT_LAYOUT] == IDS


def test_duplicate_feed_ids_are_rejected() -> None:
    """A layout with two feeds of one id is a configuration error, caught at construction."""
    with pytest.raises(ValueError, match="unique"):
        FeedBuilder(ScriptedStore(), layout=[DEFAULT_LAYOUT[0], DEFAULT_LAYOUT[0]])  # type: ignore[arg-type]


def test_layout_markdown_renders_every_feed_and_link() -> None:
    """The docs table names every feed id and every step of every chain, in order."""
    table = layout_markdown(DEFAULT_LAYOUT)
    rows = table.splitlines()[2:]
    assert len(rows) == 10
    for row, spec in zip(rows, DEFAULT_LAYOUT, strict=True):
        assert f"`{spec.id}`" in row
        steps = [link.describe for link in spec.chain] + [spec.terminal.describe]
        positions = [row.index(step.replace("|", "\\|")) for step in steps]
        assert positions == sorted(positions)


@pytest.mark.anyio
async def test_every_preference_reaches_the_queries() -> None:
    """Family safe, recent era and long runtime shape movie and show queries alike."""
    prefs = Preferences(family_safe=True, era=100, runtime=100)
    store = ScriptedStore(_rich_state(preferences=prefs, lists=()))
    feeds = (await _builder(store).build("u")).feeds
    movies, shows = _params(feeds[1].source), _params(feeds[2].source)  # type: ignore[arg-type]
    assert movies["include_adult"] == "false"
    assert movies["certification.lte"] == "PG-13"
    assert movies["primary_release_date.gte"] == "2021-01-01"
    assert movies["with_runtime.gte"] == "130"
    assert shows["first_air_date.gte"] == "2021-01-01"
    assert shows["with_runtime.gte"] == "50"
    assert "certification.lte" not in shows
    # Trending takes no filters: the rows become recent popular titles through discover.
    assert feeds[5].source.path == "/discover/movie"  # type: ignore[union-attr]
    assert _params(feeds[5].source)["primary_release_date.gte"] == "2026-08-28"  # type: ignore[arg-type]
    assert feeds[0].content_type is ContentType.MOVIES


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("prefs", "source", "content_type"),
    [
        (Preferences(), TmdbQuerySource("/trending/all/day"), ContentType.ALL),
        # A filter on one media type only: the other one's real trending list.
        (
            Preferences(excluded_show_genres={16}),
            TmdbQuerySource("/trending/movie/day"),
            ContentType.MOVIES,
        ),
        (
            Preferences(excluded_movie_genres={27}),
            TmdbQuerySource("/trending/tv/day"),
            ContentType.SHOWS,
        ),
    ],
)
async def test_trending_today_never_shows_a_filtered_title(
    prefs: Preferences, source: TmdbQuerySource, content_type: ContentType
) -> None:
    """Trending Today is /trending/all only when preferences filter neither movies nor shows."""
    state = _rich_state(preferences=prefs, lists=())
    feed = (await _builder(ScriptedStore(state)).build("u")).feeds[0]
    assert (feed.title, feed.source, feed.content_type) == ("Trending Today", source, content_type)


@pytest.mark.anyio
async def test_trending_today_filters_both_through_discover_movies() -> None:
    """When both media types filter, Trending Today is recent popular movies, filtered."""
    prefs = Preferences(excluded_movie_genres={27}, excluded_show_genres={16})
    feed = (await _builder(ScriptedStore(_rich_state(preferences=prefs, lists=()))).build("u"))
    source = feed.feeds[0].source
    assert isinstance(source, TmdbQuerySource)
    assert source.path == "/discover/movie"
    assert _params(source)["without_genres"] == "27"
    assert _params(source)["primary_release_date.gte"] == "2026-08-28"
    assert feed.feeds[0].content_type is ContentType.MOVIES


@pytest.mark.anyio
async def test_every_genre_excluded_still_serves_a_top_rated_row() -> None:
    """With every genre excluded, the top-genre row names no genre and requests none."""
    prefs = Preferences(excluded_movie_genres=set(MOVIE_GENRES))
    feeds = (await _builder(ScriptedStore(_rich_state(preferences=prefs))).build("u")).feeds
    assert feeds[7].title == "Top Rated Movies"
    assert "with_genres" not in _params(feeds[7].source)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_continue_watching_serves_from_one_item() -> None:
    """Two paused titles are a useful row: Continue Watching needs one item, not five."""
    feeds = (await _builder(ScriptedStore(_rich_state())).build("u")).feeds
    assert feeds[0].source == TraktListSource(15)
    empty = ManagedList(ManagedListKind.CONTINUE_WATCHING, 15, 0, synced_ok=True)
    feeds = (await _builder(ScriptedStore(_rich_state().with_list(empty))).build("u")).feeds
    assert feeds[0].title == "Trending Today"


def test_discover_requests_each_genre_once() -> None:
    """Genres passed twice are requested once, in first-seen order (never ``878|878``)."""
    query = queries.discover(MediaType.MOVIE, Preferences(), today=TODAY, genres=(878, 28, 878))
    assert _params(query)["with_genres"] == "878|28"


@pytest.mark.anyio
async def test_a_genre_scored_twice_is_requested_once() -> None:
    """A stored profile that scores a genre twice still asks TMDB for it once."""
    taste = TasteProfile(movie_genres=[GenreScore(878, 1.0), GenreScore(878, 0.9)])
    feeds = (await _builder(ScriptedStore(_rich_state(taste=taste, lists=()))).build("u")).feeds
    assert _params(feeds[1].source)["with_genres"] == "878"  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_unknown_genre_ids_are_skipped() -> None:
    """A stored genre id TMDB does not list is never requested nor named."""
    taste = TasteProfile(movie_genres=[GenreScore(424242, 1.0), GenreScore(35, 0.5)])
    state = _rich_state(taste=taste, lists=())
    feeds = (await _builder(ScriptedStore(state)).build("u")).feeds
    assert _params(feeds[1].source)["with_genres"] == "35"  # type: ignore[arg-type]
    assert feeds[7].title == "Comedy Movies You'll Love"


@pytest.mark.anyio
@pytest.mark.parametrize("doc", ["null", "[]", "42", '"x"', "{", '{"user_id": 5}', "{}"])
async def test_corrupt_stored_state_still_yields_ten_feeds(tmp_path: Path, doc: str) -> None:
    """A real SQLite store with a damaged row: the builder answers, the damage is noted."""
    store = SqliteStateStore(tmp_path / "state.sqlite3")
    await store.put_user(_rich_state())
    with sqlite3.connect(tmp_path / "state.sqlite3") as conn:
        conn.execute("UPDATE users SET doc = ? WHERE user_id = 'u'", (doc,))
    response = await FeedBuilder(store, today=lambda: TODAY).build("u", last_watched="movie:1")
    await store.aclose()
    assert_valid_layout(response, None)
    assert response.feeds[1].provenance[-1].link == "popular"


@pytest.mark.anyio
async def test_lone_surrogates_never_break_a_build_nor_a_body(tmp_path: Path) -> None:
    """A lone surrogate in a user id or a stored title: no raise, and every body encodes."""
    store = SqliteStateStore(tmp_path / "state.sqlite3")
    matrix = Anchor(MATRIX, "The M\udc80trix")
    await store.put_user(_rich_state(user_id="u\ud800", last_watched_movie=matrix, lists=()))
    builder = FeedBuilder(store, today=lambda: TODAY)
    known = await builder.build("u\ud800")
    unknown = await builder.build("\udfff")
    await store.aclose()
    assert_valid_layout(known, _rich_state(lists=()))
    assert_valid_layout(unknown, None)
    for response in (known, unknown):
        chilllink.dumps(response, explain=True).encode()
    assert known.feeds[3].title == "Because You Watched The M\ufffdtrix"


DISK_ERROR = SourceUnavailable("disk I/O error", service="sqlite", operation="get_user")


@pytest.mark.anyio
async def test_a_broken_store_is_noted_and_an_unknown_user_is_not() -> None:
    """A broken store and an unknown user serve the same rows, but provenance tells them apart."""
    broken = await _builder(ScriptedStore(error=DISK_ERROR)).build("u")
    unknown = await _builder(ScriptedStore()).build("u")
    assert [f.source for f in broken.feeds] == [f.source for f in unknown.feeds]
    (note,) = broken.notes
    assert note.startswith("state unavailable: ")
    assert "disk I/O error" in note
    for feed in broken.feeds:
        assert feed.provenance[0] == Attempt("context", Outcome.NOTED, note)
        assert feed.provenance[-1].outcome is Outcome.SERVED
    assert unknown.notes == ()
    assert all(a.outcome is not Outcome.NOTED for f in unknown.feeds for a in f.provenance)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        ("movie:abc", "ignored malformed last_watched hint 'movie:abc'"),
        ("movie:5", "ignored last_watched hint movie_5: not in the catalog"),
    ],
)
async def test_an_ignored_hint_is_noted(hint: str, expected: str) -> None:
    """A hint the builder ignores is said once on the response and in the feeds' provenance."""
    response = await _builder(ScriptedStore(_rich_state())).build("u", last_watched=hint)
    assert response.notes == (expected,)
    because_watched = response.feeds[3]
    assert because_watched.id == "because_watched_movie_tmdb_603"  # the stored anchor stays
    assert Attempt("context", Outcome.NOTED, expected) in because_watched.provenance


@pytest.mark.anyio
async def test_notes_reach_the_explained_body_but_never_the_wire() -> None:
    """dumps(explain=True) carries the notes; the ChillLink body itself is unchanged."""
    response = await _builder(ScriptedStore(error=DISK_ERROR)).build("u", last_watched="x")
    assert len(response.notes) == 2
    explained = json.loads(chilllink.dumps(response, explain=True))
    assert explained["notes"] == list(response.notes)
    first = explained["feeds"][0]["provenance"][:2]
    assert first == [{"link": "context", "outcome": "noted", "detail": n} for n in response.notes]
    wire = json.loads(chilllink.dumps(response))
    assert set(wire) == {"feeds"}
    assert chilllink.loads(chilllink.dumps(response)) == response
