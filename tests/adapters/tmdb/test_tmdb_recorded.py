"""TmdbCatalogSource decoding TMDB's real bodies, replayed from cassettes (vcrpy, replay only).

The cassettes are built by ``make_cassettes.py`` from ``../shared/data/api-samples/tmdb``; the
tests at the end also read every sample directly, and skip when the data is absent.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from reclio.adapters.tmdb import TmdbCatalogSource, TmdbConfig
from reclio.adapters.tmdb._wire import (
    WireChanges,
    WireMovie,
    WirePage,
    WireShow,
    decode,
    make_converter,
    to_refs,
    to_title,
)
from reclio.domain import ItemRef, MediaType, Title
from reclio.errors import AuthenticationError, DecodeError
from reclio.ports import CandidateList

TOKEN = "replay-token-never-recorded"  # noqa: S105 - the token conftest's replays use


def tmdb() -> TmdbCatalogSource:
    return TmdbCatalogSource(TmdbConfig(TOKEN))


@pytest.mark.anyio
async def test_fight_club_from_details_and_credits(replay):
    """The real Fight Club body maps exactly: top five billed, the Director, the year."""
    with replay():
        title = await tmdb().get_title(ItemRef.movie(550))

    assert title is not None
    assert title.title == "Fight Club"
    assert title.year == 1999
    assert [g.name for g in title.genres] == ["Drama", "Thriller", "Comedy"]
    assert title.cast == (
        "Edward Norton",
        "Brad Pitt",
        "Helena Bonham Carter",
        "Meat Loaf",
        "Jared Leto",
    )
    assert title.director == "David Fincher"
    assert (title.vote_average, title.vote_count, title.popularity) == (8.433, 26280, 61.416)
    assert title.runtime == 139
    assert title.overview.startswith("A ticking-time-bomb insomniac")


@pytest.mark.anyio
async def test_game_of_thrones_takes_its_creator_for_director(replay):
    """The real show has no Director credit: the first creator stands in; cast by order."""
    with replay():
        title = await tmdb().get_title(ItemRef.tv(1399))

    assert title is not None
    assert title.title == "Game of Thrones"
    assert title.year == 2011
    assert title.director == "David Benioff"
    assert title.cast == (
        "Peter Dinklage",
        "Lena Headey",
        "Nikolaj Coster-Waldau",
        "Emilia Clarke",
        "Kit Harington",
    )
    assert title.runtime == 60


@pytest.mark.anyio
async def test_a_body_with_many_appended_blocks(replay):
    """A details body carrying twenty appended blocks still maps (unknown keys ignored)."""
    with replay():
        title = await tmdb().get_title(ItemRef.movie(12313))

    assert title is not None
    assert (title.title, title.year, title.director) == ("Rock Crystal", 2004, "Joseph Vilsmaier")
    assert len(title.cast) == 5


@pytest.mark.anyio
async def test_unknown_ids_are_none(replay):
    """TMDB's 404 body for an unknown id is None."""
    with replay():
        assert await tmdb().get_title(ItemRef.movie(9_999_999_999)) is None
        assert await tmdb().get_title(ItemRef.tv(9_999_999_999)) is None


@pytest.mark.anyio
@pytest.mark.parametrize("which", list(CandidateList))
@pytest.mark.parametrize("media_type", list(MediaType))
async def test_every_real_list_page_decodes(replay, which, media_type):
    """Every real ranked list page gives 20 refs of the requested type (trending mixes none)."""
    with replay():
        refs = await tmdb().candidates(which, media_type)

    assert len(refs) == 20
    assert all(ref.media_type is media_type for ref in refs)


@pytest.mark.anyio
async def test_popular_movies_in_tmdb_order(replay):
    """The real popular page comes back in TMDB's order."""
    with replay():
        refs = await tmdb().candidates(CandidateList.POPULAR, MediaType.MOVIE)

    assert refs[:3] == [ItemRef.movie(640146), ItemRef.movie(502356), ItemRef.movie(594767)]


@pytest.mark.anyio
async def test_real_change_feed_pages_decode_with_null_adult(replay):
    """The real /changes pages decode (``adult`` is often null), every page is read."""
    with replay():
        movies = await tmdb().changed_since(MediaType.MOVIE, datetime.now(UTC) - timedelta(hours=1))

    assert ItemRef.movie(1120298) in movies  # listed with "adult": null
    assert len(movies) == len(set(movies)) > 50


@pytest.mark.anyio
async def test_real_genre_tables(replay):
    """The real genre tables hold TMDB's 19 movie and 16 TV genres."""
    with replay():
        movie_genres = await tmdb().genres(MediaType.MOVIE)
        tv_genres = await tmdb().genres(MediaType.TV)

    assert len(movie_genres) == 19
    assert len(tv_genres) == 16
    assert (878, "Science Fiction") in {(g.id, g.name) for g in movie_genres}


