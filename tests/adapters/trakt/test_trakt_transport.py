"""The Trakt adapters on httpx.MockTransport: headers, paging, tokens, and every failure mapped."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from reclio.adapters._http import RateLimiter
from reclio.adapters.memory import InMemoryStateStore
from reclio.adapters.trakt import (
    MAX_PAGE_LIMIT,
    TraktConfig,
    TraktInteractionSource,
    TraktListSink,
    TraktSession,
    TraktWritePacer,
)
from reclio.config import HttpPolicy
from reclio.domain import (
    AccountLimits,
    ActivityStamp,
    InteractionKind,
    ItemRef,
    ListAccount,
    ListDiff,
    ListEntry,
    ListHandle,
    ListSnapshot,
    OAuthToken,
)
from reclio.errors import (
    AccountLimitExceeded,
    AppRejected,
    AuthenticationError,
    DecodeError,
    RateLimited,
    ReconnectNeeded,
    SourceError,
    SourceTimeout,
    SourceUnavailable,
    UpgradeRequired,
)

CLIENT_ID = "client-id-0123456789"
SECRET = "client-secret-9876543210"  # noqa: S105 - a test value
NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
POLICY = HttpPolicy(max_attempts=3, backoff_initial=0.01, backoff_max=5.0)
USER = "alice"


def token(access="access-one", refresh="refresh-one", *, age=timedelta(hours=1), life=24):
    return OAuthToken(access, refresh, NOW - age, timedelta(hours=life))


def token_body(access="access-two", refresh="refresh-two"):
    return {
        "access_token": access,
        "token_type": "bearer",
        "expires_in": 86_400,
        "refresh_token": refresh,
        "scope": "public",
        "created_at": int(NOW.timestamp()),
    }


class FakeTime:
    """Monotonic seconds that move only when someone sleeps."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self):
        return self.now

    async def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


class Fake:
    """A MockTransport handler: routes by (method, path); a route may be a list (one per call)."""

    def __init__(self, routes=None):
        self.routes = dict(routes or {})
        self.seen: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        route = self.routes.get((request.method, request.url.path))
        if route is None:
            return httpx.Response(404, headers={"X-Request-Id": "r"})
        if isinstance(route, list):
            route = route.pop(0) if len(route) > 1 else route[0]
        if isinstance(route, Exception):
            raise route
        if callable(route):
            result = route(request)
            return await result if asyncio.iscoroutine(result) else result
        return route

    def paths(self, method=None):
        return [r.url.path for r in self.seen if method is None or r.method == method]


def trakt(status=200, body=None, headers=None, **kwargs):
    """A response from Trakt itself (its request headers are there)."""
    return httpx.Response(
        status,
        json=body,
        headers={"X-Request-Id": "abc", "X-Runtime": "0.01", **(headers or {})},
        **kwargs,
    )


def paged(items, *, page, pages, limit=100):
    headers = {
        "X-Pagination-Page": str(page),
        "X-Pagination-Limit": str(limit),
        "X-Pagination-Page-Count": str(pages),
    }
    return trakt(200, items, headers)


@pytest.fixture
def time_():
    return FakeTime()


@pytest.fixture
def store():
    return InMemoryStateStore(clock=lambda: NOW)


def make_session(fake, store, time_, *, clock=lambda: NOW, writes_per_second=1.0):
    limiter = RateLimiter(
        "trakt", requests_per_second=1000, max_concurrency=4, clock=time_.clock, sleep=time_.sleep
    )
    return TraktSession(
        TraktConfig(CLIENT_ID, SECRET, writes_per_second=writes_per_second),
        store=store,
        policy=POLICY,
        limiter=limiter,
        pacer=TraktWritePacer(writes_per_second, clock=time_.clock, sleep=time_.sleep),
        transport=httpx.MockTransport(fake),
        clock=clock,
        sleep=time_.sleep,
    )


async def connected(store, value=None):
    await store.put_token(USER, "trakt", value or token())


def movie(tmdb, trakt_id=None):
    return {"title": f"M{tmdb}", "year": 2000, "ids": {"trakt": trakt_id or tmdb, "tmdb": tmdb}}


def show(tmdb):
    return {"title": f"S{tmdb}", "year": 2000, "ids": {"trakt": 7, "tmdb": tmdb}}


