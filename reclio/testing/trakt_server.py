"""A Trakt stand-in on 127.0.0.1 with Trakt's 2026 rules, for tests and benchmarks.

`FakeTraktServer` speaks the parts of Trakt's API reclio uses, over real HTTP on an
ephemeral loopback port (stdlib ``http.server``, a thread per connection), and enforces
what makes Trakt hard to write to:

* **Headers**: ``trakt-api-key`` must be the app's (403 otherwise: a deleted app when
  ``app_deleted``), ``trakt-api-version: 2``, ``Content-Type: application/json`` (412),
  and a ``User-Agent`` (without one, a Cloudflare-style 403 HTML page, no Trakt headers).
* **Tokens**: a user's requests need a live bearer token (401); refresh tokens are single
  use (a spent one is ``invalid_grant``); the device-code flow answers 400 until the user
  "enters the code", with 429 when polled faster than the interval.
* **Paging**: an explicit ``limit`` above 250 is cut to 250 without a word; the
  ``X-Pagination-*`` headers say what was applied.
* **Writes**: one per second per user (a faster one is answered 429 with
  ``X-Ratelimit: AUTHED_API_POST_LIMIT`` and ``Retry-After: 1``), list and item limits
  from the account's settings (420 with ``X-Account-Limit``).
* **Lag**: with ``read_lag`` seconds, reads of a list answer it as it was that long ago
  (a list created since is not listed at all): list writes are not read-your-writes.

Seed accounts with `add_user` and the ``add_*`` helpers; inspect what happened with
`requests`, `count`, `rate_limited_writes`, `refreshes` and `list_titles`::

    with FakeTraktServer(read_lag=1.0) as trakt:
        alice = trakt.add_user("alice", own_lists=4)
        trakt.add_history("alice", [trakt.movie_play(603, at)])
        config = TraktConfig(trakt.client_id, trakt.client_secret, base_url=trakt.base_url)

Stability: testing (may change between minor versions).
"""

from __future__ import annotations

import itertools
import json
import math
import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

import attrs

from reclio.domain import OAuthToken
from reclio.testing._loopback import LoopbackService

__all__ = ["FakeAccount", "FakeList", "FakeTraktServer", "Fault", "Reply"]

MAX_LIMIT: Final = 250
_DEFAULT_LIMIT: Final = 100
_TOLERANCE: Final = 0.01
"""Seconds of slack in the write spacing (the pacer counts from answers, so it never needs it)."""

Json = Any


@attrs.frozen
class Reply:
    """What the server sends: a status, a JSON body (``None``: empty) and headers."""

    status: int
    body: Json = None
    headers: Mapping[str, str] = attrs.field(factory=dict)
    html: str | None = None


@attrs.define
class Fault:
    """A planned failure: requests matching ``method`` and ``path`` get ``reply``."""

    method: str
    path: str
    reply: Reply
    times: int = 1
    skip: int = 0
    """Matching requests to let through first."""


@attrs.define
class FakeList:
    """One personal list, with every version a read may still see."""

    list_id: int
    name: str
    description: str
    entries: list[dict[str, Json]] = attrs.Factory(list)
    updated_at: str = ""
    versions: list[tuple[float, list[dict[str, Json]], str]] = attrs.Factory(list)

    def view(self, at: float, lag: float) -> tuple[list[dict[str, Json]], str] | None:
        """What a read at ``at`` sees: the newest version at least ``lag`` old."""
        seen = None
        for stamp, entries, updated in self.versions:
            if stamp <= at - lag:
                seen = (entries, updated)
        return seen


