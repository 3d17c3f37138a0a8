"""The shared HTTP policy (reclio.adapters._http) on httpx.MockTransport; no network, no sleep."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reclio.adapters._http import (
    RateLimiter,
    Reply,
    RestClient,
    body_page_count,
    header_page_count,
    iter_pages,
    parse_retry_after,
)
from reclio.config import HttpPolicy
from reclio.errors import (
    AccountLimitExceeded,
    AuthenticationError,
    ConfigurationError,
    DecodeError,
    RateLimited,
    SourceError,
    SourceTimeout,
    SourceUnavailable,
)

POLICY = HttpPolicy(max_attempts=4, backoff_initial=0.5, backoff_max=30.0)
SECRET = "s3cret-value-that-must-not-leak"  # noqa: S105 - a test value


class FakeTime:
    """A monotonic clock that moves only when something sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def make_client(handler, *, policy=POLICY, time=None, **options):
    time = time or FakeTime()
    limiter = RateLimiter(
        "svc",
        requests_per_second=10_000,
        max_concurrency=options.pop("max_concurrency", 4),
        clock=time,
        sleep=time.sleep,
    )
    client = RestClient(
        service="svc",
        base_url="https://api.example.test/3/",
        policy=policy,
        limiter=limiter,
        transport=httpx.MockTransport(handler),
        auth_hint="check RECLIO_SVC_TOKEN",
        sleep=time.sleep,
        **options,
    )
    return client, time


def answering(*responses):
    """A handler that answers each call with the next response and records the requests."""
    seen: list[httpx.Request] = []
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        return item

    handler.seen = seen  # type: ignore[attr-defined]
    return handler


@pytest.mark.anyio
async def test_request_shape_user_agent_timeout_and_base_url():
    """Paths join the base URL; User-Agent, Accept, extra headers and the deadline are sent."""
    handler = answering(httpx.Response(200, json={"ok": True}))
    client, _ = make_client(handler, headers={"Authorization": "Bearer t"})

    reply = await client.get("/movie/603", operation="get_title", params={"page": 2})

    assert isinstance(reply, Reply)
    assert reply.body == {"ok": True}
    (request,) = handler.seen
    assert str(request.url) == "https://api.example.test/3/movie/603?page=2"
    assert request.headers["User-Agent"] == POLICY.user_agent
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Authorization"] == "Bearer t"
    timeout = request.extensions["timeout"]
    assert timeout["connect"] == POLICY.connect_timeout
    assert timeout["read"] == POLICY.read_timeout


TRANSPORT_ERRORS = [
    (httpx.ConnectError("refused"), SourceUnavailable, True),
    (httpx.ReadError("reset"), SourceUnavailable, True),
    (httpx.WriteError("broken pipe"), SourceUnavailable, True),
    (httpx.CloseError("close"), SourceUnavailable, True),
    (httpx.RemoteProtocolError("garbage"), SourceUnavailable, True),
    (httpx.LocalProtocolError("bad"), SourceUnavailable, True),
    (httpx.ProxyError("proxy"), SourceUnavailable, True),
    (httpx.ConnectTimeout("slow"), SourceTimeout, True),
    (httpx.ReadTimeout("slow"), SourceTimeout, True),
    (httpx.WriteTimeout("slow"), SourceTimeout, True),
    (httpx.PoolTimeout("slow"), SourceTimeout, True),
    (httpx.TooManyRedirects("loop"), SourceUnavailable, True),
    (httpx.DecodingError("bad gzip"), DecodeError, False),
    (httpx.UnsupportedProtocol("ftp"), SourceError, False),
    (httpx.InvalidURL("bad url"), SourceError, False),
    (httpx.StreamConsumed(), SourceError, False),
]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("exc", "expected", "retried"), TRANSPORT_ERRORS, ids=lambda v: type(v).__name__
)
async def test_every_httpx_exception_is_mapped(exc, expected, retried):
    """Each httpx exception becomes the right SourceError; only transient ones are retried."""
    handler = answering(exc)
    client, _ = make_client(handler)

    with pytest.raises(expected) as info:
        await client.get("/x", operation="op")

    assert type(info.value) is expected
    assert (info.value.service, info.value.operation) == ("svc", "op")
    assert isinstance(info.value.__cause__, type(exc))
    assert len(handler.seen) == (POLICY.max_attempts if retried else 1)