ACTIVITIES = {
    "all": "2026-08-31T10:00:00.000Z",
    "movies": {
        "watched_at": "2026-08-30T10:00:00.000Z",
        "rated_at": "2026-08-01T10:00:00.000Z",
        "watchlisted_at": None,
        "paused_at": "2026-08-29T10:00:00.000Z",
    },
    "episodes": {"watched_at": "2026-08-31T10:00:00.000Z", "paused_at": None},
    "shows": {"rated_at": "2026-08-02T10:00:00.000Z", "watchlisted_at": None},
    "watchlist": {"updated_at": "2026-08-03T10:00:00.000Z"},
    "lists": {"updated_at": "2026-08-31T11:00:00.000Z"},
}


# -- requests ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_every_request_carries_trakts_headers_and_the_users_token(store, time_):
    """trakt-api-key, trakt-api-version 2, Content-Type, User-Agent and the bearer token."""
    fake = Fake({("GET", "/sync/last_activities"): trakt(200, ACTIVITIES)})
    await connected(store)
    session = make_session(fake, store, time_)

    await TraktInteractionSource(session).activity(USER)

    (request,) = fake.seen
    assert str(request.url) == "https://api.trakt.tv/sync/last_activities"
    assert request.headers["trakt-api-key"] == CLIENT_ID
    assert request.headers["trakt-api-version"] == "2"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == POLICY.user_agent
    assert request.headers["Authorization"] == "Bearer access-one"


@pytest.mark.anyio
async def test_activity_folds_the_sections_into_four_categories(store, time_):
    """Views from movies and episodes, ratings of movies and shows, the watchlist, playback."""
    fake = Fake({("GET", "/sync/last_activities"): trakt(200, ACTIVITIES)})
    await connected(store)

    stamp = await TraktInteractionSource(make_session(fake, store, time_)).activity(USER)

    assert stamp == ActivityStamp(
        watched_at=datetime(2026, 8, 31, 10, tzinfo=UTC),
        rated_at=datetime(2026, 8, 2, 10, tzinfo=UTC),
        watchlisted_at=datetime(2026, 8, 3, 10, tzinfo=UTC),
        paused_at=datetime(2026, 8, 29, 10, tzinfo=UTC),
    )


def history_item(n, *, kind="movie", tmdb=None, at=None, event=None):
    item = {
        "id": event if event is not None else n,
        "watched_at": at or f"2026-08-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:00.000Z",
        "action": "scrobble",
        "type": kind,
    }
    if kind == "movie":
        item["movie"] = movie(tmdb if tmdb is not None else n)
    else:
        item["episode"] = {"season": 1, "number": n, "ids": {"trakt": n, "tmdb": None}}
        item["show"] = show(tmdb if tmdb is not None else 1399)
    return item


