"""``reclio sync content`` and ``reclio sync users``: the sync pipelines on the configured adapters.

The adapters come from the configuration through `reclio.bootstrap`. With no external
service configured that is the embedded default: the generated catalog and users in process,
state and lists in the SQLite file ``RECLIO_STATE_PATH``.
"""

from __future__ import annotations

import argparse
import asyncio

from reclio.bootstrap import Runtime, build
from reclio.cli._common import Commands, add_state, config_of, positive_int
from reclio.cli._output import emit_json, progress_bars, say, warn
from reclio.domain import SyncReport, UserState

__all__ = ["enroll_world", "register"]

EXIT_FAILURE = 1


def register(commands: Commands[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Add ``sync content`` and ``sync users``."""
    sync = commands.add_parser("sync", parents=[common], help="run content sync or user sync")
    which = sync.add_subparsers(dest="sync_command", required=True, metavar="PIPELINE")

    content = which.add_parser(
        "content", parents=[common], help="catalog -> recommender, embeddings, index"
    )
    add_state(content)
    content.add_argument("--json", action="store_true", help="print the report as JSON")
    content.set_defaults(handler=_content)

    users = which.add_parser(
        "users", parents=[common], help="users' activity -> recommender, managed lists"
    )
    users.add_argument("--user", metavar="USER_ID", help="sync only this user (default: all due)")
    users.add_argument("--force", action="store_true", help="recompute lists without activity")
    users.add_argument(
        "--concurrency", type=positive_int, default=4, help="users at once (default 4)"
    )
    add_state(users)
    users.add_argument("--json", action="store_true", help="print the reports as JSON")
    users.set_defaults(handler=_users)


async def enroll_world(runtime: Runtime) -> int:
    """Register the embedded world's generated users the store does not know yet.

    Returns:
        How many were added (0 when the interactions are not the embedded world's).
    """
    world = runtime.jobs.world
    if world is None:
        return 0
    known = set(await runtime.store.user_ids())
    missing = [user_id for user_id in world.user_ids if user_id not in known]
    for user_id in missing:
        await runtime.store.put_user(UserState(user_id))
    return len(missing)


def _content(args: argparse.Namespace) -> int:
    config = config_of(args)

    async def job() -> SyncReport:
        async with build(config) as runtime:
            with progress_bars() as progress:
                return await runtime.content_sync.run(progress=progress)

    report = asyncio.run(job())
    if args.json:
        emit_json(report.to_dict())
    else:
        say(report.summary())
    return 0 if report.ok else EXIT_FAILURE


def _users(args: argparse.Namespace) -> int:
    config = config_of(args)

    async def job() -> tuple[list[SyncReport], list[tuple[str, str]]]:
        async with build(config) as runtime:
            if args.user:
                return [await runtime.user_sync.sync(args.user, force=args.force)], []
            await enroll_world(runtime)
            with progress_bars() as progress:
                sweep = await runtime.user_sync.sweep(
                    concurrency=args.concurrency, force=args.force, progress=progress
                )
            return list(sweep.reports), list(sweep.failed)

    reports, failed = asyncio.run(job())
    for user_id, why in failed:
        warn(f"user {user_id}: {why}")
    if args.json:
        emit_json({"reports": [r.to_dict() for r in reports], "failed": dict(failed)})
    elif not reports:
        say("no user is due")
    else:
        say(SyncReport.total(f"users ({len(reports)})", reports).summary())
    return 0 if not failed and all(r.ok for r in reports) else EXIT_FAILURE
