"""The HTTP client every REST adapter holds: deadlines, retries, one budget, one choke point."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any

import attrs
import httpx
import tenacity

from reclio.adapters._http._limiter import RateLimiter
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
from reclio.settings import HttpPolicy

__all__ = ["Reply", "RestClient", "parse_retry_after"]

_log = logging.getLogger("reclio.adapters.http")

_DETAIL_KEYS = ("status_message", "error_description", "error", "message")
_MAX_DETAIL = 200

Params = Mapping[str, str | int | float]

StatusError = Callable[[httpx.Response, str], SourceError | None]
"""A service's own reading of a failed response: the error it means, or ``None`` for the
generic table. Called with the response and the operation, for non-2xx statuses only."""

Slot = Callable[[], AbstractAsyncContextManager[None]]
"""A further gate one request passes on every try (e.g. a per-user write spacing)."""


@attrs.frozen
class Reply:
    """A successful answer: status, headers (case-insensitive) and the decoded JSON body.

    Attributes:
        status: The HTTP status (2xx).
        headers: The response headers.
        body: The decoded JSON, or ``None`` for an empty body.
    """

    status: int
    headers: httpx.Headers
    body: Any


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delay-seconds or an HTTP date).

    Returns ``None`` when the header is absent or unreadable, never a negative number.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(seconds, 0.0)


class _QuerySecret(httpx.AsyncBaseTransport):
    """Adds a secret query parameter below the client, on a copy of each request.

    httpx logs ``request.url`` (at INFO) and reclio builds messages from requests; neither
    ever sees the copy, so a key that must travel in the URL stays out of logs and errors.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, name: str, value: str) -> None:
        self._inner = inner
        self._name = name
        self._value = value

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        wire = httpx.Request(
            request.method,
            request.url.copy_merge_params({self._name: self._value}),
            headers=request.headers,
            stream=request.stream,
            extensions=request.extensions,
        )
        return await self._inner.handle_async_request(wire)

    async def aclose(self) -> None:
        await self._inner.aclose()