@pytest.mark.anyio
async def test_history_reads_every_page_though_trakt_clamps_the_limit(store, time_):
    """Asked for 250 a page, Trakt answers 100 (the silent clamp): paging follows
    X-Pagination-Page-Count, so all 300 plays are read, none twice."""
    items = [history_item(n, at=f"2026-08-01T00:00:{n % 60:02d}.{n:03d}Z") for n in range(1, 301)]
    pages = [paged(items[i : i + 100], page=i // 100 + 1, pages=3) for i in range(0, 300, 100)]
    fake = Fake({("GET", "/sync/history"): pages})
    await connected(store)

    views = await TraktInteractionSource(make_session(fake, store, time_)).history(USER)

    assert len(views) == 300
    assert [dict(r.url.params) for r in fake.seen] == [
        {"page": str(p), "limit": str(MAX_PAGE_LIMIT)} for p in (1, 2, 3)
    ]
    stamps = [v.at for v in views]
    assert stamps == sorted(stamps, reverse=True)


@pytest.mark.anyio
async def test_history_maps_episodes_to_shows_drops_duplicate_plays_and_counts_unmapped(
    store, time_, caplog
):
    """An episode is a view of its show; one event seen twice and one title at one instant
    count once; a title without a TMDB id is skipped and counted."""
    at = "2026-08-10T20:00:00.000Z"
    items = [
        history_item(1, kind="episode", tmdb=1399, at=at),
        history_item(2, kind="episode", tmdb=1399, at=at),  # the same show at the same instant
        history_item(3, tmdb=603, at="2026-08-09T20:00:00.000Z"),
        history_item(3, tmdb=603, at="2026-08-09T20:00:00.000Z"),  # page overlap: same event
        history_item(4, tmdb=603, at="2026-08-08T20:00:00.000Z"),  # a rewatch: a second view
        {**history_item(5), "movie": {"title": "No TMDB", "ids": {"trakt": 5, "tmdb": None}}},
    ]
    fake = Fake({("GET", "/sync/history"): paged(items, page=1, pages=1)})
    await connected(store)
    source = TraktInteractionSource(make_session(fake, store, time_))

    with caplog.at_level(logging.INFO, logger="reclio.adapters.trakt"):
        views = await source.history(USER)

    assert [(v.ref, v.at.day) for v in views] == [
        (ItemRef.tv(1399), 10),
        (ItemRef.movie(603), 9),
        (ItemRef.movie(603), 8),
    ]
    assert all(v.kind is InteractionKind.VIEW and v.user_id == USER for v in views)
    assert source.unmapped["history"] == 1
    assert "1 entries without a TMDB id skipped" in caplog.text


@pytest.mark.anyio
async def test_history_since_asks_trakt_for_start_at(store, time_):
    """An incremental read sends start_at (UTC, milliseconds) and keeps nothing older."""
    items = [
        history_item(1, at="2026-08-10T20:00:00.000Z"),
        history_item(2, at="2026-08-01T00:00:00.000Z"),
    ]
    fake = Fake({("GET", "/sync/history"): paged(items, page=1, pages=1)})
    await connected(store)
    since = datetime(2026, 8, 5, 8, 30, tzinfo=UTC)

    views = await TraktInteractionSource(make_session(fake, store, time_)).history(
        USER, since=since
    )

    assert fake.seen[0].url.params["start_at"] == "2026-08-05T08:30:00.000Z"
    assert [v.at.day for v in views] == [10]


@pytest.mark.anyio
async def test_ratings_watchlist_and_playback_map_to_titles(store, time_):
    """Ratings normalize, a season on the watchlist is its show, a show paused twice once."""
    fake = Fake(
        {
            ("GET", "/sync/ratings/movies"): paged(
                [
                    {
                        "rated_at": "2026-08-01T00:00:00.000Z",
                        "rating": 10,
                        "type": "movie",
                        "movie": movie(603),
                    }
                ],
                page=1,
                pages=1,
            ),
            ("GET", "/sync/ratings/shows"): paged(
                [
                    {
                        "rated_at": "2026-08-02T00:00:00.000Z",
                        "rating": 1,
                        "type": "show",
                        "show": show(1399),
                    }
                ],
                page=1,
                pages=1,
            ),
            ("GET", "/sync/watchlist"): paged(
                [
                    {
                        "listed_at": "2026-08-03T00:00:00.000Z",
                        "type": "season",
                        "season": {"number": 2},
                        "show": show(66732),
                        "id": 1,
                        "rank": 1,
                    },
                    {
                        "listed_at": "2026-08-04T00:00:00.000Z",
                        "type": "movie",
                        "movie": movie(27205),
                        "id": 2,
                        "rank": 2,
                    },
                ],
                page=1,
                pages=1,
            ),
            ("GET", "/sync/playback"): trakt(
                200,
                [
                    {
                        "progress": 10.0,
                        "paused_at": "2026-08-05T00:00:00.000Z",
                        "type": "episode",
                        "episode": {"season": 1, "number": 1},
                        "show": show(1399),
                        "id": 1,
                    },
                    {
                        "progress": 60.0,
                        "paused_at": "2026-08-06T00:00:00.000Z",
                        "type": "episode",
                        "episode": {"season": 1, "number": 2},
                        "show": show(1399),
                        "id": 2,
                    },
                    {
                        "progress": 42.5,
                        "paused_at": "2026-08-04T00:00:00.000Z",
                        "type": "movie",
                        "movie": movie(603),
                        "id": 3,
                    },
                ],
            ),
        }
    )
    await connected(store)
    source = TraktInteractionSource(make_session(fake, store, time_))

    ratings = await source.ratings(USER)
    watchlist = await source.watchlist(USER)
    playback = await source.playback(USER)

    assert [(r.ref, r.value) for r in ratings] == [
        (ItemRef.tv(1399), -1.0),
        (ItemRef.movie(603), 1.0),
    ]
    assert [b.ref for b in watchlist] == [ItemRef.movie(27205), ItemRef.tv(66732)]
    assert all(b.kind is InteractionKind.BOOKMARK for b in watchlist)
    assert [(p.ref, p.progress) for p in playback] == [
        (ItemRef.tv(1399), 60.0),
        (ItemRef.movie(603), 42.5),
    ]


# -- failures ----------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("status", [500, 502, 503, 504, 520, 521, 522])
async def test_server_errors_and_cloudflares_520_to_522_are_retried(store, time_, status):
    """5xx (Cloudflare's 520-522 among them) is tried again and then succeeds."""
    fake = Fake({("GET", "/sync/last_activities"): [trakt(status), trakt(200, ACTIVITIES)]})
    await connected(store)

    stamp = await TraktInteractionSource(make_session(fake, store, time_)).activity(USER)

    assert stamp.watched_at is not None
    assert len(fake.seen) == 2


@pytest.mark.anyio
async def test_a_users_429_waits_for_that_request_only(store, time_):
    """A 429 of a user's bucket (X-Ratelimit AUTHED_*) waits its Retry-After and does not
    pause the other requests of the process."""
    bucket = json.dumps(
        {"name": "AUTHED_API_GET_LIMIT", "period": 300, "limit": 1000, "remaining": 0}
    )
    refused = trakt(429, headers={"Retry-After": "2", "X-Ratelimit": bucket})
    fake = Fake({("GET", "/sync/last_activities"): [refused, trakt(200, ACTIVITIES)]})
    await connected(store)
    session = make_session(fake, store, time_)

    await TraktInteractionSource(session).activity(USER)

    assert len(fake.seen) == 2
    assert session.limiter.paused_for == 0
    assert 2.0 in time_.sleeps


@pytest.mark.anyio
async def test_a_429_without_x_ratelimit_pauses_every_request(store, time_):
    """A 429 from a security layer (no X-Ratelimit) pauses the whole process's budget."""
    fake = Fake(
        {
            ("GET", "/sync/last_activities"): [
                trakt(429, headers={"Retry-After": "3"}),
                trakt(200, ACTIVITIES),
            ]
        }
    )
    await connected(store)
    session = make_session(fake, store, time_)
    paused = []
    original = session.limiter.pause
    session.limiter.pause = lambda seconds: (paused.append(seconds), original(seconds))[1]

    await TraktInteractionSource(session).activity(USER)

    assert paused == [3.0]
    assert len(fake.seen) == 2


@pytest.mark.anyio
async def test_a_long_retry_after_is_raised_not_waited(store, time_):
    """A Retry-After beyond the policy's backoff_max becomes RateLimited with the wait."""
    fake = Fake({("GET", "/sync/last_activities"): trakt(429, headers={"Retry-After": "600"})})
    await connected(store)

    with pytest.raises(RateLimited) as caught:
        await TraktInteractionSource(make_session(fake, store, time_)).activity(USER)

    assert caught.value.retry_after == 600
    assert len(fake.seen) == 1


@pytest.mark.anyio
async def test_cloudflares_403_page_is_a_clear_error_not_a_bad_key(store, time_):
    """Cloudflare's HTML block page (no Trakt headers) says so, names the fix, is not retried."""
    page = httpx.Response(
        403,
        text="<!DOCTYPE html><html><title>Attention Required! | Cloudflare</title></html>",
        headers={"Content-Type": "text/html; charset=UTF-8"},
    )
    fake = Fake({("GET", "/sync/last_activities"): page})
    await connected(store)

    with pytest.raises(SourceError) as caught:
        await TraktInteractionSource(make_session(fake, store, time_)).activity(USER)

    assert not isinstance(caught.value, AuthenticationError)
    assert "Cloudflare" in str(caught.value)
    assert "User-Agent" in str(caught.value)
    assert len(fake.seen) == 1


@pytest.mark.anyio
async def test_trakts_own_403_is_a_rejected_app_that_names_the_fix(store, time_):
    """403 from Trakt itself (a deleted app) is AppRejected naming the variables and VIP."""
    fake = Fake({("GET", "/genres/movies"): trakt(403)})

    with pytest.raises(AppRejected) as caught:
        await TraktInteractionSource(make_session(fake, store, time_)).ping()

    message = str(caught.value)
    assert "RECLIO_TRAKT_CLIENT_ID" in message
    assert "VIP" in message
    assert CLIENT_ID not in message
    assert SECRET not in message


@pytest.mark.anyio
async def test_426_is_vip_required(store, time_):
    """426 is UpgradeRequired (VIP only), with the upgrade URL; not retried."""
    fake = Fake(
        {
            ("GET", "/sync/last_activities"): trakt(
                426, headers={"X-Upgrade-URL": "https://trakt.tv/vip"}
            )
        }
    )
    await connected(store)

    with pytest.raises(UpgradeRequired, match="VIP only") as caught:
        await TraktInteractionSource(make_session(fake, store, time_)).activity(USER)

    assert "https://trakt.tv/vip" in str(caught.value)
    assert len(fake.seen) == 1


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (httpx.ReadTimeout("slow"), SourceTimeout),
        (httpx.ConnectError("refused"), SourceUnavailable),
        (trakt(200, content=b"{not json"), DecodeError),
        (trakt(200, {"movies": "nope"}), DecodeError),
    ],
)
async def test_every_foreign_failure_is_a_source_error(store, time_, failure, error):
    """Timeouts, refused connections and bodies that are not Trakt's map to SourceError."""
    if isinstance(failure, httpx.Response) and failure.content == b"{not json":
        failure = httpx.Response(
            200, content=b"{not json", headers={"Content-Type": "application/json"}
        )
    fake = Fake({("GET", "/sync/last_activities"): failure})
    await connected(store)

    with pytest.raises(error):
        await TraktInteractionSource(make_session(fake, store, time_)).activity(USER)


