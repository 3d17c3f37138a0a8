"""Domain values: ids, rating normalization, validation, and round trips."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reclio import chilllink
from reclio.domain import (
    ActivityStamp,
    Anchor,
    Attempt,
    ContentType,
    Feed,
    FeedsResponse,
    Genre,
    GenreScore,
    Interaction,
    InteractionKind,
    ItemRef,
    ListHandle,
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
    normalize_rating,
    valid_text,
)
from reclio.testing import strategies as rst

NOW = datetime(2026, 11, 26, tzinfo=UTC)


@given(rst.item_refs())
def test_item_id_round_trip(ref: ItemRef) -> None:
    """Every ref prints as its item id and parses back to itself."""
    assert ItemRef.parse(ref.item_id) == ref
    assert str(ref) == f"{ref.media_type.value}_{ref.tmdb_id}"


@pytest.mark.parametrize(
    "bad", ["603", "movie603", "movie_", "movie_0", "movie_-3", "show_1", "tv_01", " movie_1", ""]
)
def test_item_id_parse_rejects_anything_else(bad: str) -> None:
    """Only movie_<n> and tv_<n> parse; the error says what is expected."""
    with pytest.raises(ValueError, match="expected 'movie_<tmdb id>'"):
        ItemRef.parse(bad)


def test_movies_and_shows_with_one_number_differ() -> None:
    """TMDB numbers movies and shows separately: the prefix keeps them apart."""
    assert ItemRef.movie(1399) != ItemRef.tv(1399)
    assert ItemRef.tv(1399).item_id == "tv_1399"


@pytest.mark.parametrize(("stars", "value"), [(10, 1.0), (1, -1.0), (5.5, 0.0), (8, 2.5 / 4.5)])
def test_rating_normalization(stars: float, value: float) -> None:
    """(r - 5.5) / 4.5: 10 -> +1, 1 -> -1, 5.5 -> 0."""
    assert normalize_rating(stars) == pytest.approx(value)


@given(st.floats(1, 10))
def test_normalized_ratings_stay_in_range(stars: float) -> None:
    """Every rating on the 1..10 scale lands in [-1, 1] and keeps its order."""
    value = normalize_rating(stars)
    assert -1.0 <= value <= 1.0
    assert value > 0 if stars > 5.5 else value <= 0


@pytest.mark.parametrize("stars", [0, 11, -1, 10.5])
def test_out_of_scale_ratings_are_rejected(stars: float) -> None:
    """A rating outside 1..10 is an error, not clamped silently."""
    with pytest.raises(ValueError, match="between 1 and 10"):
        normalize_rating(stars)


def test_interactions_need_aware_timestamps() -> None:
    """Naive datetimes are refused: the cursor compares instants, not wall clocks."""
    with pytest.raises(ValueError, match="timezone-aware"):
        Interaction.view("u", ItemRef.movie(1), datetime(2026, 1, 1))  # noqa: DTZ001


def test_only_ratings_carry_values() -> None:
    """A view with a value, or a rating without one, is invalid."""
    with pytest.raises(ValueError, match="only ratings"):
        Interaction("u", ItemRef.movie(1), InteractionKind.VIEW, NOW, 0.5)
    with pytest.raises(ValueError, match="rating interaction needs"):
        Interaction("u", ItemRef.movie(1), InteractionKind.RATING, NOW)


@given(rst.interactions())
def test_interaction_key_identifies_the_event(interaction: Interaction) -> None:
    """Re-reporting the same event yields the same key."""
    again = attrs.evolve(interaction)
    assert again.key == interaction.key
    assert hash(again.key) == hash(interaction.key)


def test_slider_zero_is_kept_and_range_enforced() -> None:
    """0 is a valid slider value; 101 and -1 are not."""
    assert Preferences(era=0).era == 0
    for bad in (-1, 101):
        with pytest.raises(ValueError):  # noqa: PT011 - attrs' validator message
            Preferences(discovery=bad)


def test_taste_profile_is_ranked() -> None:
    """Genre scores come out best first, ties by genre id."""
    scores = [GenreScore(18, 0.2), GenreScore(28, 0.9), GenreScore(12, 0.2)]
    taste = TasteProfile(movie_genres=scores)
    assert [s.genre_id for s in taste.genres(MediaType.MOVIE)] == [28, 12, 18]


def test_taste_profile_holds_each_genre_once() -> None:
    """A genre scored twice keeps its best score: a profile never repeats a genre."""
    scores = [GenreScore(878, 0.4), GenreScore(28, 0.5), GenreScore(878, 1.0)]
    taste = TasteProfile(movie_genres=scores, show_genres=[GenreScore(18, 0.3)] * 2)
    assert taste.movie_genres == (GenreScore(878, 1.0), GenreScore(28, 0.5))
    assert taste.show_genres == (GenreScore(18, 0.3),)


@given(st.lists(st.builds(GenreScore, st.sampled_from([18, 28, 35]), st.floats(0, 1))))
def test_taste_profile_keeps_the_best_score_per_genre(scores: list[GenreScore]) -> None:
    """Whatever the input order, each genre appears once, with its highest score."""
    ranked = TasteProfile(movie_genres=scores).genres(MediaType.MOVIE)
    genres = {s.genre_id for s in scores}
    best = {g: max(s.score for s in scores if s.genre_id == g) for g in genres}
    assert {s.genre_id: s.score for s in ranked} == best
    assert len(ranked) == len(best)


def test_one_managed_list_per_kind() -> None:
    """A state cannot hold two records of one managed list."""
    record = ManagedList(ManagedListKind.RECOMMENDED_MOVIES, 1)
    with pytest.raises(ValueError, match="one managed list per kind"):
        UserState("u", lists=(record, record))
    state = UserState("u").with_list(record).with_list(attrs.evolve(record, list_id=2))
    assert state.lists == (attrs.evolve(record, list_id=2),)


def test_activity_stamp_changes() -> None:
    """Only categories whose stamp moved count as changed; no previous stamp means all."""
    old = ActivityStamp(watched_at=NOW, rated_at=None)
    new = ActivityStamp(watched_at=NOW, rated_at=NOW)
    assert new.changed_since(old) == {"rated_at"}
    assert new.changed_since(new) == frozenset()
    assert len(new.changed_since(None)) == 4
    assert new.latest == NOW


CHANGES = {
    "title": lambda t: t.title + "x",
    "overview": lambda t: t.overview + "x",
    "genres": lambda t: (*t.genres, Genre(1, "New")),
    "year": lambda t: (t.year or 2000) + 1,
    "vote_average": lambda t: t.vote_average + 0.5,
    "vote_count": lambda t: t.vote_count + 1,
    "popularity": lambda t: t.popularity + 1,
    "cast": lambda t: (*t.cast, "Someone"),
    "director": lambda t: (t.director or "") + "x",
    "runtime": lambda t: (t.runtime or 90) + 1,
}


@given(rst.titles(), st.sampled_from(sorted(CHANGES)))
def test_content_hash_tracks_every_property(title: Title, field: str) -> None:
    """Equal titles hash equally; changing any one property changes the content hash."""
    assert attrs.evolve(title).content_hash() == title.content_hash()
    changed = attrs.evolve(title, **{field: CHANGES[field](title)})
    assert changed.content_hash() != title.content_hash()
    text_fields = {"title", "overview", "genres", "year", "cast", "director"}
    assert (changed.text_hash("model") != title.text_hash("model")) == (field in text_fields)
    # The embedder is part of the hash: another model re-embeds even an unchanged text.
    assert title.text_hash("model") != title.text_hash("another-model")


def test_tmdb_ids_are_bounded_like_item_ids() -> None:
    """An id with more than ten digits is refused when built, not when read back."""
    assert ItemRef.parse(ItemRef.movie(9_999_999_999).item_id) == ItemRef.movie(9_999_999_999)
    with pytest.raises(ValueError, match="tmdb_id"):
        ItemRef.movie(10**10)


@pytest.mark.parametrize("field", ["history_cursor", "next_sync_at", "last_sync_at"])
def test_user_state_refuses_naive_datetimes(field: str) -> None:
    """Every stored instant is timezone-aware, so every store compares them alike."""
    with pytest.raises(ValueError, match="timezone-aware"):
        UserState("u", **{field: datetime(2026, 1, 1)})  # noqa: DTZ001


def test_title_numbers_are_normalized_when_built() -> None:
    """An int in a float field is stored as a float; a fractional count is refused."""
    title = Title(ItemRef.movie(1), "Heat", popularity=99, vote_average=8, vote_count=12.0)
    assert title == Title(
        ItemRef.movie(1), "Heat", popularity=99.0, vote_average=8.0, vote_count=12
    )
    assert isinstance(title.popularity, float)
    assert isinstance(title.vote_count, int)
    assert title.content_hash() == attrs.evolve(title, popularity=99.0).content_hash()
    for field, bad in [("vote_count", 5.5), ("year", True), ("runtime", "90")]:
        with pytest.raises(ValueError, match=rf"Title\.{field} must be a whole number"):
            Title(ItemRef.movie(1), "Heat", **{field: bad})


@pytest.mark.parametrize("list_id", [0, -7, True, 1.5])
@pytest.mark.parametrize(
    "build",
    [
        lambda i: ManagedList(ManagedListKind.RECOMMENDED_MOVIES, i),
        lambda i: ListHandle(i, "Reclio • Recommended Movies"),
        TraktListSource,
    ],
    ids=["ManagedList", "ListHandle", "TraktListSource"],
)
def test_list_ids_are_positive(build: Callable[[object], object], list_id: object) -> None:
    """A list id is a positive whole number: 0 or -7 would be served as {"id": 0}."""
    with pytest.raises(ValueError, match=r"\.list_id must be a positive list id"):
        build(list_id)


@pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
def test_anchor_and_title_names_are_never_blank(blank: str) -> None:
    """A row never reads "Because You Watched "; a catalog title always has a name."""
    with pytest.raises(ValueError, match=r"Anchor\.title must name the title"):
        Anchor(ItemRef.movie(603), blank)
    with pytest.raises(ValueError, match=r"Title\.title must name the title"):
        Title(ItemRef.movie(603), blank)


@pytest.mark.parametrize(
    ("field", "ref", "expected"),
    [
        ("last_watched_movie", ItemRef.tv(1399), "a movie"),
        ("highest_rated_movie", ItemRef.tv(1399), "a movie"),
        ("last_watched_show", ItemRef.movie(603), "a show"),
        ("highest_rated_show", ItemRef.movie(603), "a show"),
    ],
)
def test_anchor_slots_hold_their_media_type(field: str, ref: ItemRef, expected: str) -> None:
    """A movie in the show slot would be served as /tv/<movie id>/recommendations."""
    with pytest.raises(ValueError, match=rf"UserState\.{field} must anchor {expected}"):
        UserState("u", **{field: Anchor(ref, "Somewhere")})
    matching = ItemRef(MediaType.MOVIE if expected == "a movie" else MediaType.TV, 7)
    assert getattr(UserState("u", **{field: Anchor(matching, "Fine")}), field).ref == matching


# Text as it may arrive from outside: any code point, lone surrogates included.
_raw_text = st.text(st.characters() | st.characters(categories=["Cs"]), max_size=20)


def _has_surrogate(text: str) -> bool:
    return any(0xD800 <= ord(c) <= 0xDFFF for c in text)


@given(_raw_text)
def test_valid_text_always_encodes(text: str) -> None:
    """Lone surrogates become U+FFFD; valid text comes back as it was."""
    cleaned = valid_text(text)
    cleaned.encode()
    assert not _has_surrogate(cleaned)
    if not _has_surrogate(text):
        assert cleaned == text
    assert valid_text(cleaned) == cleaned


def test_valid_text_joins_pairs_and_replaces_lone_surrogates() -> None:
    """A well-formed pair is the character it encodes; a lone half is a replacement mark."""
    assert valid_text("\ud83c\udfac") == "\U0001f3ac"
    assert valid_text("a\ud800b\udc80") == "a\ufffdb\ufffd"


@given(_raw_text, _raw_text, st.lists(_raw_text, max_size=3), _raw_text)
def test_text_entering_the_domain_is_made_valid(
    name: str, overview: str, cast: list[str], user_id: str
) -> None:
    """Every text field built from outside text encodes as UTF-8, so every body does."""
    title = Title(
        ItemRef.movie(1),
        "t" + name,
        overview=overview,
        genres=[Genre(1, name)],
        cast=cast,
        director=name,
    )
    anchor = Anchor(ItemRef.movie(1), "a" + name)
    state = UserState(user_id, last_watched_movie=anchor)
    values: list[str] = [
        title.title,
        title.overview,
        title.genres[0].name,
        *title.cast,
        title.director or "",
        anchor.title,
        state.user_id,
        Interaction.view(user_id, ItemRef.movie(1), NOW).user_id,
        ListHandle(1, name).name,
    ]
    for value in values:
        value.encode()
    attempt = Attempt(name, Outcome.PASSED, name)
    feed = Feed(name, "f" + name, TmdbQuerySource("/" + name, name), ContentType.ALL, (attempt,))
    body = chilllink.dumps(FeedsResponse([feed]), explain=True)
    body.encode()
