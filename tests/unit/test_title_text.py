"""title_text: the one text template every embedder reads, and MovieLens titles made for it."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given

from reclio.domain import Genre, ItemRef, Title, title_text
from reclio.evaluation import load_movielens
from reclio.evaluation.titles import movielens_titles
from reclio.testing import strategies as rst

ALIEN = Title(
    ItemRef.movie(348),
    "Alien",
    "During its return to the earth, commercial spaceship Nostromo intercepts a signal.",
    [Genre(27, "Horror"), Genre(878, "Science Fiction")],
    1979,
    cast=["Sigourney Weaver", "Tom Skerritt"],
    director="Ridley Scott",
)


def test_the_template_in_full() -> None:
    """Title (year), genres, director, cast, then the overview."""
    assert title_text(ALIEN) == (
        "Alien (1979). Horror, Science Fiction. Directed by Ridley Scott."
        " Starring Sigourney Weaver, Tom Skerritt. During its return to the earth,"
        " commercial spaceship Nostromo intercepts a signal."
    )


def test_missing_parts_are_left_out_and_shows_are_created() -> None:
    """Parts without data vanish; a show's director is its creator."""
    show = Title(ItemRef.tv(1399), "Game of Thrones", director="David Benioff")
    assert title_text(show) == "Game of Thrones. Created by David Benioff."
    assert title_text(Title(ItemRef.movie(1), "Heat", year=1995)) == "Heat (1995)."


@given(rst.titles())
def test_content_sync_embeds_title_text(title: Title) -> None:
    """The text content sync embeds (and hashes) is title_text, and it starts with the title."""
    assert title.embedding_text() == title_text(title)
    assert title_text(title).startswith(title.title.strip().rstrip("."))


def test_movielens_titles(shared_data: Path) -> None:
    """MovieLens rows become titles with a year, TMDB genre names and load_movielens' refs."""
    path = shared_data / "ml-latest-small"
    titles = movielens_titles(path)
    assert len(titles) == 9742
    assert [t.ref for t in titles] == list(load_movielens(path).refs)
    toy_story = titles[0]
    assert toy_story.ref == ItemRef.movie(862)
    assert (toy_story.title, toy_story.year) == ("Toy Story", 1995)
    assert title_text(toy_story) == (
        "Toy Story (1995). Adventure, Animation, Family, Comedy, Fantasy."
    )
    godfather = next(t for t in titles if t.ref == ItemRef.movie(238))
    assert (godfather.title, godfather.year) == ("The Godfather", 1972)
    assert {g.name for g in godfather.genres} == {"Crime", "Drama"}
    assert all(g.id != 0 for g in toy_story.genres)
