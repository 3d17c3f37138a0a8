"""The ChillLink endpoints: ``/manifest`` and ``/feeds``, by addon token or by user id.

``/feeds`` never answers with a 5xx: a malformed, huge or hostile request and any internal
error all get a valid 10-feed body with status 200 (Chillio shows whatever it is given,
and an error would leave the user with empty rows). It writes nothing: the feed builder
counts known users' requests in memory and the runtime writes the counts in batches.

These endpoints are plain ASGI callables (no Request or Response objects): they are the
hot path, and Starlette's per-request objects cost as much as building the feeds.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.parse
from collections.abc import Collection, Sequence
from datetime import date
from typing import TYPE_CHECKING, Final

import attrs

from reclio import addons, chilllink
from reclio.domain import CatalogRecord, ItemRef, UserState, valid_text
from reclio.errors import SourceError
from reclio.feeds import FeedBuilder, FeedRequestCounter, parse_last_watched

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send

    from reclio.feeds import FeedStore
    from reclio.ports import StateStore

__all__ = ["FeedsEndpoint", "FeedsService", "ManifestEndpoint", "Query", "parse_query"]

_log = logging.getLogger("reclio.examples.app.feeds")

MAX_QUERY: Final = 2048
"""Bytes of a query string read at all; the rest is ignored."""
MAX_FIELDS: Final = 16
"""``name=value`` pairs of a query string read at all."""
MAX_USER_ID: Final = addons.MAX_USER_ID
MAX_HINT: Final = 40
MAX_TOKEN: Final = 128

_MAX_COUNTED: Final = 100_000
"""Users whose last counted request is remembered (for the count window)."""

NOBODY: Final = ""
"""The user id of a request that names nobody (the builders below never look it up)."""

JSON_HEADERS: Final = ((b"content-type", b"application/json"),)


@attrs.frozen
class Query:
    """The two parameters ``/feeds`` reads, already cut to their caps."""

    user_id: str | None = None
    last_watched: str | None = None


def parse_query(raw: bytes) -> Query:
    """Read ``user_id`` and ``last_watched`` from a raw query string; never raises.

    Only the first `MAX_QUERY` bytes and `MAX_FIELDS` pairs are read, values are cut to
    their caps, invalid percent-escapes and bytes become U+FFFD, and the first occurrence
    of a name wins.
    """
    text = raw[:MAX_QUERY].decode("latin-1")
    found: dict[str, str] = {}
    for piece in text.split("&", MAX_FIELDS)[:MAX_FIELDS]:
        name, _, value = piece.partition("=")
        name = urllib.parse.unquote_plus(name, errors="replace")
        if name in ("user_id", "last_watched") and name not in found:
            found[name] = urllib.parse.unquote_plus(value, errors="replace")
    user_id = found.get("user_id", "")[:MAX_USER_ID]
    hint = found.get("last_watched", "")[:MAX_HINT]
    return Query(user_id or None, hint or None)


class _CatalogOnly:
    """A store view that knows no user: feeds for nobody, but hints still name titles."""

    def __init__(self, store: FeedStore | None) -> None:
        self._store = store

    async def get_user(self, _user_id: str) -> None:
        return None

    async def get_titles(self, refs: Collection[ItemRef]) -> Sequence[CatalogRecord]:
        if self._store is None:
            return []
        return await self._store.get_titles(refs)


class _ErrorLog:
    """Logs a failure of ``/feeds`` once, then at most one summary line per ``window``.

    A broken store would otherwise log a line (or a traceback) per request: thousands a
    second.
    """

    def __init__(self, window: float = 60.0) -> None:
        self._window = window
        self._last = -window
        self._quiet = 0

    def failed(self, what: str, *, trace: bool) -> None:
        now = time.monotonic()
        if now - self._last < self._window:
            self._quiet += 1
            return
        also = f" ({self._quiet} more since the last report)" if self._quiet else ""
        if trace:
            _log.exception("%s; answered the non-personal layout%s", what, also)
        else:
            _log.warning("%s; answered the non-personal layout%s", what, also)
        self._last, self._quiet = now, 0


@attrs.frozen
class _Body:
    """A body built for one state (by identity) on one day."""

    state: UserState | None
    day: date
    body: bytes


@attrs.define
class FeedsService:
    """Turns a ``/feeds`` request into a body: always bytes of a valid 10-feed response.

    Bodies are reused: a request without a (usable) ``last_watched`` hint, for a user whose
    state is the very object the store handed back last time, on the same day, gets the
    bytes built then. The body is a pure function of those three, so a reused body is
    exactly what a fresh build would give; any write of the user's state makes the store
    hand back a new object (`SqliteStateStore` keeps the decoded state while its stored
    text is unchanged; the in-memory store keeps the object itself).

    Args:
        builder: The runtime's feed builder (layout, date).
        store: The state store: users, addon tokens, and the catalog (to name a hinted
            title for a request that names nobody).
        counter: Counts requests of known users (in memory; written in batches): they set
            how often a user is synced.
        count_window: Seconds in which a user's requests count once. The cadence needs
            "how many times a week", not every refresh: a client that asks a hundred times
            a minute still counts once, and the writes stay bounded by the number of users.
            0 counts every request.
        user_id_param: Serve ``/feeds?user_id=`` with that user's rows.
        reuse_users: Users whose last body is kept (about 2.5 KB each); 0 turns reuse off.
    """

    builder: FeedBuilder
    store: StateStore
    counter: FeedRequestCounter | None = None
    user_id_param: bool = False
    reuse_users: int = 10_000
    count_window: float = 60.0
    _personal: FeedBuilder = attrs.field(init=False)
    _anonymous: FeedBuilder = attrs.field(init=False)
    _fallback: FeedBuilder = attrs.field(init=False)
    _bodies: dict[str, _Body] = attrs.Factory(dict)
    _nobody: _Body | None = None
    _counted: dict[str, float] = attrs.Factory(dict)
    _last_resort: bytes = b""
    _errors: _ErrorLog = attrs.Factory(_ErrorLog)

    def __attrs_post_init__(self) -> None:
        layout, today = self.builder.layout, self.builder.today
        # Requests are counted here (once per user per window), not by the builder.
        self._personal = FeedBuilder(self.store, layout=layout, today=today)
        # The builder reads only get_user and get_titles, all a _CatalogOnly has.
        nobody, no_store = _CatalogOnly(self.store), _CatalogOnly(None)
        self._anonymous = FeedBuilder(nobody, layout=layout, today=today)  # type: ignore[arg-type]
        self._fallback = FeedBuilder(no_store, layout=layout, today=today)  # type: ignore[arg-type]

    async def prepare(self) -> None:
        """Build the body of last resort once, before the first request."""
        self._last_resort = chilllink.dumps(await self._fallback.build(NOBODY)).encode()

    async def body(self, *, token: str | None, query: bytes) -> bytes:
        """The ``/feeds`` body: by addon token when ``token`` is given, else by query."""
        try:
            params = parse_query(query)
            user_id: str | None = None
            if token is not None:
                user_id = await addons.addon_token_owner(self.store, token[:MAX_TOKEN])
            elif self.user_id_param and params.user_id is not None:
                user_id = valid_text(params.user_id)
            if user_id is None:
                return await self._for_nobody(params.last_watched)
            return await self._for_user(user_id, params.last_watched)
        except SourceError as exc:
            self._errors.failed(f"/feeds could not read the state: {exc}", trace=False)
        except Exception:  # noqa: BLE001 - the one place a bug must not become a 5xx
            self._errors.failed("/feeds failed", trace=True)
        try:
            return chilllink.dumps(await self._fallback.build(NOBODY)).encode()
        except Exception:  # noqa: BLE001 - even the fallback failing must not be a 5xx
            return self._last_resort

    async def _for_user(self, user_id: str, hint: str | None) -> bytes:
        state = await self.store.get_user(user_id)
        if state is None:
            return await self._for_nobody(hint)
        plain = parse_last_watched(hint) is None  # no hint, or one the builder ignores
        day = self.builder.today()
        known = self._bodies.get(user_id) if plain else None
        self._count(user_id)
        if known is not None and known.state is state and known.day == day:
            return known.body
        response = await self._personal.build_for(user_id, state, last_watched=hint)
        body = chilllink.dumps(response).encode()
        if plain and (known is not None or len(self._bodies) < self.reuse_users):
            self._bodies[user_id] = _Body(state, day, body)
        return body

    def _count(self, user_id: str) -> None:
        if self.counter is None:
            return
        now = time.monotonic()
        last = self._counted.get(user_id)
        if last is not None and now - last < self.count_window:
            return
        if len(self._counted) >= _MAX_COUNTED:
            self._counted.clear()  # bounded memory: at worst, some users count twice
        self._counted[user_id] = now
        self.counter.count(user_id)

    async def _for_nobody(self, hint: str | None) -> bytes:
        plain = parse_last_watched(hint) is None
        day = self.builder.today()
        known = self._nobody
        if plain and known is not None and known.day == day:
            return known.body
        body = chilllink.dumps(await self._anonymous.build(NOBODY, last_watched=hint)).encode()
        if plain:
            self._nobody = _Body(None, day, body)
        return body


async def _send_json(send: Send, body: bytes, status: int = 200) -> None:
    headers = [*JSON_HEADERS, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class FeedsEndpoint:
    """``GET /feeds`` and ``GET /{token}/feeds`` as an ASGI app (mounted as a route)."""

    def __init__(self, *, by_token: bool) -> None:
        self._by_token = by_token

    async def __call__(self, scope: Scope, _receive: Receive, send: Send) -> None:
        service: FeedsService = scope["app"].state.reclio.feeds
        token = scope.get("path_params", {}).get("token", "") if self._by_token else None
        body = await service.body(token=token, query=scope.get("query_string", b""))
        await _send_json(send, body)


class ManifestEndpoint:
    """``GET /manifest`` and ``GET /{token}/manifest``: the same body for every token.

    Chillio resolves the manifest's endpoint paths against the URL the user pasted, so
    ``"/feeds"`` becomes ``<base>/<token>/feeds``. An unknown token gets the manifest too:
    the answer never tells whether a token exists.
    """

    def __init__(self) -> None:
        self._body = json.dumps(chilllink.manifest(), separators=(",", ":")).encode()

    async def __call__(self, _scope: Scope, _receive: Receive, send: Send) -> None:
        await _send_json(send, self._body)
