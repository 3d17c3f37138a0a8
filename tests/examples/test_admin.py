"""The admin routes: a wrong token never reaches a handler; sync triggers answer 202."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from examples.chilllink_app.admin import AdminGuard, AdminSecret
from reclio import addons
from reclio.adapters.memory import InMemoryStateStore
from reclio.config import AppConfig

pytestmark = pytest.mark.anyio

TOKEN = "a-token-for-the-guard-alone"  # noqa: S105 - a test value

ROUTES = [
    ("GET", "/admin/recombee/diagnose"),
    ("POST", "/admin/sync/content"),
    ("POST", "/admin/sync/users"),
    ("POST", "/admin/sync/user/ann"),
    ("GET", "/admin/jobs"),
    ("GET", "/admin/jobs/0123456789abcdef"),
    ("GET", "/admin/no/such/route"),
]


class _Recorder:
    """An ASGI app that only records that it was reached."""

    def __init__(self) -> None:
        self.reached = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.reached += 1
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def _call(guard: AdminGuard, headers: list[tuple[bytes, bytes]]) -> int:
    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": "POST", "path": "/sync/content", "headers": headers}
    await guard(scope, receive, send)  # type: ignore[arg-type]
    return int(sent[0]["status"])  # type: ignore[call-overload]


@given(
    given_token=st.binary(max_size=80)
    | st.just(TOKEN.encode())
    | st.just(TOKEN.encode()[:-1])
    | st.just(TOKEN.encode() + b" ")
    | st.just(TOKEN.upper().encode()),
    header=st.sampled_from([b"x-admin-token", b"x-admin-tokens", b"authorization"]),
)
async def test_a_wrong_token_never_reaches_a_handler(given_token: bytes, header: bytes) -> None:
    """Any header value but the token itself (a prefix, a suffix, another case, another
    header) is a 401 and the wrapped app is never called; the token itself passes."""
    inner = _Recorder()
    guard = AdminGuard(inner, lambda _scope: AdminSecret(TOKEN))
    right = header == b"x-admin-token" and given_token == TOKEN.encode()
    assert await _call(guard, [(header, given_token)]) == (204 if right else 401)
    assert inner.reached == int(right)


@given(given_token=st.binary(max_size=80) | st.just(b""))
async def test_without_a_configured_token_nothing_passes(given_token: bytes) -> None:
    """With no admin token configured every request is a 503, whatever it sends."""
    inner = _Recorder()
    guard = AdminGuard(inner, lambda _scope: AdminSecret(None))
    assert await _call(guard, [(b"x-admin-token", given_token)]) == 503
    assert inner.reached == 0


def test_the_secret_never_shows_the_token() -> None:
    """The secret's repr says whether a token is configured, not what it is."""
    assert TOKEN not in repr(AdminSecret(TOKEN))
    assert "configured=True" in repr(AdminSecret(TOKEN))


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_every_admin_route_refuses_a_wrong_token(
    client: httpx.AsyncClient, app: Starlette, admin: str, method: str, path: str
) -> None:
    """Each admin route (and an unknown admin path) is a 401 without the right header,
    and no job was started."""
    for headers in ({}, {"x-admin-token": "wrong"}, {"x-admin-token": admin + "x"}):
        response = await client.request(method, path, headers=headers)
        assert response.status_code == 401
        assert "X-Admin-Token" in response.json()["error"]
    assert app.state.reclio.board.recent() == []


@pytest.mark.parametrize("settings", [AppConfig(scheduler=False)])
@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_admin_is_off_without_a_token(
    client: httpx.AsyncClient, admin: str, method: str, path: str
) -> None:
    """RECLIO_ADMIN_TOKEN unset: every admin route is a 503 naming the variable."""
    response = await client.request(method, path, headers={"x-admin-token": admin})
    assert response.status_code == 503
    assert "RECLIO_ADMIN_TOKEN" in response.json()["error"]


async def _finished(client: httpx.AsyncClient, where: str, admin: str) -> dict[str, object]:
    for _ in range(600):
        job = (await client.get(where, headers={"x-admin-token": admin})).json()
        if job["state"] != "running":
            return job  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)
    pytest.fail(f"{where} still running")


@pytest.mark.parametrize("jobs", [True])
async def test_sync_triggers_run_in_the_background(
    store: InMemoryStateStore, client: httpx.AsyncClient, admin: str
) -> None:
    """POST /admin/sync/content and /admin/sync/user/{id} answer 202 at once with where
    to read progress; the job ends done with the sync's report; a second trigger while
    one runs returns the running job; an unknown user is a 404."""
    headers = {"x-admin-token": admin}
    first = await client.post("/admin/sync/content", headers=headers)
    again = await client.post("/admin/sync/content", headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json()["started"]
    assert not again.json()["started"]
    assert again.json()["job"]["id"] == first.json()["job"]["id"]
    where = first.headers["location"]
    assert where == first.json()["progress_url"] == f"/admin/jobs/{first.json()['job']['id']}"
    job = await _finished(client, where, admin)
    assert job["state"] == "done"
    assert job["result"]["fetched"] > 0  # type: ignore[index]
    assert job["progress"] is not None

    assert (await client.post("/admin/sync/user/nobody", headers=headers)).status_code == 404
    await addons.add_user(store, "demo", base_url="http://app")
    user = await client.post("/admin/sync/user/demo", headers=headers)
    assert user.status_code == 202
    job = await _finished(client, user.headers["location"], admin)
    assert job["state"] == "done", job
    assert job["subject"] == "demo"
    assert (await store.get_user("demo")).last_sync_at is not None  # type: ignore[union-attr]

    sweep = await client.post("/admin/sync/users", headers=headers)
    assert (await _finished(client, sweep.headers["location"], admin))["state"] == "done"
    listed = (await client.get("/admin/jobs", headers=headers)).json()["jobs"]
    assert [j["kind"] for j in listed] == ["user-sweep", "user-sync", "content-sync"]
    assert (await client.get("/admin/jobs/nope", headers=headers)).status_code == 404


async def test_sync_triggers_need_the_sync_side(client: httpx.AsyncClient, admin: str) -> None:
    """A process built to serve feeds only answers the triggers 503, saying why."""
    response = await client.post("/admin/sync/content", headers={"x-admin-token": admin})
    assert response.status_code == 503
    assert "serves feeds only" in response.text


@pytest.mark.parametrize("jobs", [True])
async def test_diagnose_answers_a_verdict(client: httpx.AsyncClient, admin: str) -> None:
    """Without Recombee configured, diagnose says which settings to add (no_credentials
    or sdk_missing), as JSON with next steps."""
    headers = {"x-admin-token": admin}
    body = (await client.get("/admin/recombee/diagnose", headers=headers)).json()
    assert body["verdict"] in ("no_credentials", "sdk_missing")
    assert body["next_steps"]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=30)
@given(token=st.text(max_size=60))
async def test_no_header_value_starts_a_job(
    client: httpx.AsyncClient, app: Starlette, admin: str, token: str
) -> None:
    """Through the whole app: any wrong header value leaves the job board empty."""
    if token == admin:
        return
    value = token.encode("utf-8", "replace").decode("latin-1")
    try:
        response = await client.post("/admin/sync/content", headers={"x-admin-token": value})
    except (httpx.LocalProtocolError, ValueError):
        return  # the client refuses to send such a header at all
    assert response.status_code == 401
    assert app.state.reclio.board.recent() == []