@pytest.mark.anyio
async def test_the_real_401_names_the_variable_to_fix(replay):
    """TMDB's real 'Invalid API key' answer is an AuthenticationError naming RECLIO_TMDB_TOKEN."""
    with replay("tmdb_unauthorized.yaml"):
        with pytest.raises(AuthenticationError) as info:
            await tmdb().ping()
        with pytest.raises(AuthenticationError):
            await tmdb().get_title(ItemRef.movie(550))

    message = str(info.value)
    assert "RECLIO_TMDB_TOKEN" in message
    assert "Invalid API key" in message
    assert "\n" not in message


def test_no_cassette_holds_a_credential(cassettes, replay_token):
    """Cassettes are test data: no token, header, key parameter or JWT in any of them."""
    assert replay_token == TOKEN
    files = sorted(cassettes.glob("*.yaml"))
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert TOKEN not in text, path
        for needle in ("authorization", "bearer", "api_key", "trakt-api-key"):
            assert needle not in text.lower(), (path, needle)
        assert not re.search(r"eyJ[A-Za-z0-9_-]{10,}\.", text), path
        assert not re.search(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])", text), path


# -- every real sample, read directly -------------------------------------------------------

DETAILS = {
    "movies_details.json": WireMovie,
    "movies_details_with_append_to_response.json": WireMovie,
    "tv_series_details.json": WireShow,
    "tv_series_details_with_append_to_response.json": WireShow,
}
LIST_PAGES = {
    "discover_movies.json": MediaType.MOVIE,
    "discover_tv.json": MediaType.TV,
    "movie_lists_now_playing.json": MediaType.MOVIE,
    "movie_lists_popular.json": MediaType.MOVIE,
    "movie_lists_top_rated.json": MediaType.MOVIE,
    "movies_recommendations.json": MediaType.MOVIE,
    "trending_all.json": MediaType.MOVIE,
    "trending_movies.json": MediaType.MOVIE,
    "trending_tv.json": MediaType.TV,
    "tv_series_lists_on_the_air.json": MediaType.TV,
    "tv_series_lists_popular.json": MediaType.TV,
    "tv_series_lists_top_rated.json": MediaType.TV,
    "tv_series_recommendations.json": MediaType.TV,
}


@pytest.mark.parametrize(("name", "wire_type"), DETAILS.items())
def test_every_real_details_body_is_a_valid_title(shared_data, name, wire_type):
    """Each real movie or show body decodes to a Title within the domain's bounds."""
    body = json.loads((shared_data / "api-samples" / "tmdb" / name).read_text(encoding="utf-8"))
    media = MediaType.MOVIE if wire_type is WireMovie else MediaType.TV
    ref = ItemRef(media, body["id"])

    title = to_title(decode(make_converter(), body, wire_type, what=str(ref), operation="t"), ref)

    assert isinstance(title, Title)
    assert title.title
    assert title.year is not None
    assert 0 <= title.vote_average <= 10
    assert len(title.cast) <= 5
    assert len(set(title.cast)) == len(title.cast)
    assert title.genres


@pytest.mark.parametrize(("name", "wire_type"), DETAILS.items())
@pytest.mark.parametrize(
    ("field", "nonsense"),
    [("id", "five"), ("vote_average", "high"), ("genres", {"id": 1}), ("overview", 42)],
)
def test_real_bodies_with_one_nonsense_field_name_it(shared_data, name, wire_type, field, nonsense):
    """A real body with one field made nonsense fails with a DecodeError naming that field."""
    body = json.loads((shared_data / "api-samples" / "tmdb" / name).read_text(encoding="utf-8"))
    body[field] = nonsense

    with pytest.raises(DecodeError) as info:
        decode(make_converter(), body, wire_type, what=name, operation="t")

    assert any(f"@ $.{field}" in error for error in info.value.errors), info.value.errors


@pytest.mark.parametrize(("name", "media_type"), LIST_PAGES.items())
def test_every_real_list_body_decodes(shared_data, name, media_type):
    """Every real list body (lists, discover, trending, recommendations) gives refs."""
    body = json.loads((shared_data / "api-samples" / "tmdb" / name).read_text(encoding="utf-8"))

    refs = to_refs(
        decode(make_converter(), body, WirePage, what=name, operation="t"),
        media_type,
        operation="t",
    )

    assert refs
    assert all(ref.media_type is media_type for ref in refs)


@pytest.mark.parametrize("name", ["changes_movie_list.json", "changes_tv_list.json"])
def test_every_real_change_page_decodes(shared_data, name):
    """Both real change pages decode, ids each once."""
    body = json.loads((shared_data / "api-samples" / "tmdb" / name).read_text(encoding="utf-8"))

    wire = decode(make_converter(), body, WireChanges, what=name, operation="t")
    refs = to_refs(wire, MediaType.MOVIE, operation="t")

    assert len(refs) == len({r.id for r in wire.results if not r.adult})
