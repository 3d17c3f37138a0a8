"""TmdbCatalogSource on httpx.MockTransport: request shape, auth, paging, error mapping."""

from __future__ import annotations

import asyncio
import itertools
import logging
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reclio.adapters._http import RateLimiter
from reclio.adapters.tmdb import TmdbCatalogSource, TmdbConfig, tmdb_limiter
from reclio.adapters.tmdb._source import CHANGES_WINDOW, _windows
from reclio.config import HttpPolicy
from reclio.domain import Genre, ItemRef, MediaType
from reclio.errors import (
    AuthenticationError,
    ConfigurationError,
    DecodeError,
    RateLimited,
    SourceError,
    SourceTimeout,
    SourceUnavailable,
)
from reclio.ports import CandidateList

TOKEN = "eyJhbGciOiJIUzI1NiJ9.test-read-access-token.signature"  # noqa: S105 - a test value
V3_KEY = "0123456789abcdef0123456789abcdef"
NOW = datetime(2026, 5, 20, 9, 30, tzinfo=UTC)
POLICY = HttpPolicy(max_attempts=3, backoff_initial=0.01, backoff_max=1.0)


async def no_sleep(_seconds: float) -> None:
    await asyncio.sleep(0)


def movie(tmdb_id=550, **fields):
    body = {
        "id": tmdb_id,
        "title": "Fight Club",
        "overview": "An insomniac and a soap salesman.",
        "genres": [{"id": 18, "name": "Drama"}],
        "release_date": "1999-10-15",
        "vote_average": 8.4,
        "vote_count": 26280,
        "popularity": 61.4,
        "runtime": 139,
        "credits": {
            "cast": [
                {"name": f"Actor {n}", "order": order}
                for n, order in enumerate([6, 0, 2, 1, 5, 3, 4])
            ],
            "crew": [
                {"name": "Someone", "job": "Producer"},
                {"name": "David Fincher", "job": "Director"},
            ],
        },
        "unknown_future_field": {"nested": [1, 2]},
    }
    body.update(fields)
    return body


class Fake:
    """A MockTransport handler: routes by path, records every request."""

    def __init__(self, routes=None, default=None):
        self.routes = routes or {}
        self.default = default or httpx.Response(404, json={"status_code": 34})
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        route = self.routes.get(request.url.path.removeprefix("/3"), self.default)
        if callable(route):
            return route(request)
        if isinstance(route, Exception):
            raise route
        return route

    def paths(self):
        return [r.url.path.removeprefix("/3") for r in self.seen]


def source(fake, *, token=TOKEN, **config):
    return TmdbCatalogSource(
        TmdbConfig(token, **config),
        policy=POLICY,
        transport=httpx.MockTransport(fake),
        clock=lambda: NOW,
        sleep=no_sleep,
    )


@pytest.mark.anyio
async def test_get_title_request_shape_and_bearer_auth():
    """Details ask for credits in the configured language, with the token as a Bearer header."""
    fake = Fake({"/movie/550": httpx.Response(200, json=movie())})

    await source(fake, language="de-DE").get_title(ItemRef.movie(550))

    (request,) = fake.seen
    assert str(request.url).startswith("https://api.themoviedb.org/3/movie/550?")
    assert dict(request.url.params) == {"append_to_response": "credits", "language": "de-DE"}
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["User-Agent"] == POLICY.user_agent
    assert "api_key" not in request.url.params


@pytest.mark.anyio
async def test_base_url_is_configurable():
    """Requests go to the configured API root."""
    fake = Fake({"/movie/550": httpx.Response(200, json=movie())})
    tmdb = TmdbCatalogSource(
        TmdbConfig(TOKEN, base_url="http://127.0.0.1:9/tmdb/3"),
        transport=httpx.MockTransport(
            lambda r: (fake.seen.append(r), httpx.Response(200, json=movie()))[1]
        ),
    )
    await tmdb.get_title(ItemRef.movie(550))
    assert str(fake.seen[0].url).startswith("http://127.0.0.1:9/tmdb/3/movie/550?")


