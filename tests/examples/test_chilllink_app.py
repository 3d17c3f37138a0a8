"""The example ChillLink app answers /manifest and /feeds, and never /feeds with a 5xx."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from reclio import chilllink
from reclio.adapters.memory import InMemoryStateStore
from reclio.domain import Anchor, ItemRef, UserState
from reclio.errors import SourceUnavailable
from reclio.testing.faults import FaultPlan, FlakyStateStore

pytest.importorskip("starlette")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from starlette.applications import Starlette

from examples.chilllink_app import create_app

pytestmark = pytest.mark.anyio


@pytest.fixture
def store() -> InMemoryStateStore:
    return InMemoryStateStore()


@pytest.fixture
def plan() -> FaultPlan:
    return FaultPlan()


@pytest.fixture
def app(store: InMemoryStateStore, plan: FaultPlan) -> Starlette:
    return create_app(FlakyStateStore(store, plan))


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as http,
    ):
        yield http


async def test_manifest(client: httpx.AsyncClient) -> None:
    """/manifest announces the feeds endpoint."""
    body = (await client.get("/manifest")).json()
    assert body["supported_endpoints"]["feeds"] == "/feeds"


async def test_feeds_for_a_known_user(store: InMemoryStateStore, client: httpx.AsyncClient) -> None:
    """/feeds returns the user's ten feeds, with the Because You Watched anchor in the id."""
    anchor = Anchor(ItemRef.movie(603), "The Matrix")
    await store.put_user(UserState("u1", last_watched_movie=anchor))
    response = await client.get("/feeds", params={"user_id": "u1"})
    assert response.status_code == 200
    feeds = chilllink.loads(response.text).feeds
    assert len(feeds) == 10
    assert feeds[3].id == "because_watched_movie_tmdb_603"


@pytest.mark.parametrize(
    "params",
    [{}, {"user_id": "x" * 10_000}, {"user_id": "u", "last_watched": "garbage" * 100}],
)
async def test_odd_requests_still_get_ten_feeds(
    client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    """Missing, huge or malformed parameters never turn into an error response."""
    response = await client.get("/feeds", params=params)
    assert response.status_code == 200
    assert len(chilllink.loads(response.text).feeds) == 10


async def test_broken_store_is_not_a_5xx(plan: FaultPlan, client: httpx.AsyncClient) -> None:
    """A store failure is served by the non-personal layout with status 200."""
    error = SourceUnavailable("down", service="memory", operation="get_user")
    plan.fail("store.get_user", error)
    response = await client.get("/feeds", params={"user_id": "u"})
    assert response.status_code == 200
    assert len(chilllink.loads(response.text).feeds) == 10


async def test_healthz_follows_the_store(
    store: InMemoryStateStore, plan: FaultPlan, client: httpx.AsyncClient
) -> None:
    """/healthz is degraded for a store that holds nobody (a mistyped state path), 200
    while the store answers with users in it, 503 when its ping fails."""
    empty = await client.get("/healthz")
    assert empty.status_code == 503
    assert "holds no users" in empty.json()["store"]
    await store.put_user(UserState("u1"))
    assert (await client.get("/healthz")).json() == {"status": "ok", "users": 1}
    error = SourceUnavailable("down", service="memory", operation="ping")
    plan.fail("store.ping", error)
    response = await client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "degraded"


async def test_feed_requests_are_counted(
    store: InMemoryStateStore, app: Starlette, client: httpx.AsyncClient
) -> None:
    """Each /feeds request of a known user is counted (it drives the sync cadence), in
    memory first and then in one batch; requests for unknown ids make no rows."""
    await store.put_user(UserState("u1"))
    for _ in range(3):
        await client.get("/feeds", params={"user_id": "u1"})
    for n in range(5):
        await client.get("/feeds", params={"user_id": f"random-{n}"})
    since = datetime.now(UTC) - timedelta(minutes=1)
    assert await store.feed_requests_since("u1", since) == 0  # nothing written per request
    assert await app.state.runtime.feed_requests.flush() == 3
    assert await store.feed_requests_since("u1", since) == 3
    assert await store.feed_requests_since("random-0", since) == 0


async def test_a_bug_behind_feeds_is_not_a_5xx(
    plan: FaultPlan, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Even a non-SourceError (a bug) is logged and answered with the non-personal layout."""
    plan.fail("store.get_user", RuntimeError("bug"))
    response = await client.get("/feeds", params={"user_id": "u"})
    assert response.status_code == 200
    assert len(chilllink.loads(response.text).feeds) == 10
    assert "answering the non-personal layout" in caplog.text
