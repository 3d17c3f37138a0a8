"""The example ChillLink app: per-user addon URLs, /feeds that never fails, /healthz."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from examples.chilllink_app.feeds import MAX_FIELDS, MAX_HINT, MAX_QUERY, parse_query
from reclio import addons, chilllink
from reclio.adapters.memory import InMemoryStateStore
from reclio.config import AppConfig
from reclio.diagnostics import HealthReport, ProbeResult
from reclio.domain import (
    Anchor,
    Feed,
    ItemRef,
    ManagedList,
    ManagedListKind,
    TraktListSource,
    UserState,
)
from reclio.errors import SourceUnavailable
from reclio.testing import strategies as rst
from reclio.testing.faults import FaultPlan

pytestmark = pytest.mark.anyio

DOWN = SourceUnavailable("down", service="memory", operation="test")


def _state(user_id: str, list_id: int) -> UserState:
    """A user whose Recommended row is their own managed list (so their body is theirs)."""
    recommended = ManagedList(
        ManagedListKind.RECOMMENDED_MOVIES,
        list_id,
        50,
        synced_ok=True,
        synced_at=datetime.now(UTC) - timedelta(hours=1),
    )
    anchor = Anchor(ItemRef.movie(603), "The Matrix")
    return UserState(user_id, last_watched_movie=anchor, lists=[recommended])


def _feeds(response: httpx.Response) -> list[Feed]:
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    feeds = list(chilllink.loads(response.text).feeds)
    assert len(feeds) == 10
    return feeds


def _list_ids(response: httpx.Response) -> set[int]:
    return {f.source.list_id for f in _feeds(response) if isinstance(f.source, TraktListSource)}


async def _anonymous(client: httpx.AsyncClient) -> str:
    response = await client.get("/feeds")
    _feeds(response)
    return response.text


# -- manifest -------------------------------------------------------------------------------


async def test_manifest_is_the_same_for_every_token(client: httpx.AsyncClient) -> None:
    """/manifest and /{token}/manifest answer the same body, known token or not, so Chillio
    resolves "/feeds" against the pasted URL and no answer tells whether a token exists."""
    plain = await client.get("/manifest")
    body = plain.json()
    assert body["supported_endpoints"] == {"feeds": "/feeds", "streams": None}
    assert {"id", "version", "name", "description"} <= set(body)
    for token in ("x" * 43, "not a token", "%00"):
        assert (await client.get(f"/{token}/manifest")).text == plain.text


# -- per-user addon URLs --------------------------------------------------------------------


async def test_a_token_serves_its_user_and_rotation_retires_it(
    store: InMemoryStateStore, client: httpx.AsyncClient
) -> None:
    """/{token}/feeds is the token's user's body; after rotation the old token gets the
    non-personal layout and the new one the user's rows."""
    await store.put_user(_state("ann", 111))
    old = await addons.issue_addon_token(store, "ann")
    response = await client.get(f"/{old}/feeds")
    assert 111 in _list_ids(response)
    assert _feeds(response)[3].id == "because_watched_movie_tmdb_603"
    new = await addons.issue_addon_token(store, "ann")
    assert (await client.get(f"/{old}/feeds")).text == await _anonymous(client)
    assert 111 in _list_ids(await client.get(f"/{new}/feeds"))


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=50)
@given(token=st.text(alphabet="ABCabc019-_", min_size=16, max_size=64) | st.text(max_size=80))
async def test_an_unknown_token_never_gets_anyones_rows(
    store: InMemoryStateStore, client: httpx.AsyncClient, token: str
) -> None:
    """Any token that is not a user's current one gets the non-personal layout."""
    if not await store.user_ids():
        for n, user in enumerate(("ann", "bo", "cy")):
            await store.put_user(_state(user, 100 + n))
            await addons.issue_addon_token(store, user)
    quoted = httpx.URL("http://app/").copy_with(raw_path=b"/" + _quote(token) + b"/feeds")
    response = await client.get(quoted)
    if response.status_code == 404:  # a "/" inside the token: another path, not /feeds
        return
    assert response.text == await _anonymous(client)


def _quote(text: str) -> bytes:
    from urllib.parse import quote  # noqa: PLC0415

    return quote(text, safe="").encode()


async def test_hints_work_for_unknown_tokens_too(
    store: InMemoryStateStore, client: httpx.AsyncClient
) -> None:
    """last_watched shapes the non-personal layout (a catalog read, never a user's row)."""
    response = await client.get("/" + "z" * 43 + "/feeds", params={"last_watched": "movie:603"})
    assert all(not isinstance(f.source, TraktListSource) for f in _feeds(response))


