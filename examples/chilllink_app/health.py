"""``GET /healthz``: the state store, and the last health verdict; 503 when degraded.

The health round (`reclio.diagnostics.HealthMonitor`, hourly) runs in one app process at
a time (the scheduler holds its lease), which publishes its report in the state store
(cursor ``app:health:last``); every process answers ``/healthz`` with the newer of its own
last report and the published one, so each shows a verdict whichever process probed.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Final

from starlette.responses import JSONResponse, Response

from reclio.errors import SourceError
from reclio.ports import CursorStore, SupportsPing

if TYPE_CHECKING:
    from starlette.requests import Request

    from examples.chilllink_app.server import AppState
    from reclio.diagnostics import HealthReport

__all__ = ["SHARED_HEALTH", "healthz", "publish"]

SHARED_HEALTH: Final = "app:health:last"


async def publish(store: CursorStore, report: HealthReport) -> None:
    """Share a health report with every app process (raises `SourceError`)."""
    await store.set_cursor(SHARED_HEALTH, json.dumps(report.as_json(), separators=(",", ":")))


async def _shared(store: CursorStore) -> dict[str, object] | None:
    try:
        text = await store.get_cursor(SHARED_HEALTH)
        data = json.loads(text) if text else None
    except (SourceError, ValueError):
        return None
    return data if isinstance(data, dict) and "checked_at" in data else None


def _newer(a: dict[str, object] | None, b: dict[str, object] | None) -> dict[str, object] | None:
    if a is None or b is None:
        return a or b
    try:
        newer_b = datetime.fromisoformat(str(b["checked_at"])) > datetime.fromisoformat(
            str(a["checked_at"])
        )
    except ValueError:
        return a
    return b if newer_b else a


async def _store_problem(state: AppState) -> tuple[str | None, int | None]:
    store = state.runtime.store
    try:
        if isinstance(store, SupportsPing):
            await store.ping()
        users = len(await store.user_ids())
    except SourceError as exc:
        return str(exc), None
    if users == 0:
        # A mistyped RECLIO_STATE_PATH opens an empty store: every row would be non-personal.
        return "the state holds no users: check RECLIO_STATE_PATH, or run a user sync", 0
    return None, users


async def healthz(request: Request) -> Response:
    """The store's state and the last health verdict, with the scheduler's last runs."""
    state: AppState = request.app.state.reclio
    problem, users = await _store_problem(state)
    own = state.runtime.health.last
    verdict = _newer(own.as_json() if own is not None else None, await _shared(state.runtime.store))
    degraded = problem is not None or (verdict is not None and verdict["status"] != "ok")
    body: dict[str, object] = {
        "status": "degraded" if degraded else "ok",
        "store": problem or "ok",
        "users": users,
        "health": verdict,
    }
    if state.scheduler is not None:
        body["scheduler"] = {
            name: {key: job.as_json()[key] for key in ("state", "finished_at", "error")}
            for name, job in state.scheduler.last.items()
        }
    return JSONResponse(body, status_code=503 if degraded else 200)