STATUSES = [
    (400, SourceError, False),
    (401, AuthenticationError, False),
    (403, AuthenticationError, False),
    (404, SourceError, False),
    (405, SourceError, False),
    (409, SourceError, False),
    (420, AccountLimitExceeded, False),
    (422, SourceError, False),
    (423, AuthenticationError, False),
    (426, AccountLimitExceeded, False),
    (429, RateLimited, True),
    (500, SourceUnavailable, True),
    (502, SourceUnavailable, True),
    (503, SourceUnavailable, True),
    (504, SourceUnavailable, True),
    (520, SourceUnavailable, True),
    (521, SourceUnavailable, True),
    (522, SourceUnavailable, True),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("status", "expected", "retried"), STATUSES)
async def test_every_status_is_mapped(status, expected, retried):
    """Each error status maps to one SourceError kind; 5xx and 429 are retried, no 4xx else."""
    handler = answering(httpx.Response(status, text="<html>cloudflare</html>"))
    client, _ = make_client(handler)

    with pytest.raises(expected) as info:
        await client.get("/x", operation="op")

    assert type(info.value) is expected
    assert f"HTTP {status}" in str(info.value)
    assert len(handler.seen) == (POLICY.max_attempts if retried else 1)


@pytest.mark.anyio
async def test_authentication_error_names_the_fix_and_the_service_message():
    """A 401 says what the service said and how to fix the credentials."""
    body = {"success": False, "status_code": 7, "status_message": "Invalid API key."}
    client, _ = make_client(answering(httpx.Response(401, json=body)))

    with pytest.raises(AuthenticationError) as info:
        await client.get("/x", operation="op")

    assert "Invalid API key." in str(info.value)
    assert "RECLIO_SVC_TOKEN" in str(info.value)


@pytest.mark.anyio
async def test_account_limit_reports_the_limit():
    """A 420 carries the account's limit from X-Account-Limit."""
    response = httpx.Response(420, headers={"X-Account-Limit": "5"})
    client, _ = make_client(answering(response))

    with pytest.raises(AccountLimitExceeded, match="limit 5"):
        await client.get("/x", operation="op")


@pytest.mark.anyio
async def test_missing_ok_turns_404_into_none_without_retry():
    """With missing_ok a 404 is None (absence is data), asked once."""
    handler = answering(httpx.Response(404, json={"status_code": 34}))
    client, _ = make_client(handler)

    assert await client.get("/x", operation="op", missing_ok=True) is None
    assert len(handler.seen) == 1


@pytest.mark.anyio
async def test_retry_after_pauses_the_limiter_then_succeeds():
    """A 429 with Retry-After holds requests for exactly that long, then the retry succeeds."""
    handler = answering(
        httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, json=[1])
    )
    client, time = make_client(handler)

    reply = await client.get("/x", operation="op")

    assert reply is not None
    assert reply.body == [1]
    assert len(handler.seen) == 2
    assert [s for s in time.sleeps if s] == [7.0]  # tenacity itself waits 0 s


@pytest.mark.anyio
async def test_retry_after_holds_every_task_of_the_process():
    """While one task's 429 pause runs, another task's request waits too (a shared limiter)."""
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append((request.url.path, time.now))
        if request.url.path == "/3/first" and len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "3"})
        return httpx.Response(200, json={})

    client, time = make_client(handler)
    await client.get("/first", operation="op")
    await client.get("/second", operation="op")

    # The second request started only after the pause: the limiter, not the task, waited.
    assert calls[-1][1] >= 1000.0 + 3.0
    client.limiter.pause(5)
    start = time.now
    await client.get("/third", operation="op")
    assert time.now - start == pytest.approx(5.0)


@pytest.mark.anyio
async def test_retry_after_longer_than_backoff_max_is_raised_not_waited():
    """A Retry-After beyond backoff_max fails at once, carrying the wait."""
    handler = answering(httpx.Response(429, headers={"Retry-After": "3600"}))
    client, time = make_client(handler)

    with pytest.raises(RateLimited) as info:
        await client.get("/x", operation="op")

    assert info.value.retry_after == 3600.0
    assert len(handler.seen) == 1
    assert time.sleeps == []