async def test_user_id_param_is_off_unless_enabled(
    store: InMemoryStateStore, client: httpx.AsyncClient
) -> None:
    """By default /feeds?user_id= serves the non-personal layout: an id (a Trakt username)
    is guessable, so it never reads a user's rows."""
    await store.put_user(_state("ann", 111))
    response = await client.get("/feeds", params={"user_id": "ann"})
    assert response.text == await _anonymous(client)


@pytest.mark.parametrize("settings", [AppConfig(user_id_param=True, scheduler=False)])
async def test_user_id_param_when_enabled(
    store: InMemoryStateStore, client: httpx.AsyncClient
) -> None:
    """With RECLIO_APP_USER_ID_PARAM=on, /feeds?user_id= serves that user's rows."""
    await store.put_user(_state("ann", 111))
    assert 111 in _list_ids(await client.get("/feeds", params={"user_id": "ann"}))
    assert (await client.get("/feeds", params={"user_id": "bo"})).text == await _anonymous(client)


# -- reuse of bodies ------------------------------------------------------------------------


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=40)
@given(
    steps=st.lists(
        st.tuples(st.one_of(st.none(), rst.user_states("ann")), st.sampled_from([None, "junk"])),
        min_size=1,
        max_size=6,
    )
)
async def test_a_reused_body_is_always_a_fresh_build(
    store: InMemoryStateStore,
    app: Starlette,
    client: httpx.AsyncClient,
    steps: list[tuple[UserState | None, str | None]],
) -> None:
    """Whatever is written between requests, each body equals what the runtime's own
    builder builds for the state at that moment (reuse never serves a stale body)."""
    builder = app.state.reclio.runtime.feed_builder
    token = await addons.issue_addon_token(store, "ann")
    for state, hint in steps:
        if state is not None:
            await store.put_user(state)
        params = {"last_watched": hint} if hint else {}
        response = await client.get(f"/{token}/feeds", params=params)
        if await store.get_user("ann") is None:
            assert response.text == await _anonymous(client)
        else:
            expected = chilllink.dumps(await builder.build("ann", last_watched=hint))
            assert response.text == expected


async def test_requests_are_counted_once_a_minute_and_nothing_is_written(
    store: InMemoryStateStore, app: Starlette, client: httpx.AsyncClient, plan: FaultPlan
) -> None:
    """A known user's requests count once per minute, reused body or not (a client that
    refreshes in a loop cannot make itself "hot"); unknown tokens make no row; and no
    request writes anything: counts reach the store in one batch."""
    await store.put_user(_state("ann", 111))
    await store.put_user(_state("bo", 222))
    ann = await addons.issue_addon_token(store, "ann")
    bo = await addons.issue_addon_token(store, "bo")
    before = len(plan.calls)
    for _ in range(3):
        await client.get(f"/{ann}/feeds")
    await client.get(f"/{bo}/feeds")
    for n in range(4):
        await client.get(f"/{'q' * 40}{n:03d}/feeds")
    called = {call.removeprefix("store.") for call in plan.calls[before:]}
    assert called == {"addon_token_owner", "get_user"}  # reads only
    since = datetime.now(UTC) - timedelta(minutes=1)
    assert await store.feed_requests_since("ann", since) == 0
    assert await app.state.reclio.runtime.feed_requests.flush() == 2
    assert await store.feed_requests_since("ann", since) == 1
    assert await store.feed_requests_since("bo", since) == 1


async def test_with_no_count_window_every_request_counts(
    store: InMemoryStateStore, make_app: Callable[..., Starlette]
) -> None:
    """count_window=0 counts each request of a known user."""
    app = make_app(AppConfig(scheduler=False), count_window=0)
    await store.put_user(_state("ann", 111))
    token = await addons.issue_addon_token(store, "ann")
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://app") as http,
    ):
        for _ in range(3):
            await http.get(f"/{token}/feeds")
        assert await app.state.reclio.runtime.feed_requests.flush() == 3


# -- never a 5xx ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "",
        "user_id=" + "x" * 10_000,
        "last_watched=" + "garbage" * 100,
        "last_watched=movie:99999999999999999999",
        "last_watched=%ZZ%F0%9F%98&user_id=%ED%A0%80",
        "&&&==&=&" * 500,
        "last_watched=movie:603&" + "a=b&" * 5_000,
        "user_id=%00%0A%0D",
    ],
)
async def test_odd_requests_still_get_ten_feeds(client: httpx.AsyncClient, query: str) -> None:
    """Missing, huge, malformed or hostile parameters never turn into an error response."""
    url = httpx.URL("http://app/feeds").copy_with(query=query.encode("utf-8", "surrogatepass"))
    _feeds(await client.get(url))
    _feeds(await client.get(httpx.URL(f"http://app/{'t' * 43}/feeds").copy_with(query=url.query)))


