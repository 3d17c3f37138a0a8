"""``reclio lists USER_ID``: a user's managed lists, as the store and the sink hold them."""

from __future__ import annotations

import argparse
import asyncio

from reclio.bootstrap import build
from reclio.cli._common import Commands, add_state, config_of
from reclio.cli._output import emit_json, say
from reclio.domain import ManagedListKind
from reclio.errors import ConfigurationError, SourceError

__all__ = ["register"]


def register(commands: Commands[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Add ``lists``."""
    lists = commands.add_parser(
        "lists", parents=[common], help="print a user's managed lists and what they hold"
    )
    lists.add_argument("user_id", metavar="USER_ID")
    add_state(lists)
    lists.add_argument("--json", action="store_true", help="print one JSON object")
    lists.set_defaults(handler=_run)


async def _collect(args: argparse.Namespace) -> list[dict[str, object]]:
    config = config_of(args)
    async with build(config, read_only=True) as runtime:
        state = await runtime.store.get_user(args.user_id)
        if state is None:
            msg = f"the state file knows no user {args.user_id!r}: `reclio sync users` adds users"
            raise ConfigurationError(msg)
        rows: list[dict[str, object]] = []
        order = list(ManagedListKind)
        for record in sorted(state.lists, key=lambda r: order.index(r.kind)):
            try:
                held = await runtime.sink.items(args.user_id, record.list_id)
                items = [ref.item_id for ref in held]
                error = None
            except SourceError as exc:
                items, error = [], str(exc)
            rows.append(
                {
                    "kind": record.kind.name.lower(),
                    "name": record.kind.list_name,
                    "list_id": record.list_id,
                    "item_count": record.item_count,
                    "items": items,
                    "anchor": record.anchor.item_id if record.anchor else None,
                    "synced_at": record.synced_at.isoformat() if record.synced_at else None,
                    "synced_ok": record.synced_ok,
                    "read_error": error,
                }
            )
        return rows


def _run(args: argparse.Namespace) -> int:
    rows = asyncio.run(_collect(args))
    if args.json:
        emit_json({"user_id": args.user_id, "lists": rows})
        return 0
    if not rows:
        say(f"user {args.user_id!r} has no managed lists yet")
    for row in rows:
        status = "ok" if row["synced_ok"] else "FAILED"
        items = row["items"]
        assert isinstance(items, list)  # noqa: S101 - built above
        say(
            f"{row['name']} ({row['kind']}): list {row['list_id']}, {row['item_count']} items,"
            f" last sync {row['synced_at'] or 'never'} ({status})"
        )
        if row["read_error"]:
            say(f"  could not read the list: {row['read_error']}")
        else:
            shown = ", ".join(str(item) for item in items[:10])
            more = f" ... (+{len(items) - 10})" if len(items) > 10 else ""  # noqa: PLR2004
            say(f"  {shown}{more}")
    return 0