@pytest.mark.anyio
async def test_movie_maps_to_title_as_design_section_3_says():
    """Top five cast by order, the Director, the year of the release date, names of genres."""
    fake = Fake({"/movie/550": httpx.Response(200, json=movie())})

    title = await source(fake).get_title(ItemRef.movie(550))

    assert title is not None
    assert title.ref == ItemRef.movie(550)
    assert title.title == "Fight Club"
    assert title.year == 1999
    assert title.genres == (Genre(18, "Drama"),)
    assert title.cast == ("Actor 1", "Actor 3", "Actor 2", "Actor 5", "Actor 6")
    assert title.director == "David Fincher"
    assert (title.vote_average, title.vote_count, title.popularity) == (8.4, 26280, 61.4)
    assert title.runtime == 139


@pytest.mark.anyio
async def test_show_director_falls_back_to_the_creator_and_nulls_are_tolerated():
    """A show without a Director crew credit takes its first creator; nulls mean unknown."""
    body = {
        "id": 1399,
        "name": "Game of Thrones",
        "overview": None,
        "genres": None,
        "first_air_date": "",
        "vote_average": None,
        "popularity": None,
        "episode_run_time": [],
        "created_by": [{"name": "David Benioff"}, {"name": "D.B. Weiss"}],
        "credits": {"cast": [{"name": "Peter Dinklage", "order": None}], "crew": None},
    }
    fake = Fake({"/tv/1399": httpx.Response(200, json=body)})

    title = await source(fake).get_title(ItemRef.tv(1399))

    assert title is not None
    assert title.title == "Game of Thrones"
    assert title.director == "David Benioff"
    assert title.cast == ("Peter Dinklage",)
    assert (title.overview, title.genres, title.year, title.runtime) == ("", (), None, None)
    assert fake.paths() == ["/tv/1399"]


@pytest.mark.anyio
async def test_unknown_title_is_none_and_asked_once():
    """A 404 (unknown, or deleted after /changes) is None, never retried."""
    fake = Fake()

    assert await source(fake).get_title(ItemRef.movie(42)) is None
    assert await source(fake).get_title(ItemRef.tv(42)) is None
    assert fake.paths() == ["/movie/42", "/tv/42"]


@pytest.mark.anyio
@pytest.mark.parametrize("status", [401, 403])
async def test_refused_token_is_authentication_error_naming_the_variable(status):
    """401/403 are AuthenticationError naming RECLIO_TMDB_TOKEN, asked once."""
    body = {"success": False, "status_code": 7, "status_message": "Invalid API key"}
    fake = Fake(default=httpx.Response(status, json=body))

    with pytest.raises(AuthenticationError) as info:
        await source(fake).get_title(ItemRef.movie(550))

    assert "RECLIO_TMDB_TOKEN" in str(info.value)
    assert "Invalid API key" in str(info.value)
    assert len(fake.seen) == 1


ERRORS = [
    (httpx.ConnectError("refused"), SourceUnavailable, 3),
    (httpx.ReadTimeout("slow"), SourceTimeout, 3),
    (httpx.Response(500), SourceUnavailable, 3),
    (httpx.Response(503, json={"status_code": 46}), SourceUnavailable, 3),
    (httpx.Response(504, json={"status_code": 24}), SourceUnavailable, 3),
    (httpx.Response(429, json={"status_code": 25}), RateLimited, 3),
    (httpx.Response(400, json={"status_code": 22}), SourceError, 1),
    (httpx.Response(422, json={"status_code": 20}), SourceError, 1),
    (httpx.Response(200, text="<html>maintenance</html>"), DecodeError, 1),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("answer", "expected", "tries"), ERRORS, ids=repr)
async def test_every_failure_is_a_source_error(answer, expected, tries):
    """Transport errors, statuses and bodies map to one SourceError kind, tried as policy says."""
    fake = Fake(default=answer)

    with pytest.raises(expected) as info:
        await source(fake).candidates(CandidateList.POPULAR, MediaType.MOVIE)

    assert type(info.value) is expected
    assert info.value.service == "tmdb"
    assert info.value.operation == "candidates"
    assert len(fake.seen) == tries


