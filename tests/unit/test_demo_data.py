"""The demo world is deterministic, well-formed, and carries real taste signal."""

from __future__ import annotations

import hashlib
import itertools
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime

import numpy as np
import pytest

from reclio.adapters.memory import (
    ExactVectorIndex,
    HashingEmbedder,
    InMemoryCatalogSource,
    InMemoryInteractionSource,
)
from reclio.bootstrap import load_into
from reclio.domain import MOVIE_GENRES, TV_GENRES, MediaType, Title, genre_name
from reclio.embedded.world import (
    DEMO_USER,
    THEMES,
    UserActivity,
    generate_activity,
    generate_catalog,
)
from reclio.ports import CandidateList

NOW = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def catalog() -> list[Title]:
    return generate_catalog(movies=600, shows=300)


@pytest.fixture(scope="module")
def world(catalog: list[Title]) -> dict[str, UserActivity]:
    return generate_activity(catalog, users=60, now=NOW)


def _digest(titles: list[Title], world: dict[str, UserActivity]) -> str:
    hasher = hashlib.sha256()
    for title in titles:
        hasher.update(title.content_hash().encode())
    for user in world.values():
        hasher.update(repr(user).encode())
    return hasher.hexdigest()


def test_catalog_sizes_and_unique_refs() -> None:
    """The default catalog holds 2000 movies and 1000 shows, every ref once."""
    titles = generate_catalog()
    kinds = Counter(title.media_type for title in titles)
    assert kinds == {MediaType.MOVIE: 2000, MediaType.TV: 1000}
    assert len({title.ref for title in titles}) == len(titles)
    assert len({title.title for title in titles}) == len(titles)


def test_ids_share_numbers_across_media_types() -> None:
    """Movie and show ids are separate namespaces: some numbers are used by both."""
    titles = generate_catalog()
    movies = {t.ref.tmdb_id for t in titles if t.media_type is MediaType.MOVIE}
    shows = {t.ref.tmdb_id for t in titles if t.media_type is MediaType.TV}
    assert movies & shows


def test_catalog_is_deterministic(catalog: list[Title]) -> None:
    """The same seed gives the same catalog; another seed a different one."""
    assert generate_catalog(movies=600, shows=300) == catalog
    assert generate_catalog(movies=600, shows=300, seed=8) != catalog


def test_titles_are_plausible(catalog: list[Title]) -> None:
    """Real genre ids and names, five cast members, sane years, votes and runtimes."""
    for title in catalog:
        assert title.genres
        for genre in title.genres:
            assert genre_name(title.media_type, genre.id) == genre.name
        assert len(title.cast) == 5
        assert title.director
        assert title.year is not None
        assert 1950 <= title.year <= 2026
        assert 0.0 <= title.vote_average <= 10.0
        assert title.popularity > 0
        assert title.runtime is not None
        assert title.runtime > 0
        assert len(title.overview) > 60