class RestClient:
    """An HTTP/JSON client with reclio's one HTTP policy (DESIGN section 9).

    Every request: waits for the service's shared `RateLimiter` (rate, concurrency,
    ``Retry-After`` pauses); carries the ``User-Agent`` and the adapter's headers; has a
    deadline of ``policy.deadline`` seconds per try; is retried with jittered exponential
    backoff (``tenacity``) on transport errors, timeouts, 5xx (Cloudflare's 520-522 among
    them) and 429, up to ``policy.max_attempts`` tries; and is never retried on any other
    status. A 429 pauses the whole limiter for its ``Retry-After`` (unless ``pauses``
    says the limit was the caller's own, e.g. one user's); one longer than
    ``policy.backoff_max`` is not waited for but raised.

    Every failure leaves through one choke point (`_translate` and `_status_error`) as a
    reclio `SourceError`; httpx exceptions never escape.

    Stability: internal to reclio's adapters.

    Args:
        service: The service name carried by every error, e.g. ``"tmdb"``.
        base_url: The API root; request paths are appended to it.
        policy: Timeouts, retries, ``User-Agent``.
        limiter: The service's process-wide budget.
        client: An ``httpx.AsyncClient`` to send through (shared or a test's); not closed
            by `aclose`. Cannot carry a query secret (httpx would log it).
        transport: The transport of the client built here when ``client`` is not given
            (tests pass ``httpx.MockTransport``); closed by `aclose`.
        headers: Sent on every request (authentication headers go here).
        query_secret: ``(name, value)`` of a secret query parameter (TMDB's v3 ``api_key``).
        secrets: Strings scrubbed from every error message.
        auth_hint: Appended to authentication errors: how to fix the credentials.
        status_error: The service's own mapping of failed responses, consulted before the
            generic table (Trakt tells a Cloudflare block from a refused app).
        pauses: Whether a 429 pauses the whole limiter (default: always); when it does not,
            only the refused request waits its ``Retry-After``.
        sleep: Awaitable sleep between tries (tests pass a fake).

    Raises:
        ConfigurationError: ``client`` and ``query_secret`` are both given.
    """

    def __init__(
        self,
        *,
        service: str,
        base_url: str,
        policy: HttpPolicy,
        limiter: RateLimiter,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        query_secret: tuple[str, str] | None = None,
        secrets: Sequence[str] = (),
        auth_hint: str = "check the credentials",
        status_error: StatusError | None = None,
        pauses: Callable[[httpx.Response], bool] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if client is not None and query_secret is not None:
            msg = (
                f"{service}: a key sent in the URL needs reclio's own client (httpx logs"
                " URLs): pass transport= instead of client=, or use a bearer token"
            )
            raise ConfigurationError(msg)
        self.service = service
        self._base = base_url.rstrip("/")
        self._policy = policy
        self._limiter = limiter
        self._headers = {
            "User-Agent": policy.user_agent,
            "Accept": "application/json",
            **(headers or {}),
        }
        self._secrets = tuple(
            s for s in (*secrets, *(query_secret[1:] if query_secret else ())) if s
        )
        self._auth_hint = auth_hint
        self._status_error_hook = status_error
        self._pauses = pauses
        self._sleep = sleep
        # Exponential from backoff_initial, capped at backoff_max, plus up to one
        # backoff_initial of jitter so tasks refused together do not return together.
        self._backoff = tenacity.wait_exponential(
            multiplier=policy.backoff_initial, max=policy.backoff_max
        ) + tenacity.wait_random(0, policy.backoff_initial)
        self._timeout = httpx.Timeout(
            connect=policy.connect_timeout,
            read=policy.read_timeout,
            write=policy.read_timeout,
            pool=policy.deadline,
        )
        self._owns_client = client is None
        if client is None:
            wire: httpx.AsyncBaseTransport = transport or httpx.AsyncHTTPTransport(
                limits=httpx.Limits(
                    max_connections=limiter.max_concurrency,
                    max_keepalive_connections=limiter.max_concurrency,
                )
            )
            if query_secret is not None:
                wire = _QuerySecret(wire, *query_secret)
            client = httpx.AsyncClient(transport=wire, timeout=self._timeout)
        self._client = client

    def __repr__(self) -> str:
        return f"RestClient({self.service!r}, {self._base!r})"

    @property
    def limiter(self) -> RateLimiter:
        """The budget every request of this client waits for."""
        return self._limiter

    async def aclose(self) -> None:
        """Close the client built here (an injected client is its owner's to close)."""
        if self._owns_client:
            await self._client.aclose()

    async def get(
        self,
        path: str,
        *,
        operation: str,
        params: Params | None = None,
        missing_ok: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> Reply | None:
        """GET ``path`` and decode its JSON.

        Args:
            path: Appended to the base URL, e.g. ``"/movie/603"``.
            operation: What reclio is doing, carried by every error (``"get_title"``).
            params: Query parameters.
            missing_ok: Return ``None`` for a 404 instead of raising.
            headers: Sent with this request only (e.g. one user's bearer token).

        Returns:
            The reply, or ``None`` for a 404 when ``missing_ok``.

        Raises:
            SourceError: as mapped by the choke point (see the class docstring).
        """
        return await self.request(
            "GET", path, operation=operation, params=params, missing_ok=missing_ok, headers=headers
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        params: Params | None = None,
        json: object = None,
        missing_ok: bool = False,
        retry: bool = True,
        headers: Mapping[str, str] | None = None,
        accept: Collection[int] = (),
        slot: Slot | None = None,
    ) -> Reply | None:
        """Send one request under the policy; ``retry=False`` makes one try only.

        Args:
            method: The HTTP method.
            path: Appended to the base URL.
            operation: What reclio is doing, carried by every error.
            params: Query parameters.
            json: The JSON body.
            missing_ok: Return ``None`` for a 404 instead of raising.
            retry: Retry under the policy (``False``: a request that must not be repeated,
                such as one creating something).
            headers: Sent with this request only, over the client's own.
            accept: Statuses returned as a `Reply` (body decoded when it is JSON) instead of
                mapped to an error, and never retried (an OAuth poll's "pending").
            slot: Entered on every try before the limiter (a per-user write spacing).

        Raises:
            SourceError: as mapped by the choke point (see the class docstring).
        """
        retrying = tenacity.AsyncRetrying(
            stop=tenacity.stop_after_attempt(self._policy.max_attempts if retry else 1),
            wait=self._wait,
            retry=tenacity.retry_if_exception(self._retryable),
            sleep=self._sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        reply: Reply | None = await retrying(
            self._once,
            method,
            path,
            operation=operation,
            params=params,
            json=json,
            missing_ok=missing_ok,
            headers=headers,
            accept=accept,
            slot=slot,
        )
        return reply

    # -- one try -----------------------------------------------------------------------------

    async def _once(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        params: Params | None,
        json: object,
        missing_ok: bool,
        headers: Mapping[str, str] | None,
        accept: Collection[int],
        slot: Slot | None,
    ) -> Reply | None:
        sent = {**self._headers, **headers} if headers else self._headers
        async with slot() if slot is not None else nullcontext(), self._limiter.slot():
            _log.debug("%s %s %s", self.service, method, path)
            with self._translate(operation):
                async with asyncio.timeout(self._policy.deadline):
                    response = await self._client.request(
                        method,
                        self._base + path,
                        params=params,
                        json=json,
                        headers=sent,
                        timeout=self._timeout,
                    )
        if response.status_code == httpx.codes.NOT_FOUND and missing_ok:
            return None
        if response.status_code in accept:
            return Reply(response.status_code, response.headers, _lenient_json(response))
        error = self._status_error(response, operation)
        if error is not None:
            pauses = self._pauses is None or self._pauses(response)
            if isinstance(error, RateLimited) and error.retry_after is not None and pauses:
                self._limiter.pause(error.retry_after)
            raise error
        return Reply(response.status_code, response.headers, self._decode(response, operation))

    # -- the choke point ---------------------------------------------------------------------

    @contextmanager
    def _translate(self, operation: str) -> Iterator[None]:
        """Map every exception httpx (or the deadline) can raise to a `SourceError`."""
        kind = self.service
        try:
            yield
        except (httpx.TimeoutException, TimeoutError) as exc:
            msg = f"no answer within {self._policy.deadline:g} s ({type(exc).__name__})"
            raise SourceTimeout(msg, service=kind, operation=operation) from exc
        except httpx.DecodingError as exc:
            msg = f"the response body could not be decoded: {self._scrub(str(exc))}"
            raise DecodeError(msg, service=kind, operation=operation, errors=[msg]) from exc
        except httpx.UnsupportedProtocol as exc:
            msg = f"cannot reach {self._base!r}: {self._scrub(str(exc))}; check the base URL"
            raise SourceError(msg, service=kind, operation=operation) from exc
        except (httpx.TransportError, httpx.TooManyRedirects) as exc:
            msg = f"cannot reach the service: {type(exc).__name__}: {self._scrub(str(exc))}"
            raise SourceUnavailable(msg, service=kind, operation=operation) from exc
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
            msg = f"the request failed: {type(exc).__name__}: {self._scrub(str(exc))}"
            raise SourceError(msg, service=kind, operation=operation) from exc

    def _status_error(  # noqa: PLR0911 - one return per row of the status table
        self, response: httpx.Response, operation: str
    ) -> SourceError | None:
        """The error a non-2xx status means, or ``None`` for success."""
        status = response.status_code
        if httpx.codes.is_success(status):
            return None
        if self._status_error_hook is not None:
            own = self._status_error_hook(response, operation)
            if own is not None:
                return own
        kind, detail = self.service, self._detail(response)
        if status in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
            msg = f"credentials refused (HTTP {status}{detail}); {self._auth_hint}"
            return AuthenticationError(msg, service=kind, operation=operation)
        if status == httpx.codes.LOCKED:
            msg = f"the account is locked (HTTP 423{detail}); its owner must contact {kind}"
            return AuthenticationError(msg, service=kind, operation=operation)
        if status == 420:  # noqa: PLR2004 - Trakt's account limit, not in the HTTP registry
            limit = response.headers.get("X-Account-Limit")
            held = f", limit {limit}" if limit else ""
            msg = f"the account may not hold more (HTTP 420{held}{detail})"
            return AccountLimitExceeded(msg, service=kind, operation=operation)
        if status == httpx.codes.UPGRADE_REQUIRED:
            msg = f"this needs a paid account (HTTP 426{detail})"
            return AccountLimitExceeded(msg, service=kind, operation=operation)
        if status == httpx.codes.TOO_MANY_REQUESTS:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            wait = f"; retry after {retry_after:g} s" if retry_after is not None else ""
            msg = f"rate limited (HTTP 429{detail}){wait}"
            return RateLimited(msg, service=kind, operation=operation, retry_after=retry_after)
        if status >= httpx.codes.INTERNAL_SERVER_ERROR:
            msg = f"the service failed (HTTP {status}{detail})"
            return SourceUnavailable(msg, service=kind, operation=operation)
        msg = f"the request was refused (HTTP {status}{detail})"
        return SourceError(msg, service=kind, operation=operation)

    def _decode(self, response: httpx.Response, operation: str) -> Any:  # noqa: ANN401 - JSON
        if not response.content.strip():
            return None
        try:
            return response.json()
        except ValueError as exc:
            kind = response.headers.get("Content-Type", "no content type")
            msg = f"the response is not JSON (HTTP {response.status_code}, {kind})"
            raise DecodeError(
                msg, service=self.service, operation=operation, errors=[self._scrub(str(exc))]
            ) from exc

    def detail(self, response: httpx.Response) -> str:
        """The service's own short explanation from an error body (``": ..."``), scrubbed."""
        return self._detail(response)

    def scrub(self, text: str) -> str:
        """``text`` with every configured secret replaced by ``***``."""
        return self._scrub(text)

    def _detail(self, response: httpx.Response) -> str:
        """The service's own short explanation from an error body, if it gave one."""
        try:
            body = response.json()
        except ValueError:
            return ""
        text = ""
        if isinstance(body, dict):
            text = next((str(body[k]) for k in _DETAIL_KEYS if body.get(k)), "")
        elif isinstance(body, str):
            text = body
        text = self._scrub(" ".join(text.split()))[:_MAX_DETAIL]
        return f": {text}" if text else ""

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    # -- retry policy ------------------------------------------------------------------------

    def _retryable(self, exc: BaseException) -> bool:
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            return exc.retry_after <= self._policy.backoff_max
        return isinstance(exc, SourceUnavailable)

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            # When the limiter was paused for Retry-After the next try waits there, with
            # every other request of the process, so waiting here as well would double the
            # wait; a limit of the caller's own (not pausing the limiter) is waited here.
            return max(exc.retry_after - self._limiter.paused_for, 0.0)
        return float(self._backoff(state))

    def _log_retry(self, state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        _log.debug(
            "%s: %s; try %d of %d failed, next in %.2f s",
            self.service,
            exc,
            state.attempt_number,
            self._policy.max_attempts,
            wait,
        )


def _lenient_json(response: httpx.Response) -> Any:  # noqa: ANN401 - JSON
    """The JSON body of an accepted status, or ``None`` when it has none (or is not JSON)."""
    if not response.content.strip():
        return None
    try:
        return response.json()
    except ValueError:
        return None