@pytest.mark.anyio
async def test_retry_after_is_honoured_then_the_page_is_served():
    """A 429 with Retry-After pauses the shared limiter, then the same request succeeds."""
    now = [0.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    answers = [httpx.Response(429, headers={"Retry-After": "1"}), page([1, 2])]
    fake = Fake(default=lambda _r: answers.pop(0))
    limiter = RateLimiter(
        "tmdb", requests_per_second=1000, max_concurrency=2, clock=lambda: now[0], sleep=sleep
    )
    tmdb = TmdbCatalogSource(
        TmdbConfig(TOKEN),
        policy=POLICY,
        limiter=limiter,
        transport=httpx.MockTransport(fake),
        sleep=sleep,
    )

    refs = await tmdb.candidates(CandidateList.POPULAR, MediaType.MOVIE)

    assert refs == [ItemRef.movie(1), ItemRef.movie(2)]
    assert len(fake.seen) == 2
    assert [w for w in waits if w] == [1.0]
    assert tmdb.limiter is limiter


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "field"),
    [
        (movie(id="550"), "$.id"),
        (movie(title=None, original_title=None), "$.title"),
        (movie(release_date="15/10/1999"), "$.release_date"),
        (movie(vote_average=11.5), "$.vote_average"),
        (movie(vote_average="high"), "$.vote_average"),
        (movie(genres=[{"id": 18}]), "$.genres[0].name"),
        (movie(credits={"cast": [{"order": 1}]}), "$.credits.cast[0].name"),
        (movie(id=551), "$.id"),
        ([1, 2, 3], "$"),
    ],
)
async def test_nonsense_is_a_decode_error_naming_the_field(body, field):
    """A body that cannot be the title raises DecodeError whose errors name the field."""
    fake = Fake({"/movie/550": httpx.Response(200, json=body)})

    with pytest.raises(DecodeError) as info:
        await source(fake).get_title(ItemRef.movie(550))

    assert any(error.endswith(f"@ {field}") for error in info.value.errors), info.value.errors
    assert "movie_550" in str(info.value)
    assert len(fake.seen) == 1


def page(ids, *, total_pages=1, media_type=None, key="results"):
    items = [{"id": i, **({"media_type": media_type} if media_type else {})} for i in ids]
    return httpx.Response(200, json={"page": 1, key: items, "total_pages": total_pages})


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("which", "media_type", "path"),
    [
        (CandidateList.POPULAR, MediaType.MOVIE, "/movie/popular"),
        (CandidateList.POPULAR, MediaType.TV, "/tv/popular"),
        (CandidateList.TOP_RATED, MediaType.MOVIE, "/movie/top_rated"),
        (CandidateList.TOP_RATED, MediaType.TV, "/tv/top_rated"),
        (CandidateList.TRENDING, MediaType.MOVIE, "/trending/movie/week"),
        (CandidateList.TRENDING, MediaType.TV, "/trending/tv/week"),
        (CandidateList.CURRENT, MediaType.MOVIE, "/movie/now_playing"),
        (CandidateList.CURRENT, MediaType.TV, "/tv/on_the_air"),
    ],
)
async def test_candidate_lists_paths_and_pages(which, media_type, path):
    """Each list has its endpoint; the page number and language are sent."""
    fake = Fake({path: page([3, 1, 3, 2])})

    refs = await source(fake).candidates(which, media_type, page=7)

    assert refs == [ItemRef(media_type, 3), ItemRef(media_type, 1), ItemRef(media_type, 2)]
    (request,) = fake.seen
    assert request.url.path == "/3" + path
    assert dict(request.url.params) == {"page": "7", "language": "en-US"}