@pytest.mark.anyio
async def test_backoff_is_exponential_with_jitter():
    """Waits between tries double from backoff_initial, each with up to one initial of jitter."""
    handler = answering(httpx.Response(503))
    client, time = make_client(handler)

    with pytest.raises(SourceUnavailable):
        await client.get("/x", operation="op")

    assert len(time.sleeps) == POLICY.max_attempts - 1
    for n, wait in enumerate(time.sleeps):
        base = POLICY.backoff_initial * 2**n
        assert base <= wait <= base + POLICY.backoff_initial


@pytest.mark.anyio
async def test_retry_false_tries_once():
    """retry=False (non-idempotent writes) makes exactly one try."""
    handler = answering(httpx.Response(503))
    client, _ = make_client(handler)

    with pytest.raises(SourceUnavailable):
        await client.request("POST", "/x", operation="op", json={"a": 1}, retry=False)

    assert len(handler.seen) == 1


@pytest.mark.anyio
async def test_a_transient_failure_then_success_returns_the_success():
    """A 502 followed by a 200 returns the 200's body."""
    handler = answering(httpx.Response(502), httpx.Response(200, json={"n": 1}))
    client, _ = make_client(handler)

    reply = await client.get("/x", operation="op")

    assert reply is not None
    assert reply.body == {"n": 1}


@pytest.mark.anyio
@pytest.mark.parametrize("body", [b"<html>oops</html>", b"{not json", b"\xff\xfe"])
async def test_a_body_that_is_not_json_is_a_decode_error(body):
    """A 200 whose body is not JSON is a DecodeError, not retried."""
    handler = answering(httpx.Response(200, content=body))
    client, _ = make_client(handler)

    with pytest.raises(DecodeError):
        await client.get("/x", operation="op")
    assert len(handler.seen) == 1


@pytest.mark.anyio
async def test_empty_body_is_none():
    """A 204 or empty 200 decodes to None."""
    client, _ = make_client(answering(httpx.Response(204)))
    reply = await client.get("/x", operation="op")
    assert reply is not None
    assert reply.body is None


@pytest.mark.anyio
async def test_deadline_per_try_is_a_timeout():
    """A try that outlives policy.deadline is cut and reported as SourceTimeout."""

    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200)

    policy = HttpPolicy(connect_timeout=0.01, read_timeout=0.01, max_attempts=1)
    client, _ = make_client(slow, policy=policy)

    with pytest.raises(SourceTimeout, match=r"no answer within 0\.02 s"):
        await client.get("/x", operation="op")


@pytest.mark.anyio
async def test_concurrency_is_bounded():
    """No more than max_concurrency requests are ever in flight at once."""
    in_flight = 0
    peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        for _ in range(3):
            await asyncio.sleep(0)
        in_flight -= 1
        return httpx.Response(200, json={})

    client, _ = make_client(handler, max_concurrency=2)
    await asyncio.gather(*(client.get(f"/{n}", operation="op") for n in range(12)))

    assert peak == 2


def test_one_limiter_serves_several_event_loops():
    """A limiter made once at start-up works under successive asyncio.run calls."""
    limiter = RateLimiter("svc", requests_per_second=1000, max_concurrency=2)

    async def use() -> None:
        for _ in range(3):
            async with limiter.slot():
                pass

    asyncio.run(use())
    asyncio.run(use())


@pytest.mark.anyio
async def test_query_secret_reaches_the_wire_only(caplog):
    """A URL secret is on the wire, never in a log record (httpx's included) or an error."""
    caplog.set_level(logging.DEBUG)
    handler = answering(
        httpx.Response(200, json={}), httpx.Response(500, json={"message": f"bad {SECRET}"})
    )
    client, _ = make_client(
        handler, query_secret=("api_key", SECRET), policy=HttpPolicy(max_attempts=1)
    )

    await client.get("/x", operation="op", params={"page": 1})
    with pytest.raises(SourceUnavailable) as info:
        await client.get("/y", operation="op")

    assert handler.seen[0].url.params["api_key"] == SECRET
    assert SECRET not in str(info.value)
    assert "***" in str(info.value)
    assert any("HTTP Request" in r.getMessage() for r in caplog.records)
    assert all(SECRET not in r.getMessage() for r in caplog.records)
    assert SECRET not in repr(client)


