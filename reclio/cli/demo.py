"""``reclio demo``: the whole pipeline on the embedded default (no keys, no network)."""

from __future__ import annotations

import argparse
import asyncio

from reclio import chilllink
from reclio.cli._common import Commands, positive_int
from reclio.cli._output import print_feeds, progress_bars, say

__all__ = ["register"]


def register(commands: Commands[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Add ``demo``."""
    demo = commands.add_parser(
        "demo",
        parents=[common],
        help="run the whole pipeline on the embedded default (no keys, no network)",
        description=(
            "Generate a catalog and a few hundred users, run content sync and user sync on"
            " them, and print the demo user's ten feeds."
        ),
    )
    demo.add_argument("--json", action="store_true", help="print the ChillLink /feeds body")
    demo.add_argument("--explain", action="store_true", help="show which link served each row")
    demo.add_argument("--state", metavar="FILE", help="keep the demo's state in this file")
    demo.add_argument(
        "--users", type=positive_int, default=300, help="generated users (default 300)"
    )
    demo.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from reclio.embedded.demo import run_demo  # noqa: PLC0415 - the demo pulls numpy; load on use

    with progress_bars() as progress:
        result = asyncio.run(
            run_demo(state_path=args.state or ":memory:", users=args.users, progress=progress)
        )
    if args.json:
        say(chilllink.dumps(result.response, explain=args.explain))
    else:
        for report in result.reports:
            say(report.summary())
        title = f"Feeds of user {result.user_id!r}"
        print_feeds(result.response, title=title, explain=args.explain)
    return 0
