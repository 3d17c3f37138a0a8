"""Per-user addon URLs: unguessable tokens in the path, stored only as hashes.

Chillio takes the base URL a user pastes and appends ``/manifest`` and the endpoint paths
the manifest lists, so a ChillLink server tells its users apart by the path:
``<base>/<token>/manifest`` and ``<base>/<token>/feeds``. The token is the only secret:

* `issue_addon_token` makes a fresh token (``secrets.token_urlsafe``, 256 bits) and stores
  its SHA-256 hash as the user's only token (`reclio.ports.AddonTokenStore`); the previous
  token, if any, stops working at once (rotation). The token itself is returned once and
  never stored, so a copy of the state cannot be turned into working URLs.
* `addon_token_owner` answers whose a token from a request path is; anything that is not
  shaped like a token is ``None`` without a store read.
* `addon_url` builds the URL to hand the user.

A SHA-256 (rather than a slow password hash) is the right tool here: the token has 256 bits
of entropy, so there is nothing to brute-force, and the lookup runs on every ``/feeds``
request.

Example:
    >>> addon_url("https://feeds.example.org/", "abc")
    'https://feeds.example.org/abc/manifest'
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Final, Protocol

from reclio.domain import UserState
from reclio.ports import AddonTokenStore, UserStore

__all__ = [
    "MAX_USER_ID",
    "TOKEN_BYTES",
    "UserTokenStore",
    "add_user",
    "addon_token_owner",
    "addon_url",
    "hash_addon_token",
    "is_token_shaped",
    "issue_addon_token",
    "rotate_addon_token",
]

TOKEN_BYTES: Final = 32
"""Random bytes in a token: 256 bits, 43 URL-safe characters."""

MAX_USER_ID: Final = 128
"""The longest user id `add_user` accepts (the example app cuts longer ones)."""

_MAX_TOKEN: Final = 128
_TOKEN_SHAPE: Final = re.compile(r"[A-Za-z0-9_-]{16,128}")


class UserTokenStore(UserStore, AddonTokenStore, Protocol):
    """The state roles adding a user needs: users and their addon tokens."""


def hash_addon_token(token: str) -> str:
    """The SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def is_token_shaped(token: str) -> bool:
    """True for text that could be a token (URL-safe characters, 16 to 128 of them)."""
    return len(token) <= _MAX_TOKEN and _TOKEN_SHAPE.fullmatch(token) is not None


async def issue_addon_token(store: AddonTokenStore, user_id: str) -> str:
    """Give ``user_id`` a fresh addon token, replacing the previous one; return it.

    The token is returned once and never stored (only its hash is): print it, or the URL
    `addon_url` makes of it, and forget it.

    Raises:
        SourceError: the store failed; the previous token still works.
    """
    while True:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        try:
            await store.set_addon_token(user_id, hash_addon_token(token))
        except ValueError:  # another user's token: impossible at 256 bits, but never shared
            continue
        return token


async def addon_token_owner(store: AddonTokenStore, token: str) -> str | None:
    """The user whose current token ``token`` is, or ``None``.

    Text that is not shaped like a token (too long, other characters) is ``None`` without
    a store read, so hostile paths cost nothing.

    Raises:
        SourceError: the store failed.
    """
    if not is_token_shaped(token):
        return None
    return await store.addon_token_owner(hash_addon_token(token))


def addon_url(base_url: str, token: str) -> str:
    """The URL a user pastes into Chillio: ``<base_url>/<token>/manifest``."""
    return f"{base_url.rstrip('/')}/{token}/manifest"


async def add_user(store: UserTokenStore, user_id: str, *, base_url: str) -> str:
    """Make ``user_id`` known (the next sweep syncs them) and return their addon URL.

    A user who already exists keeps their state; they get a new token (the old URL stops
    working). This is ``reclio users add USER_ID [--base-url URL]``.

    Raises:
        ValueError: ``user_id`` is not a valid user id.
        SourceError: the store failed.
    """
    if not user_id or user_id != user_id.strip() or len(user_id) > MAX_USER_ID:
        msg = f"a user id is 1 to {MAX_USER_ID} characters without surrounding spaces"
        raise ValueError(f"{msg}, got {user_id[:40]!r}")
    if not user_id.isprintable():
        msg = f"a user id has no control characters, got {user_id[:40]!r}"
        raise ValueError(msg)
    if await store.get_user(user_id) is None:
        await store.put_user(UserState(user_id))
    return addon_url(base_url, await issue_addon_token(store, user_id))


async def rotate_addon_token(store: UserTokenStore, user_id: str, *, base_url: str) -> str:
    """Give a known user a new addon URL; the old one stops working at once.

    This is ``reclio users token USER_ID --rotate [--base-url URL]``. (Tokens are stored
    only as hashes, so a lost URL cannot be shown again: rotating is the way to a new one.)

    Raises:
        LookupError: the store does not know ``user_id`` (add it with `add_user`).
        SourceError: the store failed; the old URL still works.
    """
    if await store.get_user(user_id) is None:
        msg = f"unknown user {user_id[:40]!r}: add it first (reclio users add USER_ID)"
        raise LookupError(msg)
    return addon_url(base_url, await issue_addon_token(store, user_id))
