"""``/admin/...``: Recombee diagnose, sync triggers and their progress, behind a token.

Routes: ``GET /admin/recombee/diagnose``, ``POST /admin/sync/content``, ``POST
/admin/sync/users`` (a sweep of the users who are due), ``POST /admin/sync/user/{id}``
(one user, lists recomputed), ``GET /admin/jobs`` and ``GET /admin/jobs/{id}``.

Every admin route sits behind `AdminGuard`, an ASGI wrapper that answers before any
handler runs: 503 when the app has no admin token (``RECLIO_ADMIN_TOKEN`` unset), 401 when
the ``X-Admin-Token`` header is missing or wrong. Both answers cost the same: the given
header and the configured token are hashed to fixed-length digests and compared with
`hmac.compare_digest`, configured or not, so timing tells nothing about the token (not
even its length).

Sync triggers start background work and answer 202 with the job and where to read its
progress (``GET /admin/jobs/{id}``, also in the ``Location`` header).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final

from starlette.responses import JSONResponse, Response
from starlette.routing import Route, Router

from reclio.adapters.recombee import RecombeeRecommender
from reclio.diagnostics import diagnose_recombee

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.types import ASGIApp, Receive, Scope, Send

    from examples.chilllink_app.server import AppState
    from reclio.bootstrap import Jobs
    from reclio.domain import ProgressCallback

__all__ = ["AdminGuard", "AdminSecret", "admin_routes", "run_sweep"]

HEADER: Final = b"x-admin-token"
DIAGNOSE_TIMEOUT: Final = 60.0
MAX_USER_ID: Final = 128


class AdminSecret:
    """The admin token as a digest, and a constant-time check of a given header.

    Args:
        token: The configured token, or ``None`` (then every check fails, at the same cost).
    """

    def __init__(self, token: str | None) -> None:
        self.configured = token is not None
        # Unconfigured, compare against a random digest: the same work, and nothing matches.
        secret = token.encode() if token is not None else secrets.token_bytes(32)
        self._digest = hashlib.sha256(secret).digest()

    def __repr__(self) -> str:
        return f"AdminSecret(configured={self.configured})"

    def matches(self, given: bytes) -> bool:
        """True when ``given`` is the token (constant time in ``given`` and the token)."""
        same = hmac.compare_digest(hashlib.sha256(given).digest(), self._digest)
        return same and self.configured


def _refusal(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status)


_UNCONFIGURED: Final = _refusal(
    503, "the admin routes are off: set RECLIO_ADMIN_TOKEN (16 characters or more) and restart"
)
_WRONG: Final = _refusal(401, "missing or wrong X-Admin-Token header")


class AdminGuard:
    """Lets a request through to ``app`` only with the right ``X-Admin-Token`` header.

    Args:
        app: The admin routes.
        secret: Returns the app's `AdminSecret` for a request's scope.
    """

    def __init__(self, app: ASGIApp, secret: Callable[[Scope], AdminSecret]) -> None:
        self._app = app
        self._secret = secret

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        given = next((value for name, value in scope["headers"] if name == HEADER), b"")
        secret = self._secret(scope)
        if secret.matches(given):
            await self._app(scope, receive, send)
            return
        refusal = _UNCONFIGURED if not secret.configured else _WRONG
        await refusal(scope, receive, send)


def _state(request: Request) -> AppState:
    return request.app.state.reclio  # type: ignore[no-any-return]


def _accepted(job_json: Mapping[str, object], *, started: bool) -> Response:
    where = f"/admin/jobs/{job_json['id']}"
    body = {"job": job_json, "started": started, "progress_url": where}
    return JSONResponse(body, status_code=202, headers={"location": where})


async def _diagnose(request: Request) -> Response:
    state = _state(request)
    runtime = state.runtime
    remote = state.recommender if isinstance(state.recommender, RecombeeRecommender) else None
    async with asyncio.timeout(DIAGNOSE_TIMEOUT):
        diagnosis = await diagnose_recombee(
            runtime.config.recombee, runtime.store, recommender=remote
        )
    return JSONResponse(diagnosis.as_json())


async def _sync_content(request: Request) -> Response:
    state = _state(request)
    content = state.require_jobs().content_sync

    async def work(progress: ProgressCallback) -> Mapping[str, object]:
        return (await content.run(progress=progress)).to_dict()

    job, started = state.board.start("content-sync", work)
    return _accepted(job.as_json(), started=started)


async def _sync_user(request: Request) -> Response:
    state = _state(request)
    user_id = str(request.path_params["user_id"])
    if len(user_id) > MAX_USER_ID or await state.runtime.store.get_user(user_id) is None:
        message = "unknown user: add it with `reclio users add USER_ID` first"
        return _refusal(404, message)
    users = state.require_jobs().user_sync

    async def work(_progress: ProgressCallback) -> Mapping[str, object]:
        return (await users.sync(user_id, force=True)).to_dict()

    job, started = state.board.start("user-sync", work, subject=user_id)
    return _accepted(job.as_json(), started=started)


async def _sync_users(request: Request) -> Response:
    state = _state(request)
    jobs = state.require_jobs()
    concurrency = state.settings.sweep_concurrency

    async def work(progress: ProgressCallback) -> Mapping[str, object]:
        return await run_sweep(jobs, concurrency=concurrency, progress=progress)

    job, started = state.board.start("user-sweep", work)
    return _accepted(job.as_json(), started=started)


async def run_sweep(
    jobs: Jobs, *, concurrency: int, progress: ProgressCallback
) -> dict[str, object]:
    """Sync every due user, then refit the local engine if anything was pushed.

    Returns:
        What the sweep did, JSON-ready (the scheduler's and the admin trigger's result).
    """
    report = await jobs.user_sync.sweep(concurrency=concurrency, progress=progress)
    pushed = sum(r.pushed for r in report.reports)
    fit = getattr(jobs.recommender, "fit", None)  # the local engine refits on demand
    if pushed and fit is not None:
        await fit()
    return {
        "synced": len(report.reports),
        "pushed": pushed,
        "lease_held": list(report.lease_held),
        "failed": [f"{user}: {why}" for user, why in report.failed],
        "ok": report.ok,
    }


async def _job(request: Request) -> Response:
    job = _state(request).board.get(str(request.path_params["job_id"]))
    if job is None:
        return _refusal(404, "no such job (the app remembers the last 200)")
    return JSONResponse(job.as_json())


async def _jobs(request: Request) -> Response:
    return JSONResponse({"jobs": [job.as_json() for job in _state(request).board.recent()]})


def admin_routes() -> Router:
    """The admin routes (mount them behind `AdminGuard`)."""
    return Router(
        routes=[
            Route("/recombee/diagnose", _diagnose, methods=["GET"]),
            Route("/sync/content", _sync_content, methods=["POST"]),
            Route("/sync/users", _sync_users, methods=["POST"]),
            Route("/sync/user/{user_id}", _sync_user, methods=["POST"]),
            Route("/jobs", _jobs, methods=["GET"]),
            Route("/jobs/{job_id}", _job, methods=["GET"]),
        ]
    )
