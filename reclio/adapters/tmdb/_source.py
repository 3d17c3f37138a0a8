"""``TmdbCatalogSource``: the ``CatalogSource`` port over TMDB's v3 API."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Final

import httpx

from reclio._clock import Clock, require_aware, utc_now
from reclio.adapters._http import RateLimiter, Reply, RestClient, body_page_count, iter_pages
from reclio.adapters.tmdb._wire import (
    WireChanges,
    WireGenres,
    WireMovie,
    WirePage,
    WireShow,
    decode,
    make_converter,
    to_refs,
    to_title,
)
from reclio.domain import Genre, ItemRef, MediaType, Title
from reclio.ports import CandidateList, CatalogSource
from reclio.settings import HttpPolicy, TmdbConfig

__all__ = ["MAX_PAGE", "TmdbCatalogSource", "tmdb_limiter"]

_log = logging.getLogger("reclio.adapters.tmdb")

MAX_PAGE: Final = 500
"""TMDB serves pages 1 to 500 of any list; a later page is an error (status 22)."""

CHANGES_WINDOW: Final = timedelta(days=14)
"""The longest date range one ``/changes`` request may span (status 20 beyond)."""

_V3_KEY = re.compile(r"[0-9a-fA-F]{32}")

_LISTS: Final[dict[tuple[CandidateList, MediaType], str]] = {
    (CandidateList.POPULAR, MediaType.MOVIE): "/movie/popular",
    (CandidateList.POPULAR, MediaType.TV): "/tv/popular",
    (CandidateList.TOP_RATED, MediaType.MOVIE): "/movie/top_rated",
    (CandidateList.TOP_RATED, MediaType.TV): "/tv/top_rated",
    (CandidateList.TRENDING, MediaType.MOVIE): "/trending/movie/week",
    (CandidateList.TRENDING, MediaType.TV): "/trending/tv/week",
    (CandidateList.CURRENT, MediaType.MOVIE): "/movie/now_playing",
    (CandidateList.CURRENT, MediaType.TV): "/tv/on_the_air",
}

AUTH_HINT: Final = (
    "check RECLIO_TMDB_TOKEN (a v4 API read-access token or a v3 API key, from the API"
    " section of your themoviedb.org account settings)"
)


def is_v3_key(token: str) -> bool:
    """A v3 API key is 32 hex digits; anything else is taken for a v4 read-access token."""
    return _V3_KEY.fullmatch(token) is not None


def tmdb_limiter(config: TmdbConfig, policy: HttpPolicy) -> RateLimiter:
    """TMDB's process-wide budget: ``config.requests_per_second``, ``policy.max_concurrency``.

    The composition root makes it once and passes it to every ``TmdbCatalogSource``.
    """
    return RateLimiter(
        "tmdb",
        requests_per_second=config.requests_per_second,
        max_concurrency=policy.max_concurrency,
    )


class TmdbCatalogSource(CatalogSource):
    """**CatalogSource** over TMDB's v3 API (no extra needed: httpx is a core dependency).

    Authenticates with a v4 read-access token in ``Authorization: Bearer`` (preferred: it
    never appears in a URL) or with a v3 API key (32 hex digits), which is added to each
    request below httpx, so it appears in no logged URL and no error.

    * `get_title`: one request per title (details with ``append_to_response=credits``);
      ``None`` for a 404 (unknown, or deleted since `changed_since` reported it).
    * `candidates`: popular, top rated, trending (week), now playing / on the air; pages
      past TMDB's 500 are empty without a request.
    * `changed_since`: ``/changes`` in windows of at most 14 days, every page; titles
      flagged adult are left out, as the ranked lists leave them out.
    * `genres`: TMDB's genre table of a media type, in the configured language.

    Every request goes through the HTTP policy (``reclio.adapters._http``): the shared
    rate limiter, deadlines, retries; every failure is a reclio `SourceError`.

    Stability: caller-stable; implementer: internal.

    Args:
        config: Token, base URL, language, rate.
        policy: Timeouts, retries, ``User-Agent``.
        limiter: TMDB's process-wide budget (`tmdb_limiter`); a private one when ``None``.
        client: An ``httpx.AsyncClient`` to send through (not closed by `aclose`; a v3 key
            needs ``transport=`` instead).
        transport: The transport of the client built here (tests: ``httpx.MockTransport``).
        clock: Returns the current aware datetime (the end of `changed_since` windows).
        sleep: Awaitable sleep between retries (tests pass a fake).
    """

    def __init__(
        self,
        config: TmdbConfig,
        *,
        policy: HttpPolicy | None = None,
        limiter: RateLimiter | None = None,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = utc_now,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        policy = policy or HttpPolicy()
        token = config.token
        v3 = is_v3_key(token)
        self._config = config
        self._clock = clock
        self._converter = make_converter()
        self._http = RestClient(
            service="tmdb",
            base_url=config.base_url,
            policy=policy,
            limiter=limiter or tmdb_limiter(config, policy),
            client=client,
            transport=transport,
            headers={} if v3 else {"Authorization": f"Bearer {token}"},
            query_secret=("api_key", token) if v3 else None,
            secrets=[token],
            auth_hint=AUTH_HINT,
            sleep=sleep,
        )

    def __repr__(self) -> str:
        return f"TmdbCatalogSource({self._config.base_url!r})"

    @property
    def limiter(self) -> RateLimiter:
        """The budget every request waits for."""
        return self._http.limiter

    async def aclose(self) -> None:
        """Close the HTTP client built here (an injected one is left open)."""
        await self._http.aclose()

    async def ping(self) -> None:
        """Return if TMDB accepts the token (``GET /authentication``).

        Raises:
            AuthenticationError: the token is refused (the message names RECLIO_TMDB_TOKEN).
            SourceError: TMDB could not be reached or failed.
        """
        await self._http.get("/authentication", operation="ping")

    async def get_title(self, ref: ItemRef) -> Title | None:
        """The title with its details and credits, or ``None`` if TMDB does not know it.

        Raises:
            DecodeError: TMDB's answer is not a title; ``errors`` name the field.
            SourceError: TMDB failed (after the policy's retries).
        """
        reply = await self._http.get(
            f"/{ref.media_type.value}/{ref.tmdb_id}",
            operation="get_title",
            params={"append_to_response": "credits", "language": self._config.language},
            missing_ok=True,
        )
        if reply is None:
            _log.debug("%s is not on TMDB (unknown, or deleted upstream)", ref)
            return None
        wire_type: type[WireMovie | WireShow] = (
            WireMovie if ref.media_type is MediaType.MOVIE else WireShow
        )
        wire = decode(self._converter, reply.body, wire_type, what=str(ref), operation="get_title")
        return to_title(wire, ref)

    async def candidates(
        self, which: CandidateList, media_type: MediaType, *, page: int = 1
    ) -> Sequence[ItemRef]:
        """One page of a ranked list, best first; empty past the last page (or past 500).

        Raises:
            ValueError: ``page`` is below 1.
            SourceError: TMDB failed.
        """
        if page < 1:
            msg = f"pages start at 1, got {page}"
            raise ValueError(msg)
        if page > MAX_PAGE:
            return []
        path = _LISTS[which, media_type]
        reply = await self._get_page(path, page, operation="candidates")
        wire = decode(self._converter, reply.body, WirePage, what=path, operation="candidates")
        return to_refs(wire, media_type, operation="candidates")

    async def changed_since(self, media_type: MediaType, since: datetime) -> Sequence[ItemRef]:
        """Titles changed on or after ``since``'s day (UTC), in TMDB's order, each once.

        ``/changes`` counts in whole days, so titles changed earlier that day are included.

        Raises:
            ValueError: ``since`` is naive.
            SourceError: TMDB failed.
        """
        start = require_aware(since, "since").astimezone(UTC).date()
        today = self._clock().astimezone(UTC).date()
        path = f"/{media_type.value}/changes"
        refs: dict[ItemRef, None] = {}
        for first, last in _windows(start, today):
            params = {"start_date": first.isoformat(), "end_date": last.isoformat()}

            async def fetch(page: int, params: dict[str, str] = params) -> Reply:
                return await self._get_page(path, page, operation="changed_since", **params)

            async for reply in iter_pages(fetch, body_page_count, last=MAX_PAGE):
                wire = decode(
                    self._converter, reply.body, WireChanges, what=path, operation="changed_since"
                )
                refs.update(dict.fromkeys(to_refs(wire, media_type, operation="changed_since")))
        return list(refs)

    async def genres(self, media_type: MediaType) -> tuple[Genre, ...]:
        """TMDB's genres of ``media_type``, named in the configured language.

        Raises:
            SourceError: TMDB failed.
        """
        path = f"/genre/{media_type.value}/list"
        reply = await self._http.get(
            path, operation="genres", params={"language": self._config.language}
        )
        assert reply is not None  # noqa: S101 - only missing_ok requests return None
        wire = decode(self._converter, reply.body, WireGenres, what=path, operation="genres")
        return tuple(Genre(g.id, g.name) for g in wire.genres)

    async def _get_page(self, path: str, page: int, *, operation: str, **extra: str) -> Reply:
        reply = await self._http.get(
            path,
            operation=operation,
            params={"page": page, "language": self._config.language, **extra},
        )
        assert reply is not None  # noqa: S101 - only missing_ok requests return None
        return reply


def _windows(start: date, today: date) -> list[tuple[date, date]]:
    """``[start, today]`` cut into ranges of at most `CHANGES_WINDOW` (none if start > today).

    Consecutive windows share their boundary day: TMDB's end date is inclusive, and one day
    read twice costs nothing but a duplicate, removed by the caller.
    """
    windows = []
    while start <= today:
        end = min(start + CHANGES_WINDOW, today)
        windows.append((start, end))
        if end >= today:
            break
        start = end
    return windows
