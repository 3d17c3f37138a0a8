"""The ``reclio`` command: ``demo``, ``feeds``, and the subcommands other modules register.

Run ``reclio --help``. Every subcommand that prints data has ``--json`` for machines.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from reclio import chilllink
from reclio.config import ReclioConfig
from reclio.domain import Feed, FeedsResponse, TmdbQuerySource, TraktListSource
from reclio.errors import ConfigurationError, ReclioError

__all__ = ["main"]

Handler = Callable[[argparse.Namespace], int]


def _source_text(feed: Feed) -> str:
    source = feed.source
    if isinstance(source, TraktListSource):
        return f"trakt list {source.list_id}"
    assert isinstance(source, TmdbQuerySource)  # noqa: S101 - FeedSource is a closed union
    return f"{source.path}?{source.parameters}" if source.parameters else source.path


def print_feeds(response: FeedsResponse, *, title: str, explain: bool = False) -> None:
    """Print feeds as a table for people (rich), with provenance when ``explain``."""
    from rich.console import Console  # noqa: PLC0415 - keep `import reclio.cli` light
    from rich.table import Table  # noqa: PLC0415

    table = Table(title=title, title_justify="left", show_lines=explain)
    table.add_column("#", justify="right")
    table.add_column("id", no_wrap=True)
    table.add_column("title")
    table.add_column("type")
    table.add_column("source", overflow="fold")
    for position, feed in enumerate(response.feeds, start=1):
        source = _source_text(feed)
        if explain:
            tried = "; ".join(
                f"{a.link}: {a.outcome.value}" + (f" ({a.detail})" if a.detail else "")
                for a in feed.provenance
            )
            source = f"{source}\n[dim]{tried}[/dim]"
        table.add_row(str(position), feed.id, feed.title, feed.content_type.value, source)
    # A pipe has no width: print wide enough for one line per feed instead of rich's 80.
    Console(width=None if sys.stdout.isatty() else 160).print(table)


def _state_path(args: argparse.Namespace) -> Path | str:
    return args.state or ReclioConfig.from_env().state.path


def _cmd_demo(args: argparse.Namespace) -> int:
    from reclio.demo import run_demo  # noqa: PLC0415 - the demo pulls numpy; load on use

    result = asyncio.run(
        run_demo(state_path=args.state or ":memory:", users=args.users)
    )
    if args.json:
        print(chilllink.dumps(result.response))
    else:
        for report in result.reports:
            print(report.summary())
        title = f"Feeds of user {result.user_id!r}"
        print_feeds(result.response, title=title, explain=args.explain)
    return 0


def _cmd_feeds(args: argparse.Namespace) -> int:
    from reclio.adapters.sqlite import SqliteStateStore  # noqa: PLC0415
    from reclio.feeds import FeedBuilder  # noqa: PLC0415

    path = _state_path(args)
    if str(path) != ":memory:" and not Path(path).is_file():
        msg = f"no state file at {path}: run `reclio demo --state {path}` or a sync first"
        raise ConfigurationError(msg)

    async def build() -> FeedsResponse:
        store = SqliteStateStore(path)
        try:
            return await FeedBuilder(store).build(args.user_id, last_watched=args.last_watched)
        finally:
            await store.aclose()

    response = asyncio.run(build())
    if args.json:
        print(chilllink.dumps(response))
    else:
        print_feeds(response, title=f"Feeds of user {args.user_id!r}", explain=args.explain)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reclio",
        description="Personalized ChillLink feeds from Trakt history and the TMDB catalog.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo", help="run the whole pipeline on the embedded default (no keys, no network)"
    )
    demo.add_argument("--json", action="store_true", help="print the ChillLink /feeds body")
    demo.add_argument("--explain", action="store_true", help="show which link served each row")
    demo.add_argument("--state", help="keep the demo's SQLite state in this file")
    demo.add_argument("--users", type=int, default=300, help="generated users (default 300)")
    demo.set_defaults(handler=_cmd_demo)

    feeds = commands.add_parser("feeds", help="print one user's feeds from the state store")
    feeds.add_argument("user_id")
    feeds.add_argument("--last-watched", help="anchor hint, e.g. movie:603 or show:1399")
    feeds.add_argument("--state", help="SQLite state file (default: RECLIO_STATE_PATH)")
    feeds.add_argument("--json", action="store_true", help="print the ChillLink /feeds body")
    feeds.add_argument("--explain", action="store_true", help="show which link served each row")
    feeds.set_defaults(handler=_cmd_feeds)

    for register in _registrations():
        register(commands)
    return parser


def _registrations() -> list[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]]:
    """Subcommands that live beside the code they run (eval, sync)."""
    found = []
    for module in ("reclio.evaluation.cli", "reclio.sync.cli"):
        try:
            imported = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        found.append(imported.register)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``reclio`` console script."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    handler: Handler = args.handler
    try:
        return handler(args)
    except ReclioError as exc:
        print(f"reclio: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
