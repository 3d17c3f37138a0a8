"""`TraktAuth`: connecting users (device code, authorization code) and keeping tokens fresh."""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Final, Protocol
from urllib.parse import urlencode, urlsplit

import attrs

from reclio._clock import Clock, utc_now
from reclio.adapters._http import Reply, RestClient
from reclio.adapters.trakt._errors import APP_HINT
from reclio.adapters.trakt._wire import SERVICE, to_token
from reclio.domain import OAuthToken
from reclio.errors import (
    AppRejected,
    AuthenticationError,
    LeaseHeld,
    ReconnectNeeded,
    SourceError,
    SourceUnavailable,
)
from reclio.leases import hold
from reclio.ports import CredentialStore, LeaseStore
from reclio.settings import TraktConfig

__all__ = ["REFRESH_MARGIN", "DeviceCode", "TokenStore", "TraktAuth"]

_log = logging.getLogger("reclio.adapters.trakt")

_STORED_AS: Final = "trakt"
"""The service name tokens are stored under (`CredentialStore`)."""

_SLOW_DOWN: Final = timedelta(seconds=5)
"""Added to the polling interval when Trakt answers 429 (RFC 8628's "slow_down")."""

_POLL_STATUSES: Final = (400, 404, 409, 410, 418, 429)

REFRESH_MARGIN: Final = timedelta(minutes=10)

_LEASE: Final = timedelta(seconds=60)
"""Tokens are refreshed this long before they expire (minutes, not days: A.2)."""


class TokenStore(CredentialStore, LeaseStore, Protocol):
    """The state roles `TraktAuth` uses: the users' tokens, and leases to refresh them under.

    Every `reclio.ports.StateStore` is one.
    """


@attrs.frozen
class DeviceCode:
    """A started device-code login: show ``user_code`` and ``verification_url`` to the user.

    Attributes:
        device_code: What reclio polls with (never shown).
        user_code: The code the user types at ``verification_url`` (8 characters).
        verification_url: Where to type it (``https://trakt.tv/activate``).
        expires_in: How long the code is valid (Trakt: 10 minutes).
        interval: How often to poll (Trakt: 5 seconds).
    """

    device_code: str = attrs.field(repr=False)
    user_code: str
    verification_url: str
    expires_in: timedelta
    interval: timedelta

    @property
    def direct_url(self) -> str:
        """The activation page with the code filled in (good for a QR code)."""
        return f"{self.verification_url.rstrip('/')}/{self.user_code}"


def _reconnect_hint(user_id: str) -> str:
    return (
        f"connect the account again: `reclio trakt login {user_id}` (device code), or store"
        f" new tokens with `reclio users add {user_id} --trakt-access-token ..."
        " --trakt-refresh-token ...`"
    )