# -- tokens ------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_401_refreshes_once_stores_the_new_token_first_then_retries(store, time_):
    """A refused access token is refreshed once; the new refresh token is in the store
    before the new access token is used; the request is sent again."""
    seen_in_store = []

    async def retried(request):
        seen_in_store.append(await store.get_token(USER, "trakt"))
        return trakt(200, ACTIVITIES)

    fake = Fake(
        {
            ("GET", "/sync/last_activities"): [trakt(401), retried],
            ("POST", "/oauth/token"): trakt(200, token_body()),
        }
    )
    await connected(store)
    session = make_session(fake, store, time_)

    await TraktInteractionSource(session).activity(USER)

    assert fake.paths() == ["/sync/last_activities", "/oauth/token", "/sync/last_activities"]
    refresh = json.loads(fake.seen[1].content)
    assert refresh["grant_type"] == "refresh_token"
    assert refresh["refresh_token"] == "refresh-one"  # noqa: S105 - a test value
    assert refresh["client_secret"] == SECRET
    assert fake.seen[2].headers["Authorization"] == "Bearer access-two"
    assert seen_in_store[0].refresh_token == "refresh-two"  # noqa: S105 - a test value
    assert session.auth.refreshes == 1


@pytest.mark.anyio
async def test_a_second_401_after_the_refresh_means_reconnect(store, time_):
    """Still refused after one refresh: ReconnectNeeded, the dead token is forgotten, and no
    further request is made for the user."""
    fake = Fake(
        {
            ("GET", "/sync/last_activities"): trakt(401),
            ("POST", "/oauth/token"): trakt(200, token_body()),
        }
    )
    await connected(store)
    source = TraktInteractionSource(make_session(fake, store, time_))

    with pytest.raises(ReconnectNeeded, match="trakt login alice"):
        await source.activity(USER)
    assert len(fake.seen) == 3
    assert await store.get_token(USER, "trakt") is None

    with pytest.raises(ReconnectNeeded):
        await source.activity(USER)
    assert len(fake.seen) == 3


