"""A ChillLink addon server for Chillio on reclio: ``/manifest``, ``/feeds``, ``/healthz``.

Run it against a state file written by ``reclio demo --state state.sqlite3``::

    pip install "reclio[examples]"
    RECLIO_STATE_PATH=state.sqlite3 uvicorn examples.chilllink_app:app

then ask for ``/feeds?user_id=demo&last_watched=movie:603``. The app gets its graph from
``reclio.bootstrap.build`` (serving only: no engine, no sources); it reads state and counts
the feed requests of known users in memory, written in batches (they set how often a user is
synced); the sync pipelines (``reclio sync ...``) write everything else.

Users are identified by ``user_id`` only, never by a Trakt username: give each user an
unguessable id (e.g. ``secrets.token_urlsafe(16)``) in the addon URL you hand them, so one
user cannot read another's rows.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reclio import bootstrap, chilllink
from reclio.config import ReclioConfig
from reclio.errors import SourceError
from reclio.feeds import FeedBuilder
from reclio.ports import StateStore, SupportsPing

logger = logging.getLogger("reclio.examples.app")

MAX_USER_ID: Final = 128
MAX_HINT: Final = 40


class _Nobody:
    """A store that knows nobody: the builder over it serves the non-personal layout."""

    async def get_user(self, _user_id: str) -> None:
        return None

    async def get_titles(self, _refs: object) -> list[object]:
        return []


# If the real builder ever hits a bug, /feeds still answers with the non-personal layout.
_FALLBACK: Final = FeedBuilder(_Nobody())  # type: ignore[arg-type]


def create_app(
    store: StateStore | None = None, *, config: ReclioConfig | None = None
) -> Starlette:
    """The ASGI app, wired by ``reclio.bootstrap`` from ``config`` (default: the environment).

    Args:
        store: Use this state store instead of the configured one (tests).
        config: The configuration (default: ``ReclioConfig.from_env()``).
    """

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        runtime = bootstrap.build(config or ReclioConfig.from_env(), jobs=False, store=store)
        async with runtime:
            app.state.runtime = runtime
            yield

    async def manifest(_request: Request) -> Response:
        return JSONResponse(chilllink.manifest())

    async def feeds(request: Request) -> Response:
        # Over-long parameters are cut, never a 4xx: Chillio shows whatever /feeds answers.
        user_id = request.query_params.get("user_id", "")[:MAX_USER_ID]
        hint = request.query_params.get("last_watched", "")[:MAX_HINT] or None
        runtime: bootstrap.Runtime = request.app.state.runtime
        try:
            response = await runtime.feed_builder.build(user_id, last_watched=hint)
        except Exception:  # the one place a bug must not become a 5xx for the app
            logger.exception("feeds for %r failed; answering the non-personal layout", user_id)
            response = await _FALLBACK.build(user_id)
        return Response(chilllink.dumps(response), media_type="application/json")

    async def healthz(request: Request) -> Response:
        runtime: bootstrap.Runtime = request.app.state.runtime
        store = runtime.store
        if isinstance(store, SupportsPing):
            try:
                await store.ping()
            except SourceError as exc:
                return JSONResponse({"status": "degraded", "store": str(exc)}, status_code=503)
        try:
            users = len(await store.user_ids())
        except SourceError as exc:
            return JSONResponse({"status": "degraded", "store": str(exc)}, status_code=503)
        if users == 0:
            # A mistyped RECLIO_STATE_PATH opens an empty store: every row would be non-personal.
            why = "the state holds no users: check RECLIO_STATE_PATH, or run a user sync"
            return JSONResponse({"status": "degraded", "store": why}, status_code=503)
        return JSONResponse({"status": "ok", "users": users})

    return Starlette(
        routes=[
            Route("/manifest", manifest),
            Route("/feeds", feeds),
            Route("/healthz", healthz),
        ],
        lifespan=lifespan,
    )


app = create_app()