def test_a_url_secret_refuses_an_injected_client():
    """httpx would log a URL secret, so it needs reclio's own client."""
    limiter = RateLimiter("svc", requests_per_second=1, max_concurrency=1)
    with pytest.raises(ConfigurationError, match="transport="):
        RestClient(
            service="svc",
            base_url="https://x.test",
            policy=POLICY,
            limiter=limiter,
            client=httpx.AsyncClient(),
            query_secret=("api_key", SECRET),
        )


@pytest.mark.anyio
async def test_injected_client_is_used_and_left_open():
    """An injected client sends the requests and is not closed by aclose."""
    handler = answering(httpx.Response(200, json={}))
    injected = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    limiter = RateLimiter("svc", requests_per_second=1000, max_concurrency=1)
    client = RestClient(
        service="svc", base_url="https://x.test", policy=POLICY, limiter=limiter, client=injected
    )

    await client.get("/a", operation="op")
    await client.aclose()

    assert len(handler.seen) == 1
    assert not injected.is_closed
    await injected.aclose()


# -- Retry-After parsing ---------------------------------------------------------------------


@given(st.integers(min_value=0, max_value=10**6))
def test_retry_after_seconds_round_trip(seconds):
    """Delay-seconds read back as the same number of seconds."""
    assert parse_retry_after(str(seconds)) == float(seconds)


@given(st.integers(min_value=0, max_value=10**5))
def test_retry_after_http_date(seconds):
    """An HTTP date reads as the seconds from now until then (never negative)."""
    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=seconds), usegmt=True)
    assert parse_retry_after(header, now=now) == pytest.approx(seconds)
    assert parse_retry_after(format_datetime(now - timedelta(seconds=5), usegmt=True), now=now) == 0


@pytest.mark.parametrize("value", [None, "", "soon", "nan", "inf", "-"])
def test_unreadable_retry_after_is_none(value):
    """An absent or unreadable Retry-After is None (the backoff decides)."""
    assert parse_retry_after(value) is None


# -- pagination ------------------------------------------------------------------------------


def reply(body, **headers) -> Reply:
    return Reply(200, httpx.Headers(headers), body)


async def collect(pages, page_count, **options):
    asked = []

    async def fetch(page: int):
        asked.append(page)
        return pages.get(page)

    got = [r.body async for r in iter_pages(fetch, page_count, **options)]
    return asked, got


@pytest.mark.anyio
async def test_header_paging_reads_until_the_page_count():
    """Trakt style: pages 1..X-Pagination-Page-Count, read from each reply."""
    pages = {n: reply([n], **{"X-Pagination-Page-Count": "3"}) for n in range(1, 6)}
    asked, got = await collect(pages, header_page_count)
    assert asked == [1, 2, 3]
    assert got == [[1], [2], [3]]


@pytest.mark.anyio
async def test_body_paging_stops_at_total_pages_empty_page_or_cap():
    """TMDB style: total_pages from the body; an empty page or the cap ends it early."""
    full = {n: reply({"results": [n], "total_pages": 4}) for n in range(1, 6)}
    assert (await collect(full, body_page_count))[0] == [1, 2, 3, 4]
    assert (await collect(full, body_page_count, last=2))[0] == [1, 2]
    short = {
        1: reply({"results": [1], "total_pages": 4}),
        2: reply({"results": [], "total_pages": 4}),
    }
    asked, got = await collect(short, body_page_count)
    assert asked == [1, 2]
    assert got == [{"results": [1], "total_pages": 4}]


@pytest.mark.anyio
async def test_without_a_page_count_only_one_page_is_read():
    """A reply that says nothing about pages is the only page read."""
    pages = {1: reply([1]), 2: reply([2])}
    assert (await collect(pages, header_page_count))[0] == [1]
    bad = {1: reply([1], **{"X-Pagination-Page-Count": "many"})}
    assert (await collect(bad, header_page_count))[0] == [1]