@pytest.mark.anyio
async def test_invalid_grant_means_reconnect_and_no_token_leaks(store, time_, caplog):
    """A refused refresh token (revoked, or spent elsewhere) is ReconnectNeeded; neither
    token appears in the error or the log."""
    fake = Fake(
        {
            ("POST", "/oauth/token"): trakt(
                401,
                {
                    "error": "invalid_grant",
                    "error_description": "The provided authorization grant is invalid",
                },
            )
        }
    )
    await connected(store, token(age=timedelta(hours=23, minutes=55)))  # expires in 5 minutes

    with caplog.at_level(logging.DEBUG), pytest.raises(ReconnectNeeded) as caught:
        await TraktInteractionSource(make_session(fake, store, time_)).activity(USER)

    assert "invalid_grant" in str(caught.value)
    assert fake.paths() == ["/oauth/token"]  # refreshed first: it was about to expire
    for secret in ("access-one", "refresh-one", SECRET):
        assert secret not in str(caught.value)
        assert secret not in caplog.text
    assert await store.get_token(USER, "trakt") is None


@pytest.mark.anyio
async def test_a_token_is_refreshed_shortly_before_it_expires(store, time_):
    """created_at + expires_in within the margin: refresh first, then use the new token."""
    fake = Fake(
        {
            ("POST", "/oauth/token"): trakt(200, token_body()),
            ("GET", "/sync/last_activities"): trakt(200, ACTIVITIES),
        }
    )
    await connected(store, token(age=timedelta(hours=23, minutes=55)))

    await TraktInteractionSource(make_session(fake, store, time_)).activity(USER)

    assert fake.paths() == ["/oauth/token", "/sync/last_activities"]
    assert fake.seen[1].headers["Authorization"] == "Bearer access-two"
    stored = await store.get_token(USER, "trakt")
    assert stored.expires_at == NOW + timedelta(hours=24)