@pytest.mark.anyio
async def test_trending_keeps_only_the_requested_media_type():
    """Items of another media type (trending mixes them) are left out."""
    body = {
        "results": [
            {"id": 1, "media_type": "movie"},
            {"id": 2, "media_type": "person"},
            {"id": 3, "media_type": "tv"},
        ]
    }
    fake = Fake({"/trending/movie/week": httpx.Response(200, json=body)})

    refs = await source(fake).candidates(CandidateList.TRENDING, MediaType.MOVIE)

    assert refs == [ItemRef.movie(1)]


@pytest.mark.anyio
async def test_pages_past_500_are_empty_without_a_request():
    """TMDB serves pages 1..500: a later page is empty and costs nothing; page 0 is a bug."""
    fake = Fake()
    tmdb = source(fake)

    assert await tmdb.candidates(CandidateList.POPULAR, MediaType.MOVIE, page=501) == []
    assert fake.seen == []
    with pytest.raises(ValueError, match="pages start at 1"):
        await tmdb.candidates(CandidateList.POPULAR, MediaType.MOVIE, page=0)


@pytest.mark.anyio
async def test_a_bad_id_in_a_list_is_a_decode_error():
    """An id that is no TMDB id names its place in the list."""
    fake = Fake({"/movie/popular": page([5, 0])})

    with pytest.raises(DecodeError) as info:
        await source(fake).candidates(CandidateList.POPULAR, MediaType.MOVIE)

    assert info.value.errors == ("results[1].id: 0 is not a TMDB id @ $.results[1].id",)


@pytest.mark.anyio
async def test_changes_are_read_in_14_day_windows_and_every_page():
    """/changes since 30 days ago: three windows, each read to its last page, ids once."""

    def changes(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params["page"])
        items = [{"id": number, "adult": None}, {"id": 100 + number, "adult": False}]
        items.append({"id": 999, "adult": True})
        return httpx.Response(200, json={"page": number, "results": items, "total_pages": 2})

    fake = Fake({"/movie/changes": changes})

    refs = await source(fake).changed_since(MediaType.MOVIE, NOW - timedelta(days=30))

    assert refs == [ItemRef.movie(1), ItemRef.movie(101), ItemRef.movie(2), ItemRef.movie(102)]
    windows = [
        (r.url.params["start_date"], r.url.params["end_date"], r.url.params["page"])
        for r in fake.seen
    ]
    assert windows == [
        ("2026-04-20", "2026-05-04", "1"),
        ("2026-04-20", "2026-05-04", "2"),
        ("2026-05-04", "2026-05-18", "1"),
        ("2026-05-04", "2026-05-18", "2"),
        ("2026-05-18", "2026-05-20", "1"),
        ("2026-05-18", "2026-05-20", "2"),
    ]


@pytest.mark.anyio
async def test_changes_since_the_future_ask_nothing():
    """Nothing can have changed after a day that has not come: no request."""
    fake = Fake()

    assert await source(fake).changed_since(MediaType.TV, NOW + timedelta(days=1)) == []
    assert fake.seen == []
    with pytest.raises(ValueError, match="timezone-aware"):
        await source(fake).changed_since(MediaType.TV, datetime(2026, 1, 1))  # noqa: DTZ001


@given(
    start=st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 1, 1)),
    span=st.integers(min_value=-3, max_value=400),
)
def test_change_windows_cover_the_range_in_legal_spans(start, span):
    """Windows run from start to today, each at most 14 days, each starting where the last ended."""
    today = start + timedelta(days=span)
    windows = _windows(start, today)
    if span < 0:
        assert windows == []
        return
    assert windows[0][0] == start
    assert windows[-1][1] == today
    for first, last in windows:
        assert timedelta(0) <= last - first <= CHANGES_WINDOW
    for (_, end), (begin, _) in itertools.pairwise(windows):
        assert begin == end


@pytest.mark.anyio
async def test_genre_tables():
    """Genre tables come back as domain Genres in TMDB's order."""
    body = {"genres": [{"id": 28, "name": "Action"}, {"id": 12, "name": "Adventure"}]}
    fake = Fake({"/genre/movie/list": httpx.Response(200, json=body)})

    assert await source(fake).genres(MediaType.MOVIE) == (
        Genre(28, "Action"),
        Genre(12, "Adventure"),
    )
    assert fake.seen[0].url.params["language"] == "en-US"


