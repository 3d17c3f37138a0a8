"""``reclio diagnose recombee``: why Recommended rows are (or are not) personal."""

from __future__ import annotations

import argparse
import asyncio

from reclio.bootstrap import build
from reclio.cli._common import Commands, add_state, config_of
from reclio.cli._output import say

__all__ = ["register"]


def register(commands: Commands[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Add ``diagnose recombee``."""
    diagnose = commands.add_parser("diagnose", parents=[common], help="check a service")
    which = diagnose.add_subparsers(dest="diagnose_command", required=True, metavar="SERVICE")
    recombee = which.add_parser(
        "recombee",
        parents=[common],
        help="the Recombee database: one verdict with next steps (exit 0 only for ok)",
    )
    add_state(recombee)
    recombee.add_argument("--json", action="store_true", help="print one JSON object")
    recombee.add_argument(
        "--repair",
        action="store_true",
        help="mark titles Recombee lacks as unsynced, so the next content sync pushes them",
    )
    recombee.set_defaults(handler=_recombee)

    trakt = which.add_parser(
        "trakt",
        parents=[common],
        help="does Trakt accept the app, and which users must reconnect (exit 0 only for ok)",
    )
    add_state(trakt)
    trakt.add_argument("--json", action="store_true", help="print one JSON object")
    trakt.set_defaults(handler=_trakt)


def _recombee(args: argparse.Namespace) -> int:
    from reclio.diagnostics import run_diagnose  # noqa: PLC0415 - loads the SDK check on use

    config = config_of(args)

    async def run() -> tuple[str, int]:
        async with build(config, read_only=not args.repair) as runtime:
            return await run_diagnose(
                config.recombee, runtime.store, as_json=args.json, repair=args.repair
            )

    text, code = asyncio.run(run())
    say(text)
    return code


def _trakt(args: argparse.Namespace) -> int:
    from reclio.adapters.trakt import TraktInteractionSource, trakt_diagnose  # noqa: PLC0415
    from reclio.errors import ConfigurationError  # noqa: PLC0415

    config = config_of(args)
    if config.trakt is None:
        msg = "diagnose trakt needs RECLIO_TRAKT_CLIENT_ID and RECLIO_TRAKT_CLIENT_SECRET"
        raise ConfigurationError(msg)

    async def run() -> tuple[str, int]:
        async with build(config, jobs=False, count_feed_requests=False) as runtime:
            assert runtime.trakt is not None  # noqa: S101 - configured above
            source = TraktInteractionSource(runtime.trakt)
            return await trakt_diagnose(source, runtime.store, as_json=args.json)

    text, code = asyncio.run(run())
    say(text)
    return code