@pytest.mark.anyio
async def test_no_token_is_reconnect_needed_without_a_request(store, time_):
    """A user with no stored token costs no request."""
    fake = Fake()
    with pytest.raises(ReconnectNeeded, match="no Trakt token"):
        await TraktInteractionSource(make_session(fake, store, time_)).activity(USER)
    assert fake.seen == []


@pytest.mark.anyio
async def test_two_sessions_never_refresh_one_user_twice(store, time_):
    """Two workers (two sessions on one store) refreshing the same expiring token at once:
    one refreshes under the lease, the other waits and uses what it stored."""
    refreshes = []

    async def refresh(request):
        refreshes.append(json.loads(request.content)["refresh_token"])
        await asyncio.sleep(0.05)  # the other worker arrives meanwhile
        return trakt(200, token_body())

    def routes():
        return {
            ("POST", "/oauth/token"): refresh,
            ("GET", "/sync/last_activities"): trakt(200, ACTIVITIES),
        }

    await connected(store, token(age=timedelta(hours=23, minutes=55)))
    first, second = Fake(routes()), Fake(routes())
    one = TraktInteractionSource(make_session(first, store, time_))
    two = TraktInteractionSource(make_session(second, store, time_))

    await asyncio.gather(one.activity(USER), two.activity(USER))

    assert refreshes == ["refresh-one"]
    auth = [r.headers["Authorization"] for r in (*first.seen, *second.seen) if r.method == "GET"]
    assert auth == ["Bearer access-two", "Bearer access-two"]


# -- OAuth flows -------------------------------------------------------------------------------


DEVICE = {
    "device_code": "device-code-secret",
    "user_code": "5055CC52",
    "verification_url": "https://trakt.tv/activate",
    "expires_in": 600,
    "interval": 5,
}


@pytest.mark.anyio
async def test_device_flow_polls_at_the_interval_and_slows_down_when_told(store, time_):
    """400 is pending, 429 adds five seconds to the interval, 200 is the token."""
    polls = [trakt(400), trakt(429), trakt(400), trakt(200, token_body())]
    fake = Fake(
        {("POST", "/oauth/device/code"): trakt(200, DEVICE), ("POST", "/oauth/device/token"): polls}
    )
    moments = iter(NOW + timedelta(seconds=n) for n in range(0, 10_000, 5))
    auth = make_session(fake, store, time_, clock=lambda: next(moments)).auth

    device = await auth.start_device_login()
    got = await auth.wait_for_device_login(device)

    assert device.user_code == "5055CC52"
    assert device.direct_url == "https://trakt.tv/activate/5055CC52"
    assert "device-code-secret" not in repr(device)
    assert got.access_token == "access-two"  # noqa: S105 - a test value
    assert list(time_.sleeps) == [5.0, 5.0, 10.0, 10.0]
    polled = json.loads(fake.seen[1].content)
    assert polled == {"code": "device-code-secret", "client_id": CLIENT_ID, "client_secret": SECRET}


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "words"),
    [(404, "does not know"), (409, "already used"), (410, "expired"), (418, "denied")],
)
async def test_device_flow_endings_are_clear(store, time_, status, words):
    """404, 409, 410 and 418 end the login with an error that says which."""
    fake = Fake(
        {
            ("POST", "/oauth/device/code"): trakt(200, DEVICE),
            ("POST", "/oauth/device/token"): trakt(status),
        }
    )
    auth = make_session(fake, store, time_).auth

    with pytest.raises(AuthenticationError, match=words):
        await auth.wait_for_device_login(await auth.start_device_login())


