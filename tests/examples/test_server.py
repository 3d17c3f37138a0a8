"""The example app in a real server: uvicorn on 127.0.0.1, over real sockets.

One uvicorn (an ephemeral port, in a thread, stopped after the module) serves the app on
a SQLite state file. The end-to-end test syncs the embedded demo data through the admin
routes and reads the demo user's addon URL; the fuzz sends hostile paths and query
strings (raw, over http.client) and asserts that none is answered with a 5xx and that
every request routed to /feeds gets a valid 10-feed body. The CI profile runs it with
1,000 examples (one request each).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from examples.chilllink_app import create_app
from reclio import addons, bootstrap, chilllink
from reclio.adapters.sqlite import SqliteStateStore
from reclio.config import AppConfig, ReclioConfig
from reclio.domain import FeedsResponse, TraktListSource
from reclio.feeds import FeedBuilder

uvicorn = pytest.importorskip("uvicorn")

ADMIN = "an-admin-token-for-the-server-test"
FEEDS_PATH = re.compile(r"/feeds|/(?P<token>[^/]+)/feeds")


@attrs.frozen
class Served:
    """A running server: where it listens, and the state file behind it."""

    host: str
    port: int
    state: Path
    token: str

    def request(
        self, method: str, target: str, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """One raw request on a fresh connection: the status and the body."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.putrequest(method, target, skip_accept_encoding=True)
            for name, value in (headers or {}).items():
                conn.putheader(name, value)
            conn.endheaders()
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def job(self, method: str, target: str) -> dict[str, object]:
        """Start an admin job and wait until it is no longer running."""
        status, body = self.request(method, target, {"x-admin-token": ADMIN})
        assert status == 202, body
        where = json.loads(body)["progress_url"]
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            status, body = self.request("GET", where, {"x-admin-token": ADMIN})
            job = json.loads(body)
            if job["state"] != "running":
                return job  # type: ignore[no-any-return]
            time.sleep(0.1)
        pytest.fail(f"{target} did not finish")


async def _add_demo_user(state: Path) -> str:
    store = SqliteStateStore(state)
    try:
        url = await addons.add_user(store, "demo", base_url="http://127.0.0.1")
    finally:
        await store.aclose()
    return url.removeprefix("http://127.0.0.1/").removesuffix("/manifest")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    state = tmp_path_factory.mktemp("server") / "state.sqlite3"
    token = asyncio.run(_add_demo_user(state))
    settings = AppConfig(admin_token=ADMIN, scheduler=False)
    config = attrs.evolve(ReclioConfig.embedded_default(state), app=settings)
    app = create_app(config, build=lambda c: bootstrap.build(c, world_users=30))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Served("127.0.0.1", port, state, token)
    finally:
        server.should_exit = True
        thread.join(timeout=60)
    assert not thread.is_alive(), "uvicorn did not stop"


def _ten_feeds(body: bytes) -> FeedsResponse:
    response = chilllink.loads(body.decode())
    assert len(response.feeds) == 10
    return response


async def _built_in_process(state: Path) -> str:
    store = SqliteStateStore(state, read_only=True)
    try:
        return chilllink.dumps(await FeedBuilder(store).build("demo"))
    finally:
        await store.aclose()


def test_the_demo_user_reads_their_addon_url_over_a_socket(served: Served) -> None:
    """After content sync and the demo user's sync (started through the admin routes),
    /{token}/feeds over a real socket is the demo user's body, byte for byte what the
    builder makes of the stored state; an unknown token gets the non-personal layout."""
    content = served.job("POST", "/admin/sync/content")
    assert content["state"] == "done", content
    user = served.job("POST", "/admin/sync/user/demo")
    assert user["state"] == "done", user

    status, manifest = served.request("GET", f"/{served.token}/manifest")
    assert status == 200
    assert json.loads(manifest)["supported_endpoints"]["feeds"] == "/feeds"
    status, body = served.request("GET", f"/{served.token}/feeds")
    assert status == 200
    feeds = _ten_feeds(body).feeds
    assert any(isinstance(feed.source, TraktListSource) for feed in feeds)
    assert body.decode() == asyncio.run(_built_in_process(served.state))

    status, other = served.request("GET", f"/{'x' * 43}/feeds")
    assert status == 200
    assert other != body
    assert not any(isinstance(f.source, TraktListSource) for f in _ten_feeds(other).feeds)
    status, health = served.request("GET", "/healthz")
    assert (status, json.loads(health)["status"]) == (200, "ok")


_SAFE = "".join(chr(c) for c in range(33, 127) if chr(c) not in "#?")
_segments = st.one_of(
    st.text(alphabet=_SAFE, max_size=80),
    st.text(alphabet="ABCabc0189-_", min_size=16, max_size=130),
    st.builds(lambda s: urllib.parse.quote(s, safe=""), st.text(max_size=40)),
    st.sampled_from(["admin", "healthz", "feeds", "manifest", "%2F", "%00", "..", "%ZZ"]),
)
_query_parts = st.one_of(
    st.text(alphabet=_SAFE + "?", max_size=200),
    st.builds(lambda s: "user_id=" + urllib.parse.quote(s), st.text(max_size=300)),
    st.builds(lambda s: "last_watched=" + s, st.text(alphabet=_SAFE, max_size=60)),
    st.sampled_from(["last_watched=movie:603", "last_watched=show:1399", "%E0%A4%A", "a" * 3000]),
)
_targets = st.one_of(
    st.builds(lambda s: f"/{s}/feeds", _segments),
    st.just("/feeds"),
    st.builds(lambda s: f"/{s}/manifest", _segments),
    st.builds(lambda a, b: f"/{a}/{b}", _segments, _segments),
    st.builds(lambda s: f"/admin/{s}", _segments),
)


@given(
    target=st.one_of(st.just("/feeds"), st.builds(lambda s: f"/{s}/feeds", _segments)),
    query=st.lists(_query_parts, max_size=5).map("&".join),
)
def test_feeds_always_answer_ten_feeds(served: Served, target: str, query: str) -> None:
    """Any token segment and any query string: a GET that routes to /feeds (or
    /{token}/feeds) is a 200 with a valid 10-feed body, every time."""
    full = f"{target}?{query}" if query else target
    status, body = served.request("GET", full)
    assert status < 500, (full, status, body[:200])
    routed = FEEDS_PATH.fullmatch(urllib.parse.unquote(target))
    if routed and routed["token"] != "admin":  # noqa: S105 - /admin/feeds is the admin mount
        event("routed to feeds")
        assert status == 200, (full, status, body[:200])
        _ten_feeds(body)


@given(
    method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"]),
    target=_targets,
    query=st.lists(_query_parts, max_size=5).map("&".join),
)
def test_no_request_is_a_5xx(served: Served, method: str, target: str, query: str) -> None:
    """Hostile paths, methods and query strings anywhere: never a 5xx; admin paths
    without the token are refused before any handler."""
    full = f"{target}?{query}" if query else target
    status, body = served.request(method, full)
    assert status < 500, (full, status, body[:200])
    if urllib.parse.unquote(target).startswith("/admin/"):
        assert status == 401, (full, status)
