"""How Trakt's failures read (A.5, A.9): the Trakt part of the HTTP layer's choke point.

`trakt_status_error` is handed to the shared `RestClient` as its ``status_error``: it is
consulted before the generic status table and names the fix where Trakt's answer allows
it. Decisions rest on the status and the headers, never on a body's wording (Trakt's error
bodies are not uniform: empty, ``{"error": ...}`` for OAuth, HTML for Cloudflare).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Final

import httpx

from reclio.adapters._http import parse_retry_after
from reclio.errors import (
    AccountLimitExceeded,
    AppRejected,
    AuthenticationError,
    RateLimited,
    SourceError,
    UpgradeRequired,
)

__all__ = [
    "APP_HINT",
    "Unauthorized",
    "oauth_error",
    "pauses_limiter",
    "trakt_status_error",
]

_SERVICE: Final = "trakt"

APP_HINT: Final = (
    "check RECLIO_TRAKT_CLIENT_ID and RECLIO_TRAKT_CLIENT_SECRET: since 2026-07-31 Trakt API"
    " apps need an active VIP membership of their owner, and apps of free accounts were"
    " deleted (every call of a deleted app is refused); create the app at"
    " https://trakt.tv/oauth/applications on a VIP account and set its id and secret"
)

_CLOUDFLARE: Final = (
    "Cloudflare in front of Trakt blocked the request (HTTP 403 with an HTML page; it never"
    " reached Trakt): reclio sends a User-Agent on every request (HttpPolicy.user_agent); if"
    " the block persists the host's address is blocked, which only Trakt support can lift"
)


class Unauthorized(AuthenticationError):
    """401 on a user's request: the access token was refused (refresh once, then give up).

    Private to the Trakt adapters: it is caught where the token is refreshed, and what
    leaves the adapter is `AuthenticationError` (this class) or `ReconnectNeeded`.
    """


def _is_cloudflare_page(response: httpx.Response) -> bool:
    kind = response.headers.get("Content-Type", "").lower()
    if "html" in kind:
        return True
    # Trakt's own answers carry x-request-id / x-runtime; Cloudflare's block page does not.
    trakt_headers = "x-request-id" in response.headers or "x-runtime" in response.headers
    return not trakt_headers and response.content.lstrip()[:1] == b"<"


def _rate_limit(response: httpx.Response) -> tuple[str | None, float | None]:
    """The bucket named by ``X-Ratelimit`` and the seconds to wait (``Retry-After`` first)."""
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    raw = response.headers.get("X-Ratelimit")
    name = None
    if raw:
        try:
            bucket = json.loads(raw)
        except ValueError:
            bucket = None
        if isinstance(bucket, dict):
            name = bucket.get("name") if isinstance(bucket.get("name"), str) else None
            until = bucket.get("until")
            if retry_after is None and isinstance(until, str):
                try:
                    moment = datetime.fromisoformat(until)
                except ValueError:
                    moment = None
                if moment is not None:
                    if moment.tzinfo is None:
                        moment = moment.replace(tzinfo=UTC)
                    retry_after = max((moment - datetime.now(UTC)).total_seconds(), 0.0)
    return name, retry_after


def pauses_limiter(response: httpx.Response) -> bool:
    """Whether a 429 pauses every Trakt request of the process.

    ``AUTHED_API_*`` buckets are one user's (their writes, their reads): only that
    request waits. The app's ``UNAUTHED_API_GET_LIMIT`` and a 429 from a security layer
    without ``X-Ratelimit`` pause everything, to be safe.
    """
    name, _ = _rate_limit(response)
    return not (name or "").startswith("AUTHED_")


def oauth_error(response: httpx.Response) -> str | None:
    """The ``error`` code of an OAuth answer (``invalid_grant``, ``invalid_client``), if any."""
    try:
        body = response.json()
    except ValueError:
        return None
    code = body.get("error") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None


def trakt_status_error(response: httpx.Response, operation: str) -> SourceError | None:  # noqa: PLR0911 - one return per row of Trakt's status table
    """The error a failed Trakt response means, or ``None`` for the generic table."""
    status = response.status_code
    if status == httpx.codes.UNAUTHORIZED:
        if oauth_error(response) == "invalid_client":
            msg = f"Trakt refused the app's credentials (HTTP 401 invalid_client); {APP_HINT}"
            return AppRejected(msg, service=_SERVICE, operation=operation)
        msg = "Trakt refused the user's access token (HTTP 401)"
        return Unauthorized(msg, service=_SERVICE, operation=operation)
    if status == httpx.codes.FORBIDDEN:
        if _is_cloudflare_page(response):
            return SourceError(_CLOUDFLARE, service=_SERVICE, operation=operation)
        msg = f"Trakt refused the app (HTTP 403: an unknown or deleted API app); {APP_HINT}"
        return AppRejected(msg, service=_SERVICE, operation=operation)
    if status == 420:  # noqa: PLR2004 - Trakt's account limit, not in the HTTP registry
        limit = response.headers.get("X-Account-Limit")
        vip = response.headers.get("X-VIP-User", "").lower() == "true"
        held = f" of {limit}" if limit else ""
        who = "a VIP account" if vip else "a free account (VIP holds more)"
        msg = (
            f"the Trakt account is at its limit{held} (HTTP 420, {who}); not retried: the"
            " row falls back to its next link"
        )
        return AccountLimitExceeded(msg, service=_SERVICE, operation=operation)
    if status == httpx.codes.UPGRADE_REQUIRED:
        url = response.headers.get("X-Upgrade-URL") or "https://trakt.tv/vip"
        msg = (
            f"Trakt answers VIP only (HTTP 426): this needs a VIP membership ({url}); if"
            f" every call says so, the API app's owner lost VIP: {APP_HINT}"
        )
        return UpgradeRequired(msg, service=_SERVICE, operation=operation)
    if status == httpx.codes.TOO_MANY_REQUESTS:
        name, retry_after = _rate_limit(response)
        bucket = f" {name}" if name else " (a security layer, no X-Ratelimit)"
        wait = f"; retry after {retry_after:g} s" if retry_after is not None else ""
        msg = f"rate limited by Trakt (HTTP 429{bucket}){wait}"
        return RateLimited(msg, service=_SERVICE, operation=operation, retry_after=retry_after)
    return None