@pytest.mark.anyio
async def test_authorization_code_flow(store, time_):
    """The authorize page is on trakt.tv; the code is exchanged at the API's /oauth/token."""
    fake = Fake({("POST", "/oauth/token"): trakt(200, token_body())})
    auth = make_session(fake, store, time_).auth

    url = auth.authorize_url("xyz")
    got = await auth.exchange_code("the-code")

    assert url.startswith("https://trakt.tv/oauth/authorize?response_type=code&client_id=")
    assert "state=xyz" in url
    assert "redirect_uri=urn%3Aietf%3Awg%3Aoauth%3A2.0%3Aoob" in url
    sent = json.loads(fake.seen[0].content)
    assert sent["grant_type"] == "authorization_code"
    assert sent["code"] == "the-code"
    assert got.refresh_token == "refresh-two"  # noqa: S105 - a test value


@pytest.mark.anyio
async def test_invalid_client_is_a_rejected_app(store, time_):
    """OAuth's invalid_client (a deleted app) is AppRejected, not a user problem."""
    fake = Fake({("POST", "/oauth/token"): trakt(401, {"error": "invalid_client"})})
    with pytest.raises(AppRejected, match="VIP"):
        await make_session(fake, store, time_).auth.exchange_code("code")


def test_secrets_never_in_reprs(store, time_):
    """Neither the app's secret nor a token is in any repr."""
    session = make_session(Fake(), store, time_)
    text = " ".join(
        repr(x)
        for x in (
            session,
            session.auth,
            session.config,
            TraktInteractionSource(session),
            TraktListSink(session),
            token(),
        )
    )
    for secret in (CLIENT_ID, SECRET, "access-one", "refresh-one"):
        assert secret not in text


# -- the list sink -----------------------------------------------------------------------------


SETTINGS = {"user": {"username": "alice"}, "limits": {"list": {"count": 5, "item_count": 250}}}


def trakt_list(list_id, name, count=0, updated="2026-08-31T10:00:00.000Z"):
    return {
        "name": name,
        "ids": {"trakt": list_id, "slug": name.lower()},
        "item_count": count,
        "updated_at": updated,
        "type": "personal",
    }


@pytest.mark.anyio
async def test_account_reads_settings_and_lists(store, time_):
    """One account read: the limits from /users/settings and every personal list."""
    fake = Fake(
        {
            ("GET", "/users/settings"): trakt(200, SETTINGS),
            ("GET", "/users/me/lists"): paged(
                [trakt_list(1, "Mine", 3), trakt_list(2, "Reclio • Recommended Movies")],
                page=1,
                pages=1,
            ),
        }
    )
    await connected(store)

    account = await TraktListSink(make_session(fake, store, time_)).account(USER)

    assert (account.limits.max_lists, account.limits.max_items_per_list) == (5, 250)
    assert [(h.list_id, h.name, h.item_count) for h in account.lists] == [
        (1, "Mine", 3),
        (2, "Reclio • Recommended Movies", 0),
    ]
    assert account.lists[0].updated_at == datetime(2026, 8, 31, 10, tzinfo=UTC)


@pytest.mark.anyio
async def test_ensure_list_adopts_then_creates_private_without_comments_once(store, time_):
    """A list with the exact name is adopted without a request; a new one is created
    private, ranked, without comments, and its create is never retried."""
    created = trakt(201, trakt_list(9, "Reclio • Recommended Shows"))
    fake = Fake({("POST", "/users/me/lists"): [trakt(503), created]})
    await connected(store)
    sink = TraktListSink(make_session(fake, store, time_))
    account = ListAccount(AccountLimits(5, 250), [ListHandle(4, "Reclio • Recommended Movies")])

    adopted = await sink.ensure_list(USER, "Reclio • Recommended Movies", account=account)
    assert adopted.list_id == 4
    assert fake.seen == []

    with pytest.raises(SourceUnavailable):
        await sink.ensure_list(USER, "Reclio • Recommended Shows", account=account)
    assert len(fake.seen) == 1  # not retried: a lost answer retried would make two lists

    handle = await sink.ensure_list(
        USER, "Reclio • Recommended Shows", description="d", account=account
    )
    body = json.loads(fake.seen[-1].content)
    assert handle.list_id == 9
    assert body == {
        "name": "Reclio • Recommended Shows",
        "description": "d",
        "privacy": "private",
        "display_numbers": False,
        "allow_comments": False,
        "sort_by": "rank",
        "sort_how": "asc",
    }


@pytest.mark.anyio
async def test_420_is_an_account_limit_and_never_retried(store, time_):
    """A full account answers 420: AccountLimitExceeded after one request."""
    refused = trakt(420, headers={"X-Account-Limit": "5", "X-VIP-User": "false"})
    fake = Fake({("POST", "/users/me/lists"): refused})
    await connected(store)
    with pytest.raises(AccountLimitExceeded, match="limit of 5") as caught:
        await TraktListSink(make_session(fake, store, time_)).ensure_list(
            USER, "X", account=ListAccount(AccountLimits(5, 250))
        )
    assert "free account" in str(caught.value)
    assert len(fake.seen) == 1


