"""`TraktSession`: one process's connection to Trakt, shared by the source, the sink and auth."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Final

import httpx

from reclio._clock import Clock, utc_now
from reclio.adapters._http import (
    Params,
    RateLimiter,
    Reply,
    RestClient,
    header_page_count,
    iter_pages,
)
from reclio.adapters.trakt._auth import REFRESH_MARGIN, TokenStore, TraktAuth
from reclio.adapters.trakt._errors import APP_HINT, Unauthorized, pauses_limiter, trakt_status_error
from reclio.adapters.trakt._pacer import TraktWritePacer
from reclio.errors import SourceError
from reclio.settings import HttpPolicy, TraktConfig

__all__ = ["MAX_PAGE_LIMIT", "TraktSession", "trakt_limiter"]

MAX_PAGE_LIMIT: Final = 250
"""The largest page Trakt serves since June 2026; a larger ``limit`` is cut to it silently."""

MAX_PAGES: Final = 2_000
"""Pages read of one list at most (500,000 entries at 250 a page): a guard, never reached."""


def trakt_limiter(config: TraktConfig, policy: HttpPolicy) -> RateLimiter:
    """Trakt's process-wide budget: ``config.requests_per_second``, ``policy.max_concurrency``.

    Trakt limits each user to 1,000 GETs per 5 minutes and the app's unauthenticated GETs
    to as many; this budget keeps the process as a whole polite. Make it once per process.
    """
    return RateLimiter(
        "trakt",
        requests_per_second=config.requests_per_second,
        max_concurrency=policy.max_concurrency,
    )


class TraktSession:
    """Every request reclio makes to Trakt, for any user: one per process.

    Holds the HTTP client (the shared HTTP policy: the process-wide limiter, deadlines,
    retries with backoff on transport errors, 5xx and Cloudflare's 520-522, ``Retry-After``
    on 429), `TraktAuth`, and the per-user `TraktWritePacer`. Every request carries
    ``trakt-api-key``, ``trakt-api-version: 2``, ``Content-Type: application/json`` and the
    policy's ``User-Agent``; a user's requests carry their bearer token, refreshed shortly
    before it expires, and a 401 is answered with one refresh and one retry, after which the
    user must reconnect (`ReconnectNeeded`).

    The source (`TraktInteractionSource`) and the sink (`TraktListSink`) are views on one
    session; closing the session closes the client.

    Stability: caller-stable.

    Args:
        config: The app and its limits.
        store: Where the users' tokens and the refresh leases live.
        policy: Timeouts, retries, ``User-Agent``.
        limiter: Trakt's process-wide budget (`trakt_limiter`); a private one when ``None``.
        pacer: Spaces each user's writes (one per process); a private one when ``None``.
        client: An ``httpx.AsyncClient`` to send through (not closed by `aclose`).
        transport: The transport of the client built here (tests: ``httpx.MockTransport``).
        clock: Returns the current aware datetime (token expiry).
        sleep: Awaitable sleep between retries and polls (tests pass a fake).
        refresh_margin: Refresh a token this long before it expires.
    """

    def __init__(
        self,
        config: TraktConfig,
        *,
        store: TokenStore,
        policy: HttpPolicy | None = None,
        limiter: RateLimiter | None = None,
        pacer: TraktWritePacer | None = None,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = utc_now,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        refresh_margin: timedelta = REFRESH_MARGIN,
    ) -> None:
        policy = policy or HttpPolicy()
        self.config = config
        self.pacer = pacer or TraktWritePacer(config.writes_per_second)
        self.http = RestClient(
            service="trakt",
            base_url=config.base_url,
            policy=policy,
            limiter=limiter or trakt_limiter(config, policy),
            client=client,
            transport=transport,
            headers={
                "Content-Type": "application/json",
                "trakt-api-key": config.client_id,
                "trakt-api-version": "2",
            },
            secrets=[config.client_id, config.client_secret],
            auth_hint=APP_HINT,
            status_error=trakt_status_error,
            pauses=pauses_limiter,
            sleep=sleep,
        )
        self.auth = TraktAuth(
            config,
            http=self.http,
            store=store,
            clock=clock,
            sleep=sleep,
            refresh_margin=refresh_margin,
        )

    def __repr__(self) -> str:
        return f"TraktSession({self.config.base_url!r})"

    @property
    def limiter(self) -> RateLimiter:
        """The process-wide budget every request waits for."""
        return self.http.limiter

    async def aclose(self) -> None:
        """Close the HTTP client built here (an injected one is left open)."""
        await self.http.aclose()

    async def public_get(self, path: str, *, operation: str) -> Reply:
        """GET without a user (the app's own budget), e.g. a health probe."""
        reply = await self.http.get(path, operation=operation)
        assert reply is not None  # noqa: S101 - only missing_ok requests return None
        return reply

    async def get(
        self,
        user_id: str,
        path: str,
        *,
        operation: str,
        params: Params | None = None,
        missing_ok: bool = False,
    ) -> Reply | None:
        """GET as the user (bearer token; one refresh and retry on 401).

        Raises:
            ReconnectNeeded: the user has no usable token.
            SourceError: as the HTTP policy maps Trakt's failures.
        """
        return await self._as_user(
            user_id, "GET", path, operation=operation, params=params, missing_ok=missing_ok
        )

    async def pages(
        self,
        user_id: str,
        path: str,
        *,
        operation: str,
        params: Params | None = None,
        if_missing: SourceError | None = None,
    ) -> AsyncIterator[Reply]:
        """Every page of a paginated list, as the user.

        Each request asks for an explicit ``limit`` of 250 (Trakt's largest), and paging
        follows ``X-Pagination-Page-Count`` as each reply reports it, so a page Trakt cut
        shorter than asked (its silent clamp) only means more pages, never a gap. Without
        that header (an endpoint that answers everything at once) one page is all.

        Raises:
            ReconnectNeeded: the user has no usable token.
            SourceError: as the HTTP policy maps Trakt's failures; ``if_missing`` for a 404
                when given.
        """

        async def fetch(page: int) -> Reply | None:
            reply = await self.get(
                user_id,
                path,
                operation=operation,
                params={**(params or {}), "page": page, "limit": MAX_PAGE_LIMIT},
                missing_ok=if_missing is not None,
            )
            if reply is None and if_missing is not None:
                raise if_missing
            return reply

        async for reply in iter_pages(fetch, header_page_count, last=MAX_PAGES):
            yield reply

    async def write(
        self,
        user_id: str,
        path: str,
        *,
        operation: str,
        json: object,
        retry: bool = True,
    ) -> Reply:
        """POST as the user, in the user's turn of the write pacer (1 per second).

        Args:
            user_id: Whose account.
            path: The endpoint.
            operation: What reclio is doing.
            json: The body.
            retry: Retry under the policy; ``False`` for a write that must not be repeated
                (creating a list: a lost answer retried would create two).

        Raises:
            ReconnectNeeded: the user has no usable token.
            SourceError: as the HTTP policy maps Trakt's failures.
        """
        reply = await self._as_user(
            user_id,
            "POST",
            path,
            operation=operation,
            json=json,
            retry=retry,
            slot=lambda: self.pacer.slot(user_id),
        )
        assert reply is not None  # noqa: S101 - only missing_ok requests return None
        return reply

    async def _as_user(
        self, user_id: str, method: str, path: str, *, operation: str, **options: object
    ) -> Reply | None:
        token = await self.auth.access_token(user_id)
        try:
            return await self.http.request(
                method,
                path,
                operation=operation,
                headers=_bearer(token),
                **options,  # type: ignore[arg-type]
            )
        except Unauthorized:
            pass
        token = await self.auth.refresh_after_refusal(user_id, token)
        try:
            return await self.http.request(
                method,
                path,
                operation=operation,
                headers=_bearer(token),
                **options,  # type: ignore[arg-type]
            )
        except Unauthorized as exc:
            reason = "Trakt refused the user's token again after a refresh (HTTP 401)"
            raise await self.auth.disconnect(user_id, reason) from exc


def _bearer(token: str) -> Mapping[str, str]:
    return {"Authorization": f"Bearer {token}"}
