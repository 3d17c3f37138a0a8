"""The logic of ``reclio trakt login``, ``reclio users add`` and ``reclio users list``.

Plain async functions over adapters the caller built (the CLI builds them through the
composition root): each returns ``(text, exit_code)``; `trakt_login` also reports as it
goes through ``echo`` (the code to enter must be shown before the wait). Exit codes: 0 done,
1 the service or the store failed, 2 a bad argument.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Final, Protocol

from reclio._clock import Clock, utc_now
from reclio.adapters.trakt._auth import TraktAuth
from reclio.adapters.trakt._source import TraktInteractionSource
from reclio.domain import ManagedListKind, OAuthToken, UserState
from reclio.errors import (
    AppRejected,
    AuthenticationError,
    SourceError,
    SourceUnavailable,
    UpgradeRequired,
)
from reclio.ports import CredentialStore, UserStore

__all__ = ["UsersStore", "trakt_diagnose", "trakt_login", "users_add", "users_list"]

_SERVICE: Final = "trakt"
_ASSUMED_LIFETIME: Final = timedelta(hours=24)
"""The lifetime of a token given without ``--expires-at``: the shortest Trakt has issued
(24 hours since March 2025); refreshing one early costs one call, refreshing late a 401."""


class UsersStore(UserStore, CredentialStore, Protocol):
    """The state roles the user commands use. Every `reclio.ports.StateStore` is one."""


async def _ensure_user(store: UsersStore, user_id: str) -> bool:
    """Create the user's state if the store has none (so user sync picks them up)."""
    if await store.get_user(user_id) is not None:
        return False
    await store.put_user(UserState(user_id))
    return True


async def trakt_login(
    auth: TraktAuth, store: UsersStore, user_id: str, *, echo: Callable[[str], None]
) -> tuple[str, int]:
    """``reclio trakt login USER_ID``: connect a user with Trakt's device-code flow.

    Shows the code and the URL through ``echo``, waits (polling at Trakt's interval) until
    the user entered it, stores the token and adds the user if new.

    Returns:
        ``(text, exit_code)``: 0 connected; 1 refused, expired or failed.
    """
    try:
        device = await auth.start_device_login()
        minutes = max(1, round(device.expires_in.total_seconds() / 60))
        echo(
            f"To connect Trakt for {user_id!r}, open {device.verification_url} and enter"
            f" the code {device.user_code} (or open {device.direct_url})."
            f" Waiting up to {minutes} minutes..."
        )
        token = await auth.wait_for_device_login(device)
        await auth.connect(user_id, token)
        added = await _ensure_user(store, user_id)
    except (AuthenticationError, SourceError) as exc:
        return f"Trakt login of {user_id!r} failed: {exc}", 1
    note = "; added the user (the next `reclio sync users` syncs them)" if added else ""
    until = token.expires_at.isoformat(timespec="seconds")
    text = f"connected Trakt for {user_id!r}; the token is valid until {until} and refreshes"
    return text + f" itself{note}", 0


def _expiry(text: str | None, now: datetime) -> tuple[datetime, timedelta] | str:
    """``(created_at, expires_in)`` for a token given by hand, or the error to show."""
    if text is None:
        return now, _ASSUMED_LIFETIME
    try:
        expires_at = datetime.fromisoformat(text.strip())
    except ValueError:
        return f"--expires-at {text!r} is not an ISO-8601 time, e.g. 2026-09-01T12:00:00Z"
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)
    # A token past its expiry still works once: its refresh token renews it at first use.
    created = min(now, expires_at - timedelta(seconds=1))
    return created, expires_at - created


async def users_add(
    store: UsersStore,
    user_id: str,
    *,
    access_token: str,
    refresh_token: str,
    expires_at: str | None = None,
    clock: Clock = utc_now,
) -> tuple[str, int]:
    """``reclio users add USER_ID --trakt-access-token T --trakt-refresh-token R [--expires-at]``.

    Stores the user's Trakt tokens (obtained elsewhere, e.g. by a web host's authorization
    code flow) and adds the user if new. Without ``--expires-at`` the token is taken to
    last 24 hours and is refreshed before then.

    Returns:
        ``(text, exit_code)``: 0 stored; 1 the store failed; 2 a bad argument.
    """
    if not user_id.strip() or not access_token.strip() or not refresh_token.strip():
        return "users add needs a USER_ID, --trakt-access-token and --trakt-refresh-token", 2
    now = clock()
    expiry = _expiry(expires_at, now)
    if isinstance(expiry, str):
        return expiry, 2
    created, lifetime = expiry
    token = OAuthToken(access_token.strip(), refresh_token.strip(), created, lifetime)
    try:
        await store.put_token(user_id, _SERVICE, token)
        added = await _ensure_user(store, user_id)
    except SourceError as exc:
        return f"could not store the tokens of {user_id!r}: {exc}", 1
    what = "added" if added else "updated the Trakt tokens of"
    until = token.expires_at.isoformat(timespec="seconds")
    return f"{what} user {user_id!r}; the access token counts as valid until {until}", 0