class TraktAuth:
    """Trakt OAuth for one app: connects users, and gives each request a fresh access token.

    * **Connecting**: the device-code flow (`start_device_login`, then `wait_for_device_login`,
      polling at the interval Trakt says and slowing down when told), or the
      authorization-code flow of a web host (`authorize_url`, then `exchange_code`);
      `connect` stores the token.
    * **Refreshing**: `access_token` refreshes a token that expires within
      ``refresh_margin`` (expiry is ``created_at + expires_in``, as Trakt says it), and
      `refresh_after_refusal` refreshes once after a 401. A refresh runs under the user's
      lease ``trakt-token:<user>`` in the state store, so two workers never spend the same
      single-use refresh token; the one that waited re-reads the token the other stored.
      The new refresh token is stored before the new access token is used.
    * **Giving up**: a refresh token Trakt refuses (``invalid_grant``: revoked, or spent
      elsewhere) is deleted and `ReconnectNeeded` raised; later calls for the user raise it
      at once, without a request, until a new token is stored.

    Tokens never appear in a repr, a log line or an error message.

    Stability: caller-stable.

    Args:
        config: The app (client id and secret, redirect URI).
        http: The Trakt client (shared with the source and the sink).
        store: Where tokens and leases live.
        clock: Returns the current aware datetime (token expiry).
        sleep: Awaitable sleep (device polling, waiting for another worker's refresh).
        refresh_margin: Refresh a token this long before it expires.
        lease_ttl: How long a refresh lease outlives a worker that died holding it.
        lease_wait: How long to wait for another worker's refresh before giving up.
    """

    def __init__(
        self,
        config: TraktConfig,
        *,
        http: RestClient,
        store: TokenStore,
        clock: Clock = utc_now,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        refresh_margin: timedelta = REFRESH_MARGIN,
        lease_ttl: timedelta = _LEASE,
        lease_wait: timedelta = _LEASE,
    ) -> None:
        self._config = config
        self._http = http
        self._store = store
        self._clock = clock
        self._sleep = sleep
        self._margin = refresh_margin
        self._lease_ttl = lease_ttl
        self._lease_wait = lease_wait
        self._owner = f"trakt-auth-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.refreshes = 0
        """Refreshes this object made (tests and benchmarks count them)."""

    def __repr__(self) -> str:
        return f"TraktAuth({self._config.base_url!r})"

    # -- connecting ------------------------------------------------------------------------

    def authorize_url(self, state: str, *, signup: bool = False) -> str:
        """Where a web host sends the user to authorize the app (authorization-code flow).

        The page is on Trakt's website (``trakt.tv``), not the API host; Trakt redirects to
        the configured ``redirect_uri`` with ``code`` and ``state`` (check ``state``).
        """
        query = {
            "response_type": "code",
            "client_id": self._config.client_id,
            "redirect_uri": self._config.redirect_uri,
            "state": state,
        }
        if signup:
            query["signup"] = "true"
        return f"{_site(self._config.base_url)}/oauth/authorize?{urlencode(query)}"

    async def exchange_code(self, code: str) -> OAuthToken:
        """Exchange an authorization code for a token (then `connect` it to a user).

        Raises:
            AuthenticationError: the code was refused (used, expired, or a wrong redirect).
            AppRejected: the app's credentials were refused.
            SourceError: Trakt failed.
        """
        body = {
            "code": code,
            "client_id": self._config.client_id,
            "client_secret": self._config.client_secret,
            "redirect_uri": self._config.redirect_uri,
            "grant_type": "authorization_code",
        }
        reply = await self._post("/oauth/token", body, operation="exchange_code", accept=(400, 401))
        if reply.status != 200:  # noqa: PLR2004
            raise self._refused(reply, "exchange_code", "the authorization code was refused")
        return to_token(reply.body, operation="exchange_code")

    async def start_device_login(self) -> DeviceCode:
        """Start a device-code login: show the answer's code and URL to the user.

        Raises:
            AppRejected: the app's credentials were refused.
            SourceError: Trakt failed.
        """
        reply = await self._post(
            "/oauth/device/code", {"client_id": self._config.client_id}, operation="device_code"
        )
        body = reply.body if isinstance(reply.body, dict) else {}
        try:
            return DeviceCode(
                device_code=str(body["device_code"]),
                user_code=str(body["user_code"]),
                verification_url=str(body.get("verification_url") or "https://trakt.tv/activate"),
                expires_in=timedelta(seconds=float(body.get("expires_in", 600))),
                interval=timedelta(seconds=float(body.get("interval", 5))),
            )
        except (KeyError, TypeError, ValueError) as exc:
            msg = "the device code answer lacks device_code or user_code"
            raise SourceError(msg, service=SERVICE, operation="device_code") from exc

    async def wait_for_device_login(self, device: DeviceCode) -> OAuthToken:
        """Poll until the user entered the code (then `connect` the token to them).

        Polls every ``device.interval`` (longer after a 429 "slow down") until the code
        expires: 400 is "not yet", 404, 409, 410 and 418 end the login with a clear error.

        Raises:
            AuthenticationError: the code is unknown (404), already used (409), expired
                (410, or no answer in time) or the user denied access (418).
            SourceError: Trakt failed.
        """
        interval = device.interval
        deadline = self._clock() + device.expires_in
        body = {
            "code": device.device_code,
            "client_id": self._config.client_id,
            "client_secret": self._config.client_secret,
        }
        while self._clock() < deadline:
            await self._sleep(interval.total_seconds())
            reply = await self._post(
                "/oauth/device/token", body, operation="device_token", accept=_POLL_STATUSES
            )
            if reply.status == 200:  # noqa: PLR2004
                return to_token(reply.body, operation="device_token")
            if reply.status == 400:  # noqa: PLR2004 - pending: the user has not entered it yet
                continue
            if reply.status == 429:  # noqa: PLR2004
                interval += _SLOW_DOWN
                continue
            raise AuthenticationError(
                _DEVICE_ENDS[reply.status], service=SERVICE, operation="device_token"
            )
        raise AuthenticationError(_DEVICE_ENDS[410], service=SERVICE, operation="device_token")

    async def connect(self, user_id: str, token: OAuthToken) -> None:
        """Store ``token`` as the user's (replacing any).

        Raises:
            SourceError: the store failed.
        """
        await self._store.put_token(user_id, _STORED_AS, token)

    async def revoke(self, user_id: str) -> bool:
        """Revoke the user's token at Trakt and forget it; False if none was stored.

        Raises:
            SourceError: Trakt or the store failed (the token is kept when Trakt failed).
        """
        token = await self._store.get_token(user_id, _STORED_AS)
        if token is None:
            return False
        body = {
            "token": token.access_token,
            "client_id": self._config.client_id,
            "client_secret": self._config.client_secret,
        }
        await self._post("/oauth/revoke", body, operation="revoke")
        await self._store.delete_token(user_id, _STORED_AS)
        return True

    # -- fresh tokens ----------------------------------------------------------------------

    async def access_token(self, user_id: str) -> str:
        """The user's access token, refreshed first when it expires within the margin.

        Raises:
            ReconnectNeeded: no token is stored, or its refresh token was refused.
            SourceError: Trakt or the store failed.
        """
        token = await self._stored(user_id)
        if not self._due(token):
            return token.access_token
        return await self._refresh(user_id, refused=None)

    async def refresh_after_refusal(self, user_id: str, refused: str) -> str:
        """A new access token after Trakt refused ``refused`` (a 401): refresh, once.

        When another worker already stored a different token, that one is returned
        without a refresh.

        Raises:
            ReconnectNeeded: no token is stored, or its refresh token was refused.
            SourceError: Trakt or the store failed.
        """
        return await self._refresh(user_id, refused=refused)

    async def disconnect(self, user_id: str, reason: str) -> ReconnectNeeded:
        """Forget the user's token (it is dead) and return the error to raise."""
        await self._store.delete_token(user_id, _STORED_AS)
        _log.warning("trakt: user %s must connect again: %s", user_id, reason)
        msg = f"{reason}; {_reconnect_hint(user_id)}"
        return ReconnectNeeded(msg, service=SERVICE, operation="refresh")

    def _due(self, token: OAuthToken) -> bool:
        """Whether to refresh now: within the margin of its expiry.

        The margin is at most a quarter of the token's lifetime, so a token that lives
        shorter than four margins is not refreshed on every request.
        """
        return token.expires_within(self._clock(), min(self._margin, token.expires_in / 4))

    async def _stored(self, user_id: str) -> OAuthToken:
        token = await self._store.get_token(user_id, _STORED_AS)
        if token is None:
            msg = f"no Trakt token is stored for user {user_id!r}; {_reconnect_hint(user_id)}"
            raise ReconnectNeeded(msg, service=SERVICE, operation="access_token")
        return token

    async def _refresh(self, user_id: str, *, refused: str | None) -> str:
        waited_until = self._clock() + self._lease_wait
        while True:
            try:
                async with hold(
                    self._store,
                    f"trakt-token:{user_id}",
                    owner=f"{self._owner}-{uuid.uuid4().hex[:6]}",
                    ttl=self._lease_ttl,
                    what=f"the Trakt token of {user_id!r}",
                ):
                    return await self._refresh_leased(user_id, refused=refused)
            except LeaseHeld:
                # Another worker is refreshing this user: wait, then re-read what it stored.
                if self._clock() >= waited_until:
                    msg = f"another worker has been refreshing the token of {user_id!r} too long"
                    raise SourceUnavailable(msg, service=SERVICE, operation="refresh") from None
                await self._sleep(0.2)

    async def _refresh_leased(self, user_id: str, *, refused: str | None) -> str:
        token = await self._stored(user_id)
        if refused is None and not self._due(token):
            return token.access_token  # refreshed by another worker while we waited
        if refused is not None and token.access_token != refused:
            return token.access_token  # the refused token was replaced meanwhile
        body = {
            "refresh_token": token.refresh_token,
            "client_id": self._config.client_id,
            "client_secret": self._config.client_secret,
            "redirect_uri": self._config.redirect_uri,
            "grant_type": "refresh_token",
        }
        # One try only: a refresh token is single use, and a retry after a lost answer
        # would spend it twice (the next sync tries again if this one failed on the way).
        reply = await self._post(
            "/oauth/token", body, operation="refresh", accept=(400, 401), retry=False
        )
        if reply.status != 200:  # noqa: PLR2004
            error = self._refused(reply, "refresh", "Trakt refused the refresh token")
            if isinstance(error, AppRejected):
                raise error
            raise await self.disconnect(
                user_id, f"Trakt refused the refresh token ({_code(reply)})"
            )
        fresh = to_token(reply.body, operation="refresh")
        # Stored before it is used: the old refresh token is spent now.
        await self._store.put_token(user_id, _STORED_AS, fresh)
        self.refreshes += 1
        _log.info(
            "trakt: refreshed the token of user %s (valid until %s)",
            user_id,
            _iso(fresh.expires_at),
        )
        return fresh.access_token

    # -- requests --------------------------------------------------------------------------

    async def _post(
        self,
        path: str,
        body: dict[str, str],
        *,
        operation: str,
        accept: tuple[int, ...] = (),
        retry: bool = True,
    ) -> Reply:
        reply = await self._http.request(
            "POST", path, operation=operation, json=body, accept=accept, retry=retry
        )
        assert reply is not None  # noqa: S101 - only missing_ok requests return None
        return reply

    def _refused(self, reply: Reply, operation: str, what: str) -> AuthenticationError:
        body = reply.body if isinstance(reply.body, dict) else {}
        if body.get("error") == "invalid_client":
            msg = f"Trakt refused the app's credentials (invalid_client); {APP_HINT}"
            return AppRejected(msg, service=SERVICE, operation=operation)
        return AuthenticationError(f"{what} ({_code(reply)})", service=SERVICE, operation=operation)


_DEVICE_ENDS: Final = {
    404: "Trakt does not know this device code (HTTP 404): start the login again",
    409: "this device code was already used (HTTP 409): start the login again",
    410: "the device code expired before it was entered (HTTP 410): start the login again",
    418: "the user denied reclio access on Trakt (HTTP 418)",
}


def _code(reply: Reply) -> str:
    body = reply.body if isinstance(reply.body, dict) else {}
    code = body.get("error")
    return f"HTTP {reply.status} {code}" if isinstance(code, str) else f"HTTP {reply.status}"


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _site(base_url: str) -> str:
    """Trakt's website for an API root: ``api.trakt.tv`` -> ``trakt.tv``; others unchanged."""
    parts = urlsplit(base_url)
    host = parts.netloc
    for prefix, site in (("api-staging.", "staging."), ("api.", "")):
        if host.startswith(prefix):
            host = site + host.removeprefix(prefix)
            break
    return f"{parts.scheme}://{host}"
