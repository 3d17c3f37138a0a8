"""A ChillLink addon server for Chillio on reclio: ``/manifest``, ``/feeds``, ``/healthz``.

Run it against a state file written by ``reclio demo --state state.sqlite3``::

    pip install "reclio[examples]"
    RECLIO_STATE_PATH=state.sqlite3 uvicorn examples.chilllink_app:app

then ask for ``/feeds?user_id=demo&last_watched=movie:603``. The app reads state and counts
feed requests (they set how often a user is synced); the sync pipelines (``reclio sync ...``)
write everything else.

Users are identified by ``user_id`` only, never by a Trakt username: give each user an
unguessable id (e.g. ``secrets.token_urlsafe(16)``) in the addon URL you hand them, so one
user cannot read another's rows.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Final

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reclio import chilllink
from reclio.adapters.memory import InMemoryStateStore
from reclio.adapters.sqlite import SqliteStateStore
from reclio.config import ReclioConfig
from reclio.errors import SourceError
from reclio.feeds import FeedBuilder
from reclio.ports import StateStore, SupportsPing

logger = logging.getLogger("reclio.examples.app")

MAX_USER_ID: Final = 128
MAX_HINT: Final = 40


async def _count_request(store: StateStore, user_id: str) -> None:
    """Count a feed request after the response went out; losing one count is harmless."""
    if not user_id:
        return
    try:
        await store.record_feed_request(user_id, datetime.now(UTC))
    except SourceError as exc:
        logger.warning("could not count a feed request of %r: %s", user_id, exc)


def create_app(store: StateStore | None = None) -> Starlette:
    """The ASGI app; ``store`` defaults to the SQLite file named by ``RECLIO_STATE_PATH``."""
    # A store that knows nobody: if the real builder ever hits a bug, /feeds still answers
    # with the non-personal layout instead of a 5xx.
    fallback = FeedBuilder(InMemoryStateStore())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        owned = store is None
        app.state.store = store or SqliteStateStore(ReclioConfig.from_env().state.path)
        app.state.builder = FeedBuilder(app.state.store)
        try:
            yield
        finally:
            if owned:
                await app.state.store.aclose()

    async def manifest(_request: Request) -> Response:
        return JSONResponse(chilllink.manifest())

    async def feeds(request: Request) -> Response:
        # Over-long parameters are cut, never a 4xx: Chillio shows whatever /feeds answers.
        user_id = request.query_params.get("user_id", "")[:MAX_USER_ID]
        hint = request.query_params.get("last_watched", "")[:MAX_HINT] or None
        builder: FeedBuilder = request.app.state.builder
        try:
            response = await builder.build(user_id, last_watched=hint)
        except Exception:  # the one place a bug must not become a 5xx for the app
            logger.exception("feeds for %r failed; answering the non-personal layout", user_id)
            response = await fallback.build(user_id)
        background = BackgroundTask(_count_request, request.app.state.store, user_id)
        return Response(
            chilllink.dumps(response), media_type="application/json", background=background
        )

    async def healthz(request: Request) -> Response:
        store = request.app.state.store
        if isinstance(store, SupportsPing):
            try:
                await store.ping()
            except SourceError as exc:
                return JSONResponse({"status": "degraded", "store": str(exc)}, status_code=503)
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/manifest", manifest),
            Route("/feeds", feeds),
            Route("/healthz", healthz),
        ],
        lifespan=lifespan,
    )


app = create_app()
