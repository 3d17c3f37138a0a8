"""``reclio sync content`` and ``reclio sync users``: the sync pipelines from the command line.

The adapters come from the configuration (``ReclioConfig.from_env``). With no external
service configured that is the embedded default: the generated catalog and users in
process, state in the SQLite file ``RECLIO_STATE_PATH``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from reclio.config import ReclioConfig
from reclio.domain import UserState
from reclio.errors import LeaseHeld, ReclioError, SyncError
from reclio.sync._content import rebuild_index
from reclio.domain.reports import Progress, SyncReport

__all__ = ["register"]

WORLD_MOMENT = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
"""The embedded world's activity leads up to this moment in every process, so repeated
runs against one state file see the same history."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``sync content`` and ``sync users`` to the ``reclio`` command."""
    sync = commands.add_parser("sync", help="run content sync or user sync")
    which = sync.add_subparsers(dest="sync_command", required=True, metavar="PIPELINE")

    content = which.add_parser("content", help="catalog -> recommender, embeddings, index")
    content.add_argument("--state", help="SQLite state file (default: RECLIO_STATE_PATH)")
    content.set_defaults(handler=_cmd_content)

    users = which.add_parser("users", help="users' activity -> recommender, managed lists")
    users.add_argument("--user", help="sync only this user (default: every user now due)")
    users.add_argument("--force", action="store_true", help="recompute lists without activity")
    users.add_argument("--concurrency", type=int, default=4, help="users at once (default 4)")
    users.add_argument("--state", help="SQLite state file (default: RECLIO_STATE_PATH)")
    users.set_defaults(handler=_cmd_users)


def _say(text: str, *, error: bool = False) -> None:
    stream = sys.stderr if error else sys.stdout
    stream.write(text + "\n")


def _config(args: argparse.Namespace) -> ReclioConfig | None:
    config = ReclioConfig.from_env()
    if not config.embedded:
        _say(
            "reclio sync: the TMDB, Trakt and Recombee adapters are not part of this version;"
            " unset RECLIO_TMDB_TOKEN, RECLIO_TRAKT_* and RECLIO_RECOMBEE_* to sync the"
            " embedded default",
            error=True,
        )
        return None
    if args.state:
        config = ReclioConfig.embedded_default(args.state)
    return config


def _run(job: Callable[[], Coroutine[Any, Any, int]]) -> int:
    try:
        return asyncio.run(job())
    except LeaseHeld as exc:
        _say(f"reclio sync: {exc}", error=True)
        return 3
    except SyncError as exc:
        _say(f"reclio sync: {exc}\n{exc.report.summary()}", error=True)
        return 1
    except ReclioError as exc:
        _say(f"reclio sync: {exc}", error=True)
        return 2


def _cmd_content(args: argparse.Namespace) -> int:
    from rich.progress import Progress as Bar  # noqa: PLC0415 - only the CLI needs rich

    from reclio.sync._embedded import embedded_pipelines  # noqa: PLC0415 - pulls numpy

    config = _config(args)
    if config is None:
        return 2

    async def job() -> int:
        pipelines = embedded_pipelines(state_path=config.state.path, now=WORLD_MOMENT)
        try:
            with Bar(transient=True) as bar:
                tasks: dict[str, object] = {}

                def show(step: Progress) -> None:
                    if step.stage not in tasks:
                        tasks[step.stage] = bar.add_task(step.stage, total=step.total)
                    bar.update(tasks[step.stage], completed=step.done, total=step.total)  # type: ignore[arg-type]

                report = await pipelines.content.run(progress=show)
        finally:
            await pipelines.store.aclose()
        _say(report.summary())
        return 0 if report.ok else 1

    return _run(job)


def _cmd_users(args: argparse.Namespace) -> int:
    from reclio.sync._embedded import embedded_pipelines  # noqa: PLC0415 - pulls numpy

    config = _config(args)
    if config is None:
        return 2

    async def job() -> int:
        pipelines = embedded_pipelines(state_path=config.state.path, now=WORLD_MOMENT)
        store = pipelines.store
        try:
            # A worker that only syncs users loads the index content sync stored.
            await rebuild_index(store, pipelines.index)
            if args.user:
                reports = [await pipelines.users.sync(args.user, force=args.force)]
                failures = 0
            else:
                known = set(await store.user_ids())
                for user_id in pipelines.user_ids:
                    if user_id not in known:
                        await store.put_user(UserState(user_id))
                sweep = await pipelines.users.sweep(concurrency=args.concurrency, force=args.force)
                reports = list(sweep.reports)
                failures = len(sweep.failed)
                for user_id, why in sweep.failed:
                    _say(f"user {user_id}: {why}", error=True)
        finally:
            await store.aclose()
        if not reports:
            _say("no user is due")
            return 0 if not failures else 1
        _say(SyncReport.total(f"users ({len(reports)})", reports).summary())
        return 0 if failures == 0 and all(r.ok for r in reports) else 1

    return _run(job)
