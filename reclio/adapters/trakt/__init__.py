"""Trakt: the interaction source, the list sink and OAuth, within Trakt's 2026 limits.

Make one `TraktSession` per process (it holds the HTTP client, `TraktAuth` and the
per-user `TraktWritePacer`) and view it as the two ports::

    session = TraktSession(config, store=store, policy=policy)
    interactions = TraktInteractionSource(session)
    sink = TraktListSink(session)
    ...
    await session.aclose()

Stability: caller-stable.
"""

from reclio.adapters.trakt._auth import DeviceCode, TokenStore, TraktAuth
from reclio.adapters.trakt._commands import (
    UsersStore,
    trakt_diagnose,
    trakt_login,
    users_add,
    users_list,
)
from reclio.adapters.trakt._pacer import TraktWritePacer
from reclio.adapters.trakt._session import MAX_PAGE_LIMIT, TraktSession, trakt_limiter
from reclio.adapters.trakt._sink import TraktListSink
from reclio.adapters.trakt._source import TraktInteractionSource
from reclio.settings import TraktConfig

__all__ = [
    "MAX_PAGE_LIMIT",
    "DeviceCode",
    "TokenStore",
    "TraktAuth",
    "TraktConfig",
    "TraktInteractionSource",
    "TraktListSink",
    "TraktSession",
    "TraktWritePacer",
    "UsersStore",
    "trakt_diagnose",
    "trakt_limiter",
    "trakt_login",
    "users_add",
    "users_list",
]
