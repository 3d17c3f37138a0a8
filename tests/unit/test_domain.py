"""Domain values: ids, rating normalization, validation, and round trips."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reclio.domain import (
    ActivityStamp,
    Genre,
    GenreScore,
    Interaction,
    InteractionKind,
    ItemRef,
    ManagedList,
    ManagedListKind,
    MediaType,
    Preferences,
    TasteProfile,
    Title,
    UserState,
    normalize_rating,
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
    assert (changed.text_hash() != title.text_hash()) == (field in text_fields)


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