@pytest.mark.anyio
async def test_ping_asks_authentication():
    """ping is one cheap GET /authentication; a refusal is an AuthenticationError."""
    ok = Fake({"/authentication": httpx.Response(200, json={"success": True})})
    await source(ok).ping()
    assert ok.paths() == ["/authentication"]
    refused = Fake(default=httpx.Response(401, json={"status_code": 7}))
    with pytest.raises(AuthenticationError, match="RECLIO_TMDB_TOKEN"):
        await source(refused).ping()


@pytest.mark.anyio
async def test_a_v3_key_travels_as_api_key_and_never_leaks(caplog):
    """A v3 key is sent as api_key, without Bearer; no log line or error shows it."""
    caplog.set_level(logging.DEBUG)
    fake = Fake(
        {
            "/movie/550": httpx.Response(200, json=movie()),
            "/movie/popular": httpx.Response(500, json={"status_message": f"key {V3_KEY}"}),
        }
    )
    tmdb = source(fake, token=V3_KEY)

    await tmdb.get_title(ItemRef.movie(550))
    with pytest.raises(SourceUnavailable) as info:
        await tmdb.candidates(CandidateList.POPULAR, MediaType.MOVIE)

    assert fake.seen[0].url.params["api_key"] == V3_KEY
    assert "Authorization" not in fake.seen[0].headers
    assert V3_KEY not in str(info.value)
    assert caplog.records
    assert all(V3_KEY not in r.getMessage() for r in caplog.records)
    assert V3_KEY not in repr(tmdb)
    assert V3_KEY not in repr(TmdbConfig(V3_KEY))


@pytest.mark.anyio
async def test_the_token_never_appears_in_logs_at_debug(caplog):
    """Every log record of a run with retries and failures is free of the token."""
    caplog.set_level(logging.DEBUG)
    answers = iter([httpx.Response(503), httpx.Response(200, json=movie())])
    fake = Fake(
        {
            "/movie/550": lambda _r: next(answers),
            "/movie/popular": httpx.Response(401, json={"status_message": "no"}),
        }
    )
    tmdb = source(fake)

    await tmdb.get_title(ItemRef.movie(550))
    with pytest.raises(AuthenticationError) as info:
        await tmdb.candidates(CandidateList.POPULAR, MediaType.MOVIE)
    await tmdb.aclose()

    assert len(caplog.records) >= 3
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert TOKEN not in text
    assert TOKEN not in str(info.value)
    assert TOKEN not in repr(tmdb)


def test_a_v3_key_with_an_injected_client_is_refused():
    """An injected client would log the key in URLs: the adapter says what to pass instead."""
    with pytest.raises(ConfigurationError, match="transport="):
        TmdbCatalogSource(TmdbConfig(V3_KEY), client=httpx.AsyncClient())


@pytest.mark.anyio
async def test_injected_client_with_a_bearer_token():
    """An injected AsyncClient (e.g. shared) is used as given."""
    fake = Fake({"/movie/550": httpx.Response(200, json=movie())})
    async with httpx.AsyncClient(transport=httpx.MockTransport(fake)) as client:
        tmdb = TmdbCatalogSource(TmdbConfig(TOKEN), client=client)
        assert await tmdb.get_title(ItemRef.movie(550)) is not None
        await tmdb.aclose()
        assert not client.is_closed


def test_the_limiter_takes_the_configured_rate_and_concurrency():
    """tmdb_limiter: the config's rate, the policy's concurrency."""
    limiter = tmdb_limiter(TmdbConfig(TOKEN, requests_per_second=25), HttpPolicy(max_concurrency=3))
    assert (limiter.service, limiter.requests_per_second, limiter.max_concurrency) == (
        "tmdb",
        25,
        3,
    )
