"""``reclio catalog get ITEM_ID``: one title as the catalog holds it (the nine properties)."""

from __future__ import annotations

import argparse
import asyncio

from reclio.bootstrap import build
from reclio.cli._catalog import run_catalog_get
from reclio.cli._common import Commands, add_state, config_of
from reclio.cli._output import say, warn

__all__ = ["register"]


def register(commands: Commands[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Add ``catalog get``."""
    catalog = commands.add_parser("catalog", parents=[common], help="look at the stored catalog")
    which = catalog.add_subparsers(dest="catalog_command", required=True, metavar="ACTION")
    get = which.add_parser("get", parents=[common], help="print one stored title")
    get.add_argument("item_id", metavar="ITEM_ID", help="e.g. movie_603 or tv_1399")
    get.add_argument(
        "--refresh", action="store_true", help="fetch it from the catalog source and store it"
    )
    add_state(get)
    get.add_argument("--json", action="store_true", help="print one JSON object")
    get.set_defaults(handler=_get)


def _get(args: argparse.Namespace) -> int:
    config = config_of(args)

    async def run() -> tuple[str, int]:
        async with build(config, jobs=args.refresh, read_only=not args.refresh) as runtime:
            source = runtime.jobs.catalog if args.refresh else None
            return await run_catalog_get(
                args.item_id,
                source=source,
                store=runtime.store,
                refresh=args.refresh,
                as_json=args.json,
            )

    text, code = asyncio.run(run())
    if code == 0:
        say(text)
    else:
        warn(text.removeprefix("reclio catalog get: "))
    return code
