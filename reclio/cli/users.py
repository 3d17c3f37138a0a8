"""``reclio users add|list`` and ``reclio trakt login``: the people reclio syncs."""

from __future__ import annotations

import argparse
import asyncio

from reclio.addons import add_user, rotate_addon_token
from reclio.bootstrap import build
from reclio.cli._common import Commands, add_state, config_of
from reclio.cli._output import say, warn
from reclio.errors import ConfigurationError

__all__ = ["register"]


def register(commands: Commands[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Add ``users add``, ``users list`` and ``trakt login``."""
    users = commands.add_parser("users", parents=[common], help="add and list users")
    which = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")

    add = which.add_parser(
        "add", parents=[common], help="add a user (with Trakt tokens obtained elsewhere)"
    )
    add.add_argument("user_id", metavar="USER_ID")
    add.add_argument("--trakt-access-token", metavar="T", help="the user's Trakt access token")
    add.add_argument("--trakt-refresh-token", metavar="R", help="and its refresh token")
    add.add_argument("--expires-at", metavar="ISO", help="when the access token expires")
    add.add_argument("--base-url", metavar="URL", help="addon URL base (RECLIO_PUBLIC_URL)")
    add_state(add)
    add.set_defaults(handler=_add)

    token = which.add_parser(
        "token", parents=[common], help="issue a user a new addon URL (the old one stops)"
    )
    token.add_argument("user_id", metavar="USER_ID")
    token.add_argument("--rotate", action="store_true", help="issue the new token (required)")
    token.add_argument("--base-url", metavar="URL", help="addon URL base (RECLIO_PUBLIC_URL)")
    add_state(token)
    token.set_defaults(handler=_token)

    listing = which.add_parser(
        "list", parents=[common], help="every user: connected, syncs, managed lists"
    )
    add_state(listing)
    listing.add_argument("--json", action="store_true", help="print one JSON document")
    listing.set_defaults(handler=_list)

    trakt = commands.add_parser("trakt", parents=[common], help="connect users to Trakt")
    trakt_which = trakt.add_subparsers(dest="trakt_command", required=True, metavar="ACTION")
    login = trakt_which.add_parser(
        "login", parents=[common], help="connect a user with Trakt's device code (prints it)"
    )
    login.add_argument("user_id", metavar="USER_ID")
    add_state(login)
    login.set_defaults(handler=_login)


def _finish(text: str, code: int) -> int:
    if code == 0:
        say(text)
    else:
        warn(text.removeprefix("reclio: "))
    return code


def _add(args: argparse.Namespace) -> int:
    from reclio.adapters.trakt import users_add  # noqa: PLC0415 - httpx, only here

    tokens = (args.trakt_access_token, args.trakt_refresh_token)
    if (tokens[0] is None) != (tokens[1] is None):
        msg = "--trakt-access-token and --trakt-refresh-token go together: give both, or neither"
        raise ConfigurationError(msg)
    config = config_of(args)

    base = args.base_url or config.app.public_url

    async def run() -> tuple[str, int]:
        async with build(config, jobs=False, count_feed_requests=False) as runtime:
            lines = []
            if tokens[0] is not None:
                text, code = await users_add(
                    runtime.store,
                    args.user_id,
                    access_token=tokens[0],
                    refresh_token=tokens[1],
                    expires_at=args.expires_at,
                    clock=runtime.clock,
                )
                if code != 0:
                    return text, code
                lines.append(text)
            try:
                url = await add_user(runtime.store, args.user_id, base_url=base)
            except ValueError as exc:
                return str(exc), 2
            lines.append(f"addon URL of {args.user_id!r} (paste it into Chillio): {url}")
            return "\n".join(lines), 0

    return _finish(*asyncio.run(run()))


def _token(args: argparse.Namespace) -> int:
    if not args.rotate:
        msg = "addon tokens are kept only as hashes: pass --rotate to issue a new addon URL"
        raise ConfigurationError(msg)
    config = config_of(args)
    base = args.base_url or config.app.public_url

    async def run() -> tuple[str, int]:
        async with build(config, jobs=False, count_feed_requests=False) as runtime:
            try:
                url = await rotate_addon_token(runtime.store, args.user_id, base_url=base)
            except LookupError as exc:
                return str(exc).strip("'\""), 1
            return f"new addon URL of {args.user_id!r} (the old one stopped working): {url}", 0

    return _finish(*asyncio.run(run()))


def _list(args: argparse.Namespace) -> int:
    from reclio.adapters.trakt import users_list  # noqa: PLC0415

    config = config_of(args)

    async def run() -> tuple[str, int]:
        async with build(config, read_only=True) as runtime:
            return await users_list(runtime.store, as_json=args.json)

    return _finish(*asyncio.run(run()))


def _login(args: argparse.Namespace) -> int:
    from reclio.adapters.trakt import trakt_login  # noqa: PLC0415

    config = config_of(args)
    if config.trakt is None:
        msg = "reclio trakt login needs RECLIO_TRAKT_CLIENT_ID and RECLIO_TRAKT_CLIENT_SECRET"
        raise ConfigurationError(msg)

    async def run() -> tuple[str, int]:
        async with build(config, jobs=False, count_feed_requests=False) as runtime:
            assert runtime.trakt is not None  # noqa: S101 - configured above
            return await trakt_login(runtime.trakt.auth, runtime.store, args.user_id, echo=say)

    return _finish(*asyncio.run(run()))