@attrs.define
class FakeAccount:
    """One Trakt user: activity, lists, limits and tokens."""

    slug: str
    max_lists: int = 5
    max_items: int = 250
    vip: bool = False
    history: list[dict[str, Json]] = attrs.Factory(list)
    ratings: list[dict[str, Json]] = attrs.Factory(list)
    watchlist: list[dict[str, Json]] = attrs.Factory(list)
    playback: list[dict[str, Json]] = attrs.Factory(list)
    activities: dict[str, dict[str, str | None]] = attrs.Factory(dict)
    lists: dict[int, FakeList] = attrs.Factory(dict)
    access_token: str = ""
    refresh_token: str = ""
    created_at: int = 0
    expires_in: int = 86_400
    last_write: float | None = None
    write_times: list[float] = attrs.Factory(list)


class FakeTraktServer(LoopbackService):
    """Trakt on 127.0.0.1; start it with ``with`` or `start` / `stop`.

    Args:
        client_id: The app's client id (``trakt-api-key``).
        client_secret: The app's secret (OAuth token calls).
        write_interval: Seconds one user's writes must be apart (Trakt: 1).
        read_lag: Seconds list reads lag list writes.
        latency: Seconds each request takes.
        token_lifetime: ``expires_in`` of the tokens it issues (seconds).

    Attributes:
        requests: Every request answered: ``(method, path, status)``, in order.
        rate_limited_writes: Writes refused 429 for coming too soon after the last.
        limit_refusals: Requests answered 420.
        refreshes: Refresh-token grants served, per user.
        app_deleted: Answer every request 403, as Trakt does for a deleted app.
        unknown_tmdb: TMDB ids Trakt "does not know" (a list add answers them not_found).
    """

    def __init__(
        self,
        *,
        client_id: str = "fake-client-id",
        client_secret: str = "fake-client-secret",  # noqa: S107 - a fake's fixed value
        write_interval: float = 1.0,
        read_lag: float = 0.0,
        latency: float = 0.0,
        token_lifetime: int = 86_400,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.write_interval = write_interval
        self.read_lag = read_lag
        self.latency = latency
        self.token_lifetime = token_lifetime
        self.app_deleted = False
        self.unknown_tmdb: set[int] = set()
        self.requests: list[tuple[str, str, int]] = []
        self.rate_limited_writes = 0
        self.limit_refusals = 0
        self.refreshes: Counter[str] = Counter()
        self._accounts: dict[str, FakeAccount] = {}
        self._tokens: dict[str, str] = {}
        self._refresh: dict[str, str] = {}
        self._codes: dict[str, str] = {}
        self._devices: dict[str, tuple[str, list[int]]] = {}
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._entry_ids = itertools.count(1001)
        self._last_stamp = 0.0
        self._lock = threading.RLock()
        super().__init__()

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The API root to configure (``http://127.0.0.1:<port>``)."""
        return f"http://127.0.0.1:{self.port}"

    def _make_handler(self) -> type[BaseHTTPRequestHandler]:
        return _handler(self)

    # -- seeding -----------------------------------------------------------------------------

    def add_user(
        self,
        slug: str,
        *,
        max_lists: int = 5,
        max_items: int = 250,
        vip: bool = False,
        own_lists: int = 0,
    ) -> FakeAccount:
        """An account with a live token (see `token`) and ``own_lists`` lists of its own."""
        with self._lock:
            account = FakeAccount(slug, max_lists, max_items, vip)
            self._accounts[slug] = account
            self._issue(account)
            for n in range(own_lists):
                self._create_list(account, f"My list {n + 1}", "", at=-1e9)
            return account

    def account(self, slug: str) -> FakeAccount:
        """The account (to inspect or change directly)."""
        return self._accounts[slug]

    def token(self, slug: str) -> dict[str, Json]:
        """The user's current token pair, as Trakt's token answer shapes it."""
        account = self._accounts[slug]
        return {
            "access_token": account.access_token,
            "token_type": "bearer",
            "expires_in": account.expires_in,
            "refresh_token": account.refresh_token,
            "scope": "public",
            "created_at": account.created_at,
        }

    def oauth_token(self, slug: str) -> OAuthToken:
        """The user's current token pair as reclio stores it (for `CredentialStore.put_token`)."""
        account = self._accounts[slug]
        return OAuthToken(
            account.access_token,
            account.refresh_token,
            datetime.fromtimestamp(account.created_at, UTC),
            timedelta(seconds=account.expires_in),
        )

    def revoke(self, slug: str) -> None:
        """Revoke the user's tokens (as connecting another app on a free account may)."""
        with self._lock:
            account = self._accounts[slug]
            self._tokens.pop(account.access_token, None)
            self._refresh.pop(account.refresh_token, None)
            account.access_token = account.refresh_token = ""

    def login(self, slug: str) -> OAuthToken:
        """Issue the user a new token pair, as a new login would (the old pair is revoked)."""
        with self._lock:
            self._issue(self._accounts[slug])
            return self.oauth_token(slug)

    def expire_access(self, slug: str) -> None:
        """Make Trakt refuse the user's access token (401) while the refresh token works."""
        with self._lock:
            self._tokens.pop(self._accounts[slug].access_token, None)

    def authorization_code(self, slug: str) -> str:
        """A code the authorization-code flow exchanges for the user's token."""
        code = secrets.token_hex(8)
        self._codes[code] = slug
        return code

    def device_login(self, slug: str, answers: Sequence[int] = (400,)) -> None:
        """The next device code is entered by ``slug`` after these poll answers (400 ...)."""
        self._devices["next"] = (slug, list(answers))

    def edit_list(
        self,
        slug: str,
        name: str,
        *,
        add: Sequence[tuple[str, int]] = (),
        remove: Sequence[tuple[str, int]] = (),
    ) -> None:
        """The user edits a list by hand on trakt.tv.

        ``add`` and ``remove`` name entries as ``(kind, tmdb)``, kind ``"movie"`` or
        ``"show"``; additions go at the end.
        """
        with self._lock:
            for fake in self._accounts[slug].lists.values():
                if fake.name != name:
                    continue
                gone = set(remove)
                fake.entries = [
                    e for e in fake.entries if (e["type"], e[e["type"]]["ids"]["tmdb"]) not in gone
                ]
                for kind, tmdb in add:
                    media = self.movie(tmdb) if kind == "movie" else self.show(tmdb)
                    fake.entries.append(
                        {"id": next(self._entry_ids), "type": kind, kind: media, "notes": None}
                    )
                self._changed(fake, time.monotonic())
                return
            msg = f"{slug} holds no list {name!r}"
            raise KeyError(msg)

    def fail(self, method: str, path: str, reply: Reply, *, times: int = 1, skip: int = 0) -> None:
        """Answer the next ``times`` requests matching (after ``skip`` of them) with ``reply``.

        ``path`` matches the request path exactly, or as a prefix when it ends with ``*``.
        """
        with self._lock:
            self._faults.append(Fault(method, path, reply, times, skip))

    @staticmethod
    def movie(tmdb: int | None, *, trakt: int | None = None) -> dict[str, Json]:
        """A movie object (``{title, year, ids}``); ``tmdb=None`` has no TMDB id."""
        ids = {"trakt": trakt or (tmdb or 0) + 10_000_000, "slug": f"movie-{tmdb}", "tmdb": tmdb}
        return {"title": f"Movie {tmdb}", "year": 2000, "ids": ids}

    @staticmethod
    def show(tmdb: int | None, *, trakt: int | None = None) -> dict[str, Json]:
        """A show object; ``tmdb=None`` has no TMDB id."""
        ids = {"trakt": trakt or (tmdb or 0) + 20_000_000, "slug": f"show-{tmdb}", "tmdb": tmdb}
        return {"title": f"Show {tmdb}", "year": 2000, "ids": ids}

    def add_history(self, slug: str, plays: Iterable[tuple[str, int | None, datetime]]) -> None:
        """Record plays ``("movie" | "episode", tmdb id of the movie or show, when)``."""
        with self._lock:
            account = self._accounts[slug]
            for kind, tmdb, at in plays:
                item: dict[str, Json] = {
                    "id": next(self._ids) + 5_000_000,
                    "watched_at": _stamp(at),
                    "action": "scrobble",
                    "type": kind,
                }
                if kind == "movie":
                    item["movie"] = self.movie(tmdb)
                    section = "movies"
                else:
                    item["episode"] = {"season": 1, "number": 1, "title": "E", "ids": {}}
                    item["show"] = self.show(tmdb)
                    section = "episodes"
                account.history.append(item)
                self._moved(account, section, "watched_at", at)
            account.history.sort(key=lambda i: i["watched_at"], reverse=True)

    def add_rating(self, slug: str, kind: str, tmdb: int | None, rating: int, at: datetime) -> None:
        """Rate a movie or a show (``kind``: ``"movie"`` / ``"show"``)."""
        with self._lock:
            account = self._accounts[slug]
            media = self.movie(tmdb) if kind == "movie" else self.show(tmdb)
            account.ratings.append(
                {"rated_at": _stamp(at), "rating": rating, "type": kind, kind: media}
            )
            self._moved(account, "movies" if kind == "movie" else "shows", "rated_at", at)

    def add_watchlist(self, slug: str, kind: str, tmdb: int | None, at: datetime) -> None:
        """Put a movie or a show on the watchlist."""
        with self._lock:
            account = self._accounts[slug]
            media = self.movie(tmdb) if kind == "movie" else self.show(tmdb)
            account.watchlist.append(
                {
                    "rank": len(account.watchlist) + 1,
                    "id": next(self._entry_ids),
                    "listed_at": _stamp(at),
                    "notes": None,
                    "type": kind,
                    kind: media,
                }
            )
            self._moved(account, "movies" if kind == "movie" else "shows", "watchlisted_at", at)

    def add_playback(
        self, slug: str, kind: str, tmdb: int | None, progress: float, at: datetime
    ) -> None:
        """Pause a movie (``kind="movie"``) or an episode of a show (``kind="episode"``)."""
        with self._lock:
            account = self._accounts[slug]
            item: dict[str, Json] = {
                "progress": progress,
                "paused_at": _stamp(at),
                "id": next(self._ids),
                "type": kind,
            }
            if kind == "movie":
                item["movie"] = self.movie(tmdb)
            else:
                item["episode"] = {"season": 1, "number": 2, "title": "E", "ids": {}}
                item["show"] = self.show(tmdb)
            account.playback.append(item)
            self._moved(account, "movies" if kind == "movie" else "episodes", "paused_at", at)

    # -- inspecting --------------------------------------------------------------------------

    def count(self, method: str | None = None, path: str | None = None) -> int:
        """Requests answered so far, of ``method`` and with a path starting ``path``."""
        with self._lock:
            return sum(
                1
                for m, p, _ in self.requests
                if (method is None or m == method) and (path is None or p.startswith(path))
            )

    def list_titles(self, slug: str, name: str) -> list[str]:
        """What the list called ``name`` holds now (no lag): ``["movie:603", "show:1399"]``."""
        with self._lock:
            for fake in self._accounts[slug].lists.values():
                if fake.name == name:
                    return [f"{e['type']}:{e[e['type']]['ids']['tmdb']}" for e in fake.entries]
            return []

    def list_names(self, slug: str) -> list[str]:
        """The names of the user's lists, in creation order."""
        with self._lock:
            return [fake.name for fake in self._accounts[slug].lists.values()]

    def write_gaps(self, slug: str) -> list[float]:
        """Seconds between the arrivals of the user's accepted writes."""
        times = self._accounts[slug].write_times
        return [b - a for a, b in itertools.pairwise(times)]

    # -- serving -----------------------------------------------------------------------------

    def handle(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: Json,
    ) -> Reply:
        """Answer one request (the HTTP handler calls this; tests may too)."""
        if self.latency:
            time.sleep(self.latency)
        with self._lock:
            reply = self._route(method, path, query, headers, body)
            self.requests.append((method, path, reply.status))
            if reply.status == 420:
                self.limit_refusals += 1
            return reply

    def _route(  # noqa: C901, PLR0911, PLR0912 - one branch per endpoint
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: Json,
    ) -> Reply:
        if not headers.get("user-agent"):
            return Reply(
                403, html="<html><body><h1>Sorry, you have been blocked</h1></body></html>"
            )
        fault = self._fault(method, path)
        if fault is not None:
            return fault
        if self.app_deleted or headers.get("trakt-api-key") != self.client_id:
            return _trakt(403)
        if headers.get("trakt-api-version") != "2":
            return _trakt(400, {"error": "trakt-api-version must be 2"})
        if "application/json" not in headers.get("content-type", ""):
            return _trakt(412)
        if path.startswith("/oauth/"):
            return self._oauth(method, path, body or {})
        if method == "GET" and path == "/genres/movies":
            return _trakt(200, [{"name": "Action", "slug": "action"}])
        account = self._bearer(headers)
        if account is None:
            return _trakt(401)
        now = time.monotonic()
        if method == "POST":
            refused = self._pace(account, now)
            if refused is not None:
                return refused
        if method == "GET" and path == "/sync/last_activities":
            return _trakt(200, {"all": None, **account.activities})
        if method == "GET" and path in ("/sync/history", "/sync/history/movies,episodes"):
            items = account.history
            start = query.get("start_at")
            if start:
                items = [i for i in items if _parse(i["watched_at"]) >= _parse(start)]
            return _paged(items, query)
        if method == "GET" and path.startswith("/sync/ratings/"):
            kind = {"movies": "movie", "shows": "show"}.get(path.rsplit("/", 1)[1])
            items = [r for r in account.ratings if r["type"] == kind]
            return _paged(sorted(items, key=lambda r: r["rated_at"], reverse=True), query)
        if method == "GET" and path == "/sync/watchlist":
            return _paged(account.watchlist, query)
        if method == "GET" and path == "/sync/playback":
            return _paged(
                sorted(account.playback, key=lambda p: p["paused_at"], reverse=True), query
            )
        if method == "GET" and path == "/users/settings":
            return _trakt(200, self._settings(account))
        if path == "/users/me/lists":
            if method == "POST":
                return self._create(account, body or {}, now)
            return _paged(self._overview(account, now), query)
        if path.startswith("/users/me/lists/"):
            return self._list_call(account, method, path, query=query, body=body or {}, now=now)
        return _trakt(405)

    def _fault(self, method: str, path: str) -> Reply | None:
        for fault in self._faults:
            matches = (
                path.startswith(fault.path[:-1]) if fault.path.endswith("*") else path == fault.path
            )
            if fault.method == method and matches:
                if fault.skip:
                    fault.skip -= 1
                    return None
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault.reply
        return None

    def _bearer(self, headers: Mapping[str, str]) -> FakeAccount | None:
        auth = headers.get("authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else ""
        slug = self._tokens.get(token)
        return None if slug is None else self._accounts[slug]

    def _pace(self, account: FakeAccount, now: float) -> Reply | None:
        if (
            account.last_write is not None
            and now - account.last_write < self.write_interval - _TOLERANCE
        ):
            self.rate_limited_writes += 1
            until = datetime.now(UTC) + timedelta(seconds=self.write_interval)
            bucket = {
                "name": "AUTHED_API_POST_LIMIT",
                "period": 1,
                "limit": 1,
                "remaining": 0,
                "until": _stamp(until),
            }
            headers = {
                "Retry-After": str(math.ceil(self.write_interval)),
                "X-Ratelimit": json.dumps(bucket),
            }
            return _trakt(429, None, headers)
        account.last_write = now
        account.write_times.append(now)
        return None

    # -- OAuth -------------------------------------------------------------------------------

    def _issue(self, account: FakeAccount) -> dict[str, Json]:
        self._tokens.pop(account.access_token, None)
        self._refresh.pop(account.refresh_token, None)
        account.access_token = "access-" + secrets.token_hex(12)
        account.refresh_token = "refresh-" + secrets.token_hex(12)
        account.created_at = int(time.time())
        account.expires_in = self.token_lifetime
        self._tokens[account.access_token] = account.slug
        self._refresh[account.refresh_token] = account.slug
        return self.token(account.slug)

    def _oauth(self, method: str, path: str, body: Mapping[str, Json]) -> Reply:  # noqa: PLR0911
        if method != "POST":
            return _trakt(405)
        if body.get("client_id") != self.client_id:
            return _trakt(401, {"error": "invalid_client", "error_description": "unknown client"})
        if path == "/oauth/device/code":
            code = secrets.token_hex(16)
            self._devices[code] = self._devices.pop("next", ("", [410]))
            device = {
                "device_code": code,
                "user_code": code[:8].upper(),
                "verification_url": "https://trakt.tv/activate",
                "expires_in": 600,
                "interval": 5,
            }
            return _trakt(200, device)
        if body.get("client_secret") != self.client_secret:
            return _trakt(401, {"error": "invalid_client", "error_description": "bad secret"})
        if path == "/oauth/device/token":
            slug, answers = self._devices.get(str(body.get("code")), ("", [404]))
            if answers:
                return _trakt(answers.pop(0))
            return _trakt(200, self._issue(self._accounts[slug]))
        if path == "/oauth/revoke":
            holder = self._tokens.get(str(body.get("token")))
            if holder is not None:
                self.revoke(holder)
            return _trakt(200, {})
        if path == "/oauth/token":
            return self._grant(body)
        return _trakt(404)

    def _grant(self, body: Mapping[str, Json]) -> Reply:
        grant = body.get("grant_type")
        if grant == "refresh_token":
            slug = self._refresh.get(str(body.get("refresh_token")))
            if slug is None:
                refused = "The provided authorization grant is invalid, expired or revoked."
                return _trakt(401, {"error": "invalid_grant", "error_description": refused})
            self.refreshes[slug] += 1
            return _trakt(200, self._issue(self._accounts[slug]))
        if grant == "authorization_code":
            slug = self._codes.pop(str(body.get("code")), None)
            if slug is None:
                return _trakt(401, {"error": "invalid_grant", "error_description": "bad code"})
            return _trakt(200, self._issue(self._accounts[slug]))
        return _trakt(400, {"error": "unsupported_grant_type"})

    # -- lists -------------------------------------------------------------------------------

    def _settings(self, account: FakeAccount) -> dict[str, Json]:
        return {
            "user": {
                "username": account.slug,
                "private": False,
                "vip": account.vip,
                "ids": {"slug": account.slug},
            },
            "account": {"timezone": "UTC"},
            "limits": {
                "list": {"count": account.max_lists, "item_count": account.max_items},
                "watchlist": {"item_count": account.max_items},
                "favorites": {"item_count": 50},
            },
        }

    def _stamp_now(self) -> str:
        now = max(time.time(), self._last_stamp + 0.001)
        self._last_stamp = now
        return _stamp(datetime.fromtimestamp(now, UTC))

    def _create_list(
        self, account: FakeAccount, name: str, description: str, *, at: float
    ) -> FakeList:
        fake = FakeList(next(self._ids), name, description, updated_at=self._stamp_now())
        fake.versions.append((at, [], fake.updated_at))
        account.lists[fake.list_id] = fake
        return fake

    def _changed(self, fake: FakeList, now: float) -> None:
        fake.updated_at = self._stamp_now()
        fake.versions.append((now, [dict(e) for e in fake.entries], fake.updated_at))

    def _list_object(
        self, fake: FakeList, entries: Sequence[Json], updated_at: str
    ) -> dict[str, Json]:
        return {
            "name": fake.name,
            "description": fake.description,
            "privacy": "private",
            "type": "personal",
            "display_numbers": False,
            "allow_comments": False,
            "sort_by": "rank",
            "sort_how": "asc",
            "created_at": fake.versions[0][2],
            "updated_at": updated_at,
            "item_count": len(entries),
            "comment_count": 0,
            "likes": 0,
            "ids": {"trakt": fake.list_id, "slug": fake.name.lower().replace(" ", "-")},
        }

    def _overview(self, account: FakeAccount, now: float) -> list[dict[str, Json]]:
        shown = []
        for fake in account.lists.values():
            seen = fake.view(now, self.read_lag)
            if seen is not None:
                shown.append(self._list_object(fake, seen[0], seen[1]))
        return shown

    def _limit(self, account: FakeAccount) -> Reply:
        headers = {
            "X-Account-Limit": str(account.max_lists),
            "X-VIP-User": str(account.vip).lower(),
            "X-Upgrade-URL": "https://trakt.tv/vip",
        }
        return _trakt(420, None, headers)

    def _create(self, account: FakeAccount, body: Mapping[str, Json], now: float) -> Reply:
        if len(account.lists) >= account.max_lists:
            return self._limit(account)
        fake = self._create_list(
            account, str(body.get("name")), str(body.get("description") or ""), at=now
        )
        return _trakt(201, self._list_object(fake, [], fake.updated_at))

    def _list_call(  # noqa: PLR0911
        self,
        account: FakeAccount,
        method: str,
        path: str,
        *,
        query: Mapping[str, str],
        body: Mapping[str, Json],
        now: float,
    ) -> Reply:
        parts = path.removeprefix("/users/me/lists/").split("/")
        fake = account.lists.get(int(parts[0])) if parts[0].isdigit() else None
        if fake is None:
            return _trakt(404)
        action = "/".join(parts[1:])
        if method == "GET" and action == "items":
            seen = fake.view(now, self.read_lag)
            if seen is None:
                return _trakt(404)
            return _paged([dict(e, rank=n + 1) for n, e in enumerate(seen[0])], query)
        if method != "POST":
            return _trakt(405)
        if action == "items":
            return self._add(account, fake, body, now)
        if action == "items/remove":
            return self._remove(fake, body, now)
        if action == "items/reorder":
            return self._reorder(fake, body, now)
        return _trakt(404)

    def _answer(self, fake: FakeList, status: int, **counts: Json) -> Reply:
        return _trakt(
            status,
            {**counts, "list": {"updated_at": fake.updated_at, "item_count": len(fake.entries)}},
        )

    def _add(
        self, account: FakeAccount, fake: FakeList, body: Mapping[str, Json], now: float
    ) -> Reply:
        present = {(e["type"], e[e["type"]]["ids"]["tmdb"]) for e in fake.entries}
        added = {"movies": 0, "shows": 0}
        existing = {"movies": 0, "shows": 0}
        not_found: dict[str, list[Json]] = {
            "movies": [],
            "shows": [],
            "seasons": [],
            "episodes": [],
            "people": [],
        }
        new: list[dict[str, Json]] = []
        for section, kind in (("movies", "movie"), ("shows", "show")):
            for item in body.get(section) or []:
                tmdb = (item.get("ids") or {}).get("tmdb")
                if tmdb in self.unknown_tmdb or not isinstance(tmdb, int):
                    not_found[section].append(item)
                elif (kind, tmdb) in present:
                    existing[section] += 1
                else:
                    present.add((kind, tmdb))
                    media = self.movie(tmdb) if kind == "movie" else self.show(tmdb)
                    new.append(
                        {
                            "id": next(self._entry_ids),
                            "listed_at": self._stamp_now(),
                            "notes": None,
                            "type": kind,
                            kind: media,
                        }
                    )
                    added[section] += 1
        if len(fake.entries) + len(new) > account.max_items:
            return self._limit(account)
        fake.entries.extend(new)
        self._changed(fake, now)
        return self._answer(fake, 201, added=added, existing=existing, not_found=not_found)

    def _remove(self, fake: FakeList, body: Mapping[str, Json], now: float) -> Reply:
        deleted = {"movies": 0, "shows": 0}
        not_found: dict[str, list[Json]] = {
            "movies": [],
            "shows": [],
            "seasons": [],
            "episodes": [],
            "people": [],
        }
        for section, kind in (("movies", "movie"), ("shows", "show")):
            for item in body.get(section) or []:
                tmdb = (item.get("ids") or {}).get("tmdb")
                before = len(fake.entries)
                fake.entries = [
                    e
                    for e in fake.entries
                    if not (e["type"] == kind and e[kind]["ids"]["tmdb"] == tmdb)
                ]
                if len(fake.entries) < before:
                    deleted[section] += 1
                else:
                    not_found[section].append(item)
        self._changed(fake, now)
        return self._answer(fake, 200, deleted=deleted, not_found=not_found)

    def _reorder(self, fake: FakeList, body: Mapping[str, Json], now: float) -> Reply:
        rank = [i for i in body.get("rank") or [] if isinstance(i, int)]
        by_id = {e["id"]: e for e in fake.entries}
        named = [by_id[i] for i in dict.fromkeys(rank) if i in by_id]
        skipped = [i for i in rank if i not in by_id]
        rest = [e for e in fake.entries if e["id"] not in set(rank)]
        fake.entries = named + rest
        self._changed(fake, now)
        return self._answer(fake, 200, updated=len(named), skipped_ids=skipped)

    def _moved(self, account: FakeAccount, section: str, key: str, at: datetime) -> None:
        part = account.activities.setdefault(section, {})
        stamp = _stamp(max(at, datetime.now(UTC)))
        previous = part.get(key)
        if previous is not None and previous >= stamp:
            stamp = _stamp(_parse(previous) + timedelta(milliseconds=1))
        part[key] = stamp


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _trakt(status: int, body: Json = None, headers: Mapping[str, str] | None = None) -> Reply:
    """A reply from Trakt itself (it carries Trakt's request headers, unlike Cloudflare's)."""
    return Reply(
        status, body, {"X-Request-Id": secrets.token_hex(6), "X-Runtime": "0.01", **(headers or {})}
    )


def _paged(items: Sequence[Json], query: Mapping[str, str]) -> Reply:
    try:
        limit = min(int(query.get("limit", _DEFAULT_LIMIT)), MAX_LIMIT)  # the silent clamp
        page = max(int(query.get("page", 1)), 1)
    except ValueError:
        return _trakt(400)
    limit = max(limit, 1)
    pages = max(1, math.ceil(len(items) / limit))
    chunk = list(items[(page - 1) * limit : page * limit])
    headers = {
        "X-Pagination-Page": str(page),
        "X-Pagination-Limit": str(limit),
        "X-Pagination-Page-Count": str(pages),
        "X-Pagination-Item-Count": str(len(items)),
    }
    return _trakt(200, chunk, headers)


def _handler(server: FakeTraktServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: without this, Nagle's algorithm and the
        # peer's delayed ACK add 40 ms to every answer on loopback.
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw.strip() else None
            except ValueError:
                body = None
            headers = {k.lower(): v for k, v in self.headers.items()}
            reply = server.handle(
                self.command, url.path, query=dict(parse_qsl(url.query)), headers=headers, body=body
            )
            if reply.html is not None:
                payload = reply.html.encode()
                kind = "text/html; charset=UTF-8"
            else:
                payload = b"" if reply.body is None else json.dumps(reply.body).encode()
                kind = "application/json"
            self.send_response(reply.status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = _serve  # noqa: N815 - stdlib's names
        do_POST = _serve  # noqa: N815
        do_PUT = _serve  # noqa: N815
        do_DELETE = _serve  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib's name
            """Quiet: tests and benchmarks count requests instead of logging them."""

    return Handler