def answer(item_count, stamp="2026-09-01T12:00:01.000Z", **counts):
    return {**counts, "list": {"updated_at": stamp, "item_count": item_count}}


@pytest.mark.anyio
async def test_apply_writes_one_per_second_and_trusts_the_answers(store, time_):
    """A diff is at most three writes, a second apart, and nothing is read back: the handle
    is what the last write answered."""
    fake = Fake(
        {
            ("POST", "/users/me/lists/7/items/reorder"): trakt(
                200, answer(3, updated=3, skipped_ids=[])
            ),
            ("POST", "/users/me/lists/7/items/remove"): trakt(
                200, answer(2, deleted={"movies": 1})
            ),
            ("POST", "/users/me/lists/7/items"): trakt(
                201, answer(3, "2026-09-01T12:00:03.000Z", added={"movies": 1})
            ),
        }
    )
    await connected(store)
    sink = TraktListSink(make_session(fake, store, time_))
    current = ListSnapshot(7, [ListEntry(ItemRef.movie(n), 100 + n) for n in (1, 2, 3)])
    diff = ListDiff(
        add=(ItemRef.movie(4),),
        remove=(ItemRef.movie(1),),
        order=(ItemRef.movie(3), ItemRef.movie(2), ItemRef.movie(4)),
    )

    after = await sink.apply(USER, 7, diff, current=current)

    assert fake.paths() == [
        "/users/me/lists/7/items/reorder",
        "/users/me/lists/7/items/remove",
        "/users/me/lists/7/items",
    ]
    assert json.loads(fake.seen[0].content) == {"rank": [103, 102, 101]}
    assert json.loads(fake.seen[1].content) == {"movies": [{"ids": {"tmdb": 1}}], "shows": []}
    assert json.loads(fake.seen[2].content) == {"movies": [{"ids": {"tmdb": 4}}], "shows": []}
    assert after.item_count == 3
    assert after.updated_at == datetime(2026, 9, 1, 12, 0, 3, tzinfo=UTC)
    assert time_.sleeps == [1.0, 1.0]  # the pacer: the 2nd and 3rd write waited their second


@pytest.mark.anyio
async def test_writes_of_two_users_do_not_wait_for_each_other(store, time_):
    """The pacer spaces each user's writes, not everyone's."""
    fake = Fake({("POST", "/users/me/lists/7/items"): trakt(201, answer(1, added={"movies": 1}))})
    await connected(store)
    await store.put_token("bob", "trakt", token("access-bob", "refresh-bob"))
    sink = TraktListSink(make_session(fake, store, time_))
    empty = ListSnapshot(7)

    await sink.apply(USER, 7, ListDiff(add=(ItemRef.movie(1),)), current=empty)
    await sink.apply("bob", 7, ListDiff(add=(ItemRef.movie(1),)), current=empty)

    assert time_.sleeps == []


@pytest.mark.anyio
async def test_snapshot_keeps_entry_ids_and_counts_foreign_entries(store, time_):
    """A list's read holds each entry's id; a person or an episode on it is counted foreign."""
    items = [
        {"rank": 1, "id": 11, "type": "movie", "movie": movie(603)},
        {"rank": 2, "id": 12, "type": "person", "person": {"name": "P", "ids": {"tmdb": 1}}},
        {"rank": 3, "id": 13, "type": "show", "show": show(1399)},
    ]
    fake = Fake({("GET", "/users/me/lists/7/items"): paged(items, page=1, pages=1)})
    await connected(store)

    snapshot = await TraktListSink(make_session(fake, store, time_)).snapshot(USER, 7)

    assert snapshot.entries == (ListEntry(ItemRef.movie(603), 11), ListEntry(ItemRef.tv(1399), 13))
    assert snapshot.foreign == 1
    assert snapshot.item_count == 3


@pytest.mark.anyio
async def test_an_unknown_list_is_an_error(store, time_):
    """Reading a list the account does not hold raises SourceError naming it."""
    fake = Fake()
    await connected(store)
    with pytest.raises(SourceError, match="holds no Trakt list 5"):
        await TraktListSink(make_session(fake, store, time_)).snapshot(USER, 5)