def _status(state: UserState, token: OAuthToken | None) -> str:
    if token is not None:
        return "connected"
    if state.reconnect_needed is not None:
        return "reconnect-needed"
    return "not-connected"


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds")


async def users_list(
    store: UsersStore, *, as_json: bool = False, user_ids: Sequence[str] | None = None
) -> tuple[str, int]:
    """``reclio users list [--json]``: every user, connected or not, with their syncs and lists.

    A user is ``connected`` (a Trakt token is stored), ``reconnect-needed`` (Trakt refused
    their token: the reason is shown; the last good lists keep serving) or
    ``not-connected`` (never connected).

    Returns:
        ``(text, exit_code)``: 0 listed; 1 the store failed.
    """
    try:
        ids = list(user_ids) if user_ids is not None else list(await store.user_ids())
        rows = []
        for user_id in ids:
            state = await store.get_user(user_id)
            if state is None:
                continue
            token = await store.get_token(user_id, _SERVICE)
            rows.append(_row(state, token))
    except SourceError as exc:
        return f"could not list the users: {exc}", 1
    if as_json:
        return json.dumps({"users": rows}, ensure_ascii=False, indent=2), 0
    if not rows:
        return "no users yet: add one with `reclio trakt login USER_ID` or `reclio users add`", 0
    return "\n".join(_line(row) for row in rows), 0


def _row(state: UserState, token: OAuthToken | None) -> dict[str, object]:
    order = list(ManagedListKind)
    lists = sorted(state.lists, key=lambda r: order.index(r.kind))
    return {
        "user_id": state.user_id,
        "status": _status(state, token),
        "reconnect_reason": state.reconnect_needed if token is None else None,
        "token_expires_at": _when(token.expires_at) if token is not None else None,
        "last_sync_at": _when(state.last_sync_at),
        "next_sync_at": _when(state.next_sync_at),
        "lists": [
            {
                "kind": record.kind.name.lower(),
                "name": record.kind.list_name,
                "list_id": record.list_id,
                "item_count": record.item_count,
                "synced_ok": record.synced_ok,
            }
            for record in lists
        ],
    }


def _line(row: dict[str, object]) -> str:
    lists = row["lists"]
    assert isinstance(lists, list)  # noqa: S101 - built by _row
    served = sum(1 for entry in lists if entry["synced_ok"])
    line = (
        f"{row['user_id']}: {row['status']}; last sync {row['last_sync_at'] or 'never'},"
        f" next {row['next_sync_at'] or 'now'}; {len(lists)} managed lists ({served} serving)"
    )
    if row["reconnect_reason"]:
        line += f"\n  {row['reconnect_reason']}"
    return line


async def trakt_diagnose(
    source: TraktInteractionSource, store: UsersStore, *, as_json: bool = False
) -> tuple[str, int]:
    """``reclio diagnose trakt [--json]``: does Trakt accept the app, and who must reconnect.

    Verdicts: ``ok``; ``app_rejected`` (the client id is unknown or its app was deleted:
    since 2026-07-31 apps need a VIP owner); ``vip_required`` (426); ``unreachable``
    (network, 5xx, rate limited); ``refused`` (anything else Trakt refused, e.g. Cloudflare's
    block page). The users who must reconnect are listed whatever the verdict.

    Returns:
        ``(text, exit_code)``: 0 when Trakt accepts the app, 1 otherwise.
    """
    verdict, detail = "ok", "Trakt accepts the app"
    try:
        await source.ping()
    except AppRejected as exc:
        verdict, detail = "app_rejected", str(exc)
    except UpgradeRequired as exc:
        verdict, detail = "vip_required", str(exc)
    except SourceUnavailable as exc:
        verdict, detail = "unreachable", str(exc)
    except SourceError as exc:
        verdict, detail = "refused", str(exc)
    try:
        rows = [
            _row(state, await store.get_token(user_id, _SERVICE))
            for user_id in await store.user_ids()
            if (state := await store.get_user(user_id)) is not None
        ]
    except SourceError as exc:
        return f"could not read the users: {exc}", 1
    reconnect = [row["user_id"] for row in rows if row["status"] == "reconnect-needed"]
    connected = sum(1 for row in rows if row["status"] == "connected")
    code = 0 if verdict == "ok" else 1
    if as_json:
        report = {
            "verdict": verdict,
            "detail": detail,
            "connected": connected,
            "reconnect_needed": reconnect,
        }
        return json.dumps(report, ensure_ascii=False, indent=2), code
    lines = [f"trakt: {verdict}: {detail}", f"{connected} users connected"]
    if reconnect:
        shown = ", ".join(str(user) for user in reconnect[:20])
        more = f" (+{len(reconnect) - 20})" if len(reconnect) > 20 else ""  # noqa: PLR2004
        lines.append(
            f"{len(reconnect)} must reconnect (`reclio trakt login USER_ID`): {shown}{more}"
        )
    return "\n".join(lines), code
