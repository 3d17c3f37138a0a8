"""``reclio feeds USER_ID``: one user's feeds from the state store, as the app would serve them."""

from __future__ import annotations

import argparse
import asyncio

from reclio import chilllink
from reclio.bootstrap import build
from reclio.cli._common import Commands, add_state, config_of
from reclio.cli._output import print_feeds, say
from reclio.domain import FeedsResponse

__all__ = ["register"]


def register(commands: Commands[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Add ``feeds``."""
    feeds = commands.add_parser(
        "feeds", parents=[common], help="print one user's feeds from the state store"
    )
    feeds.add_argument("user_id", metavar="USER_ID")
    feeds.add_argument("--last-watched", help="anchor hint, e.g. movie:603 or show:1399")
    add_state(feeds)
    feeds.add_argument("--json", action="store_true", help="print the ChillLink /feeds body")
    feeds.add_argument("--explain", action="store_true", help="show which link served each row")
    feeds.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    config = config_of(args)

    async def build_feeds() -> FeedsResponse:
        async with build(config, read_only=True) as runtime:
            return await runtime.feed_builder.build(args.user_id, last_watched=args.last_watched)

    response = asyncio.run(build_feeds())
    if args.json:
        say(chilllink.dumps(response, explain=args.explain))
    else:
        print_feeds(response, title=f"Feeds of user {args.user_id!r}", explain=args.explain)
    return 0
