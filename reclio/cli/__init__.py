"""The ``reclio`` command: one module per command group, one error map, one output style.

Exit codes (docs/cli.md):

| code | meaning |
|---|---|
| 0 | done |
| 1 | the work failed (a sync that did not complete, a title not found) |
| 2 | usage or configuration error: the message names the fix |
| 3 | another worker holds the lease (try again later) |
| 130 | interrupted (Ctrl-C); state is left consistent |
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

from reclio._version import __version__
from reclio.cli import catalog, demo, diagnose, evaluate, feeds, lists, sync, users, workers
from reclio.cli._output import warn
from reclio.errors import ConfigurationError, LeaseHeld, ReclioError, SyncError

__all__ = ["EXIT_FAILURE", "EXIT_INTERRUPTED", "EXIT_LEASE_HELD", "EXIT_USAGE", "main"]

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_LEASE_HELD = 3
EXIT_INTERRUPTED = 130

Handler = Callable[[argparse.Namespace], int]

_GROUPS = (demo, feeds, lists, users, sync, catalog, diagnose, workers, evaluate)

_STATE_HELP = (
    "State lives in the SQLite file RECLIO_STATE_PATH (default"
    " $XDG_DATA_HOME/reclio/state.sqlite3, i.e. ~/.local/share/reclio/state.sqlite3);"
    " every command takes --state FILE to use another."
)


def _verbosity() -> argparse.ArgumentParser:
    """-v/-q, accepted before and after the subcommand."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-v", "--verbose", action="count", default=argparse.SUPPRESS, help="log more (-vv: debug)"
    )
    common.add_argument(
        "-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="errors only"
    )
    return common


def _parser() -> argparse.ArgumentParser:
    common = _verbosity()
    parser = argparse.ArgumentParser(
        prog="reclio",
        description="Personalized ChillLink feeds from Trakt history and the TMDB catalog.",
        epilog=_STATE_HELP,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"reclio {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in _GROUPS:
        group.register(commands, common)
    return parser


def _log_level(args: argparse.Namespace) -> int:
    if getattr(args, "quiet", False):
        return logging.ERROR
    verbose = getattr(args, "verbose", 0)
    if verbose:
        return logging.DEBUG if verbose > 1 else logging.INFO
    named = os.environ.get("RECLIO_LOG_LEVEL", "").strip().upper()
    return logging.getLevelNamesMapping().get(named, logging.WARNING)


# The one error-to-exit-code map: first match wins.
_EXIT_CODES: tuple[tuple[type[BaseException], int], ...] = (
    (KeyboardInterrupt, EXIT_INTERRUPTED),
    (LeaseHeld, EXIT_LEASE_HELD),
    (ConfigurationError, EXIT_USAGE),
    (ReclioError, EXIT_FAILURE),
)


def _message(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, SyncError):
        return f"{exc}; {exc.report.summary()}"
    return str(exc)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``reclio`` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=_log_level(args), format="%(levelname)s %(name)s: %(message)s")
    handler: Handler = args.handler
    try:
        return handler(args)
    except BrokenPipeError:
        # The reader went away (`reclio feeds --json | head`): not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except (KeyboardInterrupt, ReclioError) as exc:
        warn(_message(exc))
        return next(code for kind, code in _EXIT_CODES if isinstance(exc, kind))
