"""``reclio worker`` and ``reclio state copy``: running reclio past one machine."""

from __future__ import annotations

import argparse

from reclio.cli._common import Commands, config_of, positive_int
from reclio.cli._output import say, warn

__all__ = ["register"]


def register(commands: Commands[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Add ``worker`` and ``state copy``."""
    worker = commands.add_parser(
        "worker",
        parents=[common],
        help="sync users and content from the job queue (needs RECLIO_STATE_URL)",
    )
    worker.add_argument(
        "--concurrency", type=positive_int, default=4, help="jobs at once (default 4)"
    )
    worker.set_defaults(handler=_worker)

    state = commands.add_parser("state", parents=[common], help="move reclio's state")
    which = state.add_subparsers(dest="state_command", required=True, metavar="ACTION")
    copy = which.add_parser(
        "copy", parents=[common], help="copy a SQLite state file into PostgreSQL"
    )
    copy.add_argument("sqlite_path", metavar="SQLITE_PATH")
    copy.add_argument("postgres_url", metavar="POSTGRES_URL")
    copy.set_defaults(handler=_copy)


def _worker(args: argparse.Namespace) -> int:
    from reclio.jobs import run_worker  # noqa: PLC0415 - procrastinate, only here

    run_worker(config_of(args), concurrency=args.concurrency)
    return 0


def _copy(args: argparse.Namespace) -> int:
    from reclio.adapters.postgres import run_state_copy  # noqa: PLC0415 - psycopg, only here

    text, code = run_state_copy(args.sqlite_path, args.postgres_url)
    if code == 0:
        say(text)
    else:
        warn(text.removeprefix("reclio: "))
    return code