def test_vote_counts_have_a_long_tail(catalog: list[Title]) -> None:
    """Most titles have few votes and a few have very many."""
    counts = sorted(title.vote_count for title in catalog)
    median = counts[len(counts) // 2]
    assert median < 200
    assert counts[-1] > 20 * median


def test_genres_cover_the_tables(catalog: list[Title]) -> None:
    """Most of TMDB's genres appear in the catalog."""
    movie_ids = {g.id for t in catalog if t.media_type is MediaType.MOVIE for g in t.genres}
    show_ids = {g.id for t in catalog if t.media_type is MediaType.TV for g in t.genres}
    assert len(movie_ids) >= len(MOVIE_GENRES) - 3
    assert len(show_ids) >= len(TV_GENRES) - 6


def test_activity_is_deterministic(catalog: list[Title], world: dict[str, UserActivity]) -> None:
    """The same seed gives the same users and activity."""
    assert generate_activity(catalog, users=60, now=NOW) == world
    assert generate_activity(catalog, users=60, now=NOW, seed=8) != world


def test_deterministic_across_processes(
    catalog: list[Title], world: dict[str, UserActivity]
) -> None:
    """Another interpreter with another hash seed generates the identical world."""
    script = (
        "from datetime import UTC, datetime\n"
        "from reclio.embedded.world import generate_activity, generate_catalog\n"
        "import hashlib\n"
        "c = generate_catalog(movies=600, shows=300)\n"
        "w = generate_activity(c, users=60, now=datetime(2026, 11, 1, tzinfo=UTC))\n"
        "h = hashlib.sha256()\n"
        "[h.update(t.content_hash().encode()) for t in c]\n"
        "[h.update(repr(u).encode()) for u in w.values()]\n"
        "print(h.hexdigest())\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run(  # noqa: S603 - our own interpreter, a fixed script
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    assert result.stdout.strip() == _digest(catalog, world)


def test_users_and_demo_user(world: dict[str, UserActivity]) -> None:
    """The requested number of users exists, "demo" among them with every kind of activity."""
    assert len(world) == 60
    demo = world[DEMO_USER]
    assert len(demo.views) >= 50
    assert demo.ratings
    assert demo.bookmarks
    assert demo.playback


def test_activity_is_well_formed(catalog: list[Title], world: dict[str, UserActivity]) -> None:
    """Every ref is in the catalog, nothing is after now, lists are newest first, views unique."""
    known = {title.ref for title in catalog}
    for user in world.values():
        assert user.views
        refs = [view.ref for view in user.views]
        assert len(set(refs)) == len(refs)
        everything = [*user.views, *user.ratings, *user.bookmarks]
        assert all(i.ref in known and i.user_id == user.user_id for i in everything)
        assert all(i.at <= NOW for i in user.views)
        assert all(p.paused_at <= NOW and p.ref in known for p in user.playback)
        for kind in (user.views, user.ratings, user.bookmarks):
            stamps = [i.at for i in kind]
            assert stamps == sorted(stamps, reverse=True)
        assert {r.ref for r in user.ratings} <= set(refs)
        assert not {b.ref for b in user.bookmarks} & set(refs)


def test_users_watch_their_themes(catalog: list[Title], world: dict[str, UserActivity]) -> None:
    """Most of a user's views fall in their latent themes: a signal to learn."""
    themes = {theme.name: theme for theme in THEMES}
    by_ref = {title.ref: title for title in catalog}
    on_theme = total = 0
    for user in world.values():
        for view in user.views:
            title = by_ref[view.ref]
            ids = {g.id for g in title.genres}
            total += 1
            on_theme += any(ids & set(themes[n].genres(title.media_type)) for n in user.themes)
    assert on_theme / total > 0.7


def test_on_theme_ratings_are_higher(catalog: list[Title], world: dict[str, UserActivity]) -> None:
    """Users rate titles of their themes higher than others."""
    themes = {theme.name: theme for theme in THEMES}
    by_ref = {title.ref: title for title in catalog}
    liked: list[float] = []
    other: list[float] = []
    for user in world.values():
        for rating in user.ratings:
            title = by_ref[rating.ref]
            ids = {g.id for g in title.genres}
            hit = any(ids & set(themes[n].genres(title.media_type)) for n in user.themes)
            assert rating.value is not None
            (liked if hit else other).append(rating.value)
    assert np.mean(liked) > np.mean(other) + 0.2


@pytest.mark.anyio
async def test_hashing_neighbours_share_genres(catalog: list[Title]) -> None:
    """With the hashing embedder, a title's nearest neighbour usually shares a genre."""
    vectors = await HashingEmbedder().embed([t.embedding_text() for t in catalog])
    index = ExactVectorIndex()
    index.build((t.ref, row) for t, row in zip(catalog, vectors, strict=True))
    by_ref = {t.ref: t for t in catalog}
    movies = [t for t in catalog if t.media_type is MediaType.MOVIE][:200]

    def share(a: Title, b: Title) -> bool:
        return bool({g.id for g in a.genres} & {g.id for g in b.genres})

    nearest = [index.nearest(t.ref, k=1, media_type=MediaType.MOVIE)[0][0] for t in movies]
    hits = sum(share(t, by_ref[ref]) for t, ref in zip(movies, nearest, strict=True))
    # Baseline: each movie paired with the next one, an unrelated title.
    chance = sum(share(a, b) for a, b in itertools.pairwise(movies))
    # title_text also carries cast and director, which the generated world draws apart
    # from the genres: they dilute the genre signal (0.785 without them, 0.67 with).
    assert hits / len(movies) > 0.6
    assert hits > 2 * chance


@pytest.mark.anyio
async def test_load_into_sources(catalog: list[Title], world: dict[str, UserActivity]) -> None:
    """load_into fills the in-memory catalog and interaction sources with the whole world."""
    catalog_source = InMemoryCatalogSource(clock=lambda: NOW)
    interactions = InMemoryInteractionSource(clock=lambda: NOW)
    load_into(catalog, world, catalog_source=catalog_source, interaction_source=interactions)
    assert len(catalog_source.titles) == len(catalog)
    popular = await catalog_source.candidates(CandidateList.POPULAR, MediaType.MOVIE)
    assert len(popular) == 20
    demo = world[DEMO_USER]
    assert list(await interactions.history(DEMO_USER)) == list(demo.views)
    assert list(await interactions.ratings(DEMO_USER)) == list(demo.ratings)
    assert list(await interactions.watchlist(DEMO_USER)) == list(demo.bookmarks)
    assert list(await interactions.playback(DEMO_USER)) == list(demo.playback)
    assert interactions.user_ids == sorted(world)


def test_rejects_bad_arguments(catalog: list[Title]) -> None:
    """Negative sizes, no users and a naive now are refused."""
    with pytest.raises(ValueError, match="counts"):
        generate_catalog(movies=-1)
    with pytest.raises(ValueError, match="at least one user"):
        generate_activity(catalog, users=0, now=NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        generate_activity(catalog, now=datetime(2026, 1, 1))  # noqa: DTZ001 - the point
