"""A TMDB stand-in on 127.0.0.1: real HTTP from a routing function, for tests and benchmarks.

`FakeTmdbServer` answers on an ephemeral loopback port (stdlib ``http.server``, one thread
per connection, HTTP/1.1 keep-alive), optionally with a fixed latency per request and a
rate limit that answers 429 with ``Retry-After`` as TMDB does (status_code 25): a token
bucket holding one second of requests, refilled at the rate (so ``requests_per_second``
requests in any second pass, a burst beyond that does not). What each
path answers is up to the ``route`` function, so a test can replay real bodies and a
benchmark can serve a generated catalog::

    def route(path: str, query: Mapping[str, str]) -> Answer:
        return Answer(200, {"results": [], "total_pages": 1})

    with FakeTmdbServer(route, latency=0.05, requests_per_second=40) as server:
        config = TmdbConfig("token", base_url=server.base_url)

Stability: testing (may change between minor versions).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import attrs

from reclio.testing._loopback import LoopbackService

__all__ = ["Answer", "FakeTmdbServer", "Route"]


@attrs.frozen
class Answer:
    """What the server sends for one request: a status and a JSON body."""

    status: int
    body: Any
    headers: Mapping[str, str] = attrs.field(factory=dict)


Route = Callable[[str, Mapping[str, str]], Answer]
"""Answers a request from its path (without the ``/3`` root) and its query parameters."""


class FakeTmdbServer(LoopbackService):
    """TMDB on 127.0.0.1, from ``route``; start it with ``with`` or `start`/`stop`.

    Args:
        route: Answers each request (path without the ``/3`` root, query parameters).
        latency: Seconds each request takes before it is answered.
        requests_per_second: When set, requests beyond this rate (a token bucket holding one
            second's worth) get 429 with ``Retry-After`` (whole seconds, at least 1).

    Attributes:
        requests: Answered requests (429s excluded) per path kind, e.g. ``"movie"`` for
            details, ``"movie/popular"``, ``"movie/changes"``.
        rate_limited: How many requests were answered 429.
        spans: Monotonic times of the first and last answered request of each kind.
    """

    def __init__(
        self,
        route: Route,
        *,
        latency: float = 0.0,
        requests_per_second: float | None = None,
    ) -> None:
        self._route = route
        self._latency = latency
        self._limit = requests_per_second
        self._lock = threading.Lock()
        self._tokens = float(requests_per_second or 0)
        self._refilled = time.monotonic()
        self.requests: Counter[str] = Counter()
        self.rate_limited = 0
        self.first_at: float | None = None
        self.last_at: float | None = None
        self.spans: dict[str, tuple[float, float]] = {}
        super().__init__()

    @property
    def base_url(self) -> str:
        """The API root to configure (``http://127.0.0.1:<port>/3``)."""
        return f"http://127.0.0.1:{self.port}/3"

    @property
    def answered(self) -> int:
        """Requests answered with the route's answer (429s excluded)."""
        return sum(self.requests.values())

    def reset_counts(self) -> None:
        """Forget the counts (between two runs of a benchmark)."""
        with self._lock:
            self.requests.clear()
            self.spans.clear()
            self.rate_limited = 0
            self.first_at = self.last_at = None

    def _make_handler(self) -> type[BaseHTTPRequestHandler]:
        return _handler(self)

    def _answer(self, path: str, query: Mapping[str, str]) -> Answer:
        answer = self._admit(path)
        if self._latency:
            time.sleep(self._latency)
        return answer or self._route(path, query)

    def _admit(self, path: str) -> Answer | None:
        """Count a request on arrival: ``None`` to serve it, or the 429 to send instead."""
        with self._lock:
            now = time.monotonic()
            if self._limit is not None:
                elapsed = now - self._refilled
                self._tokens = min(self._limit, self._tokens + elapsed * self._limit)
                self._refilled = now
                if self._tokens < 1:
                    self.rate_limited += 1
                    wait = (1 - self._tokens) / self._limit
                    return Answer(
                        429,
                        {
                            "success": False,
                            "status_code": 25,
                            "status_message": "Your request count is over the allowed limit.",
                        },
                        {"Retry-After": str(max(1, math.ceil(wait)))},
                    )
                self._tokens -= 1
            kind = _kind(path)
            self.requests[kind] += 1
            self.spans[kind] = (self.spans.get(kind, (now, now))[0], now)
            self.first_at = self.first_at or now
            self.last_at = now
        return None


def _kind(path: str) -> str:
    parts = path.strip("/").split("/")
    if len(parts) == 2 and parts[1].isdigit():  # /movie/603
        return parts[0]
    return "/".join(parts)


def _handler(server: FakeTmdbServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            path = url.path.removeprefix("/3")
            answer = server._answer(path, dict(parse_qsl(url.query)))  # noqa: SLF001
            payload = json.dumps(answer.body).encode()
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib's name
            """Quiet: tests and benchmarks count requests instead of logging them."""

    return Handler