@pytest.mark.parametrize("operation", ["store.addon_token_owner", "store.get_user"])
async def test_a_broken_store_is_not_a_5xx(
    store: InMemoryStateStore,
    plan: FaultPlan,
    client: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    operation: str,
) -> None:
    """A store failure on the request path is served the non-personal layout, status 200,
    with one warning (no traceback) for a burst of failures; service resumes with it."""
    await store.put_user(_state("ann", 111))
    token = await addons.issue_addon_token(store, "ann")
    plan.fail(operation, DOWN, times=None)
    with caplog.at_level(logging.WARNING, logger="reclio.examples.app.feeds"):
        for _ in range(4):
            assert 111 not in _list_ids(await client.get(f"/{token}/feeds"))
    warned = [r for r in caplog.records if r.name == "reclio.examples.app.feeds"]
    assert len(warned) == 1
    assert warned[0].levelno == logging.WARNING
    assert "could not read the state" in warned[0].message
    assert warned[0].exc_info is None
    plan.clear()
    assert 111 in _list_ids(await client.get(f"/{token}/feeds"))


async def test_a_bug_behind_feeds_is_logged_once_and_not_a_5xx(
    store: InMemoryStateStore,
    plan: FaultPlan,
    client: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A non-SourceError (a bug) is answered with the non-personal layout; a burst of them
    logs one traceback, not one per request."""
    await store.put_user(_state("ann", 111))
    token = await addons.issue_addon_token(store, "ann")
    plan.fail("store.addon_token_owner", RuntimeError("bug"), times=None)
    with caplog.at_level(logging.ERROR, logger="reclio.examples.app.feeds"):
        for _ in range(5):
            assert 111 not in _list_ids(await client.get(f"/{token}/feeds"))
    failures = [r for r in caplog.records if "answered the non-personal layout" in r.message]
    assert len(failures) == 1
    assert failures[0].exc_info is not None


@given(raw=st.binary(max_size=3 * MAX_QUERY))
def test_parse_query_never_raises_and_caps_every_value(raw: bytes) -> None:
    """Any raw query string reads as two capped values (or None), never an exception."""
    query = parse_query(raw)
    assert query.user_id is None or 0 < len(query.user_id) <= addons.MAX_USER_ID
    assert query.last_watched is None or 0 < len(query.last_watched) <= MAX_HINT


def test_parse_query_reads_only_the_first_fields_and_bytes() -> None:
    """Parameters past the first MAX_FIELDS pairs or MAX_QUERY bytes are not read; the
    first occurrence of a name wins; percent-escapes and + are decoded."""
    late = b"a=1&" * MAX_FIELDS + b"user_id=late"
    assert parse_query(late).user_id is None
    assert parse_query(b"x" * MAX_QUERY + b"&user_id=late").user_id is None
    query = parse_query(b"user_id=ann+lee&user_id=bo&last_watched=movie%3A603")
    assert query.user_id == "ann lee"
    assert query.last_watched == "movie:603"


# -- healthz --------------------------------------------------------------------------------


async def test_healthz_follows_the_store(
    store: InMemoryStateStore, plan: FaultPlan, client: httpx.AsyncClient
) -> None:
    """Degraded (503) for a store that holds nobody (a mistyped state path), 200 with users
    in it, 503 when its ping fails."""
    empty = await client.get("/healthz")
    assert empty.status_code == 503
    assert "holds no users" in empty.json()["store"]
    await store.put_user(UserState("u1"))
    ok = await client.get("/healthz")
    assert ok.status_code == 200
    assert ok.json() == {"status": "ok", "store": "ok", "users": 1, "health": None}
    plan.fail("store.ping", DOWN)
    response = await client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "degraded"


async def test_healthz_reads_the_last_verdict_own_or_shared(
    store: InMemoryStateStore, app: Starlette, client: httpx.AsyncClient
) -> None:
    """The runtime's last health report decides, or the newer one another process
    published in the store; a failing probe in the newest is a 503."""
    from examples.chilllink_app.health import publish  # noqa: PLC0415

    await store.put_user(UserState("u1"))
    runtime = app.state.reclio.runtime
    report = await runtime.health.check_once()
    body = (await client.get("/healthz")).json()
    assert body["health"]["status"] == "ok"
    assert body["health"]["checked_at"] == report.checked_at.isoformat()
    failing = HealthReport(
        report.checked_at + timedelta(minutes=5),
        (ProbeResult("recommender", ok=False, error="timed out"), ProbeResult("state", ok=True)),
    )
    await publish(store, failing)  # as the process holding the health lease would
    response = await client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["health"]["probes"]["recommender"]["error"] == "timed out"
