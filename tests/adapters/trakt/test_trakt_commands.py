"""The command logic: trakt login (device flow on the fake Trakt), users add, users list."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from reclio.adapters.memory import InMemoryStateStore
from reclio.adapters.trakt import (
    TraktConfig,
    TraktInteractionSource,
    TraktSession,
    trakt_diagnose,
    trakt_login,
    users_add,
    users_list,
)
from reclio.domain import ManagedList, ManagedListKind, UserState
from reclio.testing.trakt_server import FakeTraktServer

NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
TOKENS = {"access_token": "access-by-hand", "refresh_token": "refresh-by-hand"}


async def no_sleep(_seconds):
    await asyncio.sleep(0)


@pytest.mark.anyio
async def test_trakt_login_shows_the_code_waits_and_stores_the_token():
    """The code and URL are shown before the wait; the token is stored; the user is added."""
    with FakeTraktServer() as trakt:
        trakt.add_user("ann")
        trakt.device_login("ann", answers=[400, 429, 400])
        store = InMemoryStateStore()
        session = TraktSession(
            TraktConfig(trakt.client_id, trakt.client_secret, base_url=trakt.base_url),
            store=store,
            sleep=no_sleep,
        )
        shown: list[str] = []

        text, code = await trakt_login(session.auth, store, "ann", echo=shown.append)
        await session.aclose()

    assert code == 0, text
    assert "https://trakt.tv/activate" in shown[0]
    assert "enter the code" in shown[0]
    assert "connected Trakt for 'ann'" in text
    stored = await store.get_token("ann", "trakt")
    assert stored == trakt.oauth_token("ann")
    assert await store.get_user("ann") == UserState("ann")
    assert stored.access_token not in text + shown[0]


@pytest.mark.anyio
async def test_trakt_login_denied_is_exit_1():
    """A user who denies access ends the login with exit code 1 and the reason."""
    with FakeTraktServer() as trakt:
        trakt.add_user("ann")
        trakt.device_login("ann", answers=[400, 418])
        store = InMemoryStateStore()
        session = TraktSession(
            TraktConfig(trakt.client_id, trakt.client_secret, base_url=trakt.base_url),
            store=store,
            sleep=no_sleep,
        )
        text, code = await trakt_login(session.auth, store, "ann", echo=lambda _line: None)
        await session.aclose()
    assert code == 1
    assert "denied" in text
    assert await store.get_token("ann", "trakt") is None


@pytest.mark.anyio
async def test_users_add_stores_tokens_with_the_given_expiry():
    """--expires-at sets when the access token counts as expired; the user is added."""
    store = InMemoryStateStore()

    text, code = await users_add(
        store,
        "bo",
        **TOKENS,
        expires_at="2026-09-03T12:00:00Z",
        clock=lambda: NOW,
    )

    assert code == 0, text
    token = await store.get_token("bo", "trakt")
    assert token.expires_at == datetime(2026, 9, 3, 12, tzinfo=UTC)
    assert token.created_at == NOW
    assert await store.get_user("bo") is not None


@pytest.mark.anyio
async def test_users_add_without_expiry_assumes_a_day_and_a_past_expiry_refreshes():
    """No --expires-at: 24 hours; an expiry in the past is kept (it refreshes at first use)."""
    store = InMemoryStateStore()
    await users_add(store, "bo", **TOKENS, clock=lambda: NOW)
    assert (await store.get_token("bo", "trakt")).expires_at == NOW + timedelta(hours=24)

    _, code = await users_add(
        store,
        "bo",
        **TOKENS,
        expires_at="2026-08-01T00:00:00+00:00",
        clock=lambda: NOW,
    )
    assert code == 0
    assert (await store.get_token("bo", "trakt")).expires_at == datetime(2026, 8, 1, tzinfo=UTC)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"access_token": "a", "refresh_token": "r", "expires_at": "tomorrow"}, "not an ISO-8601"),
        ({"access_token": " ", "refresh_token": "r"}, "--trakt-access-token"),
    ],
)
async def test_users_add_refuses_bad_arguments(options, words):
    """A bad time or a missing token is exit code 2 with a line that says what to pass."""
    store = InMemoryStateStore()
    text, code = await users_add(store, "bo", clock=lambda: NOW, **options)
    assert code == 2
    assert words in text
    assert await store.get_user("bo") is None


@pytest.mark.anyio
async def test_users_list_says_who_is_connected_and_what_they_hold():
    """Connected, reconnect-needed (with why) and never connected users; JSON and text."""
    store = InMemoryStateStore()
    await users_add(store, "ann", **TOKENS, clock=lambda: NOW)
    await store.put_user(
        UserState(
            "ann",
            lists=[ManagedList(ManagedListKind.RECOMMENDED_MOVIES, 7, 40, synced_ok=True)],
            last_sync_at=NOW,
            next_sync_at=NOW + timedelta(hours=6),
        )
    )
    await store.put_user(UserState("bo", reconnect_needed="Trakt refused the refresh token"))
    await store.put_user(UserState("cy"))

    text, code = await users_list(store)
    data, _ = await users_list(store, as_json=True)

    assert code == 0
    lines = text.splitlines()
    assert lines[0].startswith("ann: connected; last sync 2026-09-01T12:00:00+00:00")
    assert "1 managed lists (1 serving)" in lines[0]
    assert lines[1].startswith("bo: reconnect-needed")
    assert "Trakt refused the refresh token" in lines[2]
    assert lines[3].startswith("cy: not-connected")
    rows = {row["user_id"]: row for row in json.loads(data)["users"]}
    assert rows["ann"]["lists"] == [
        {
            "kind": "recommended_movies",
            "name": ManagedListKind.RECOMMENDED_MOVIES.list_name,
            "list_id": 7,
            "item_count": 40,
            "synced_ok": True,
        }
    ]
    assert rows["bo"]["status"] == "reconnect-needed"
    assert rows["cy"]["status"] == "not-connected"
    assert "access-by-hand" not in text + data


@pytest.mark.anyio
async def test_diagnose_names_a_deleted_app_and_who_must_reconnect():
    """Trakt accepting the app is ok (exit 0); a deleted app is app_rejected (exit 1) with the
    fix; users marked reconnect-needed are listed either way."""
    store = InMemoryStateStore()
    await users_add(store, "ann", **TOKENS, clock=lambda: NOW)
    await store.put_user(UserState("bo", reconnect_needed="refused"))
    with FakeTraktServer() as trakt:
        session = TraktSession(
            TraktConfig(trakt.client_id, trakt.client_secret, base_url=trakt.base_url),
            store=store,
        )
        source = TraktInteractionSource(session)

        text, code = await trakt_diagnose(source, store)
        assert code == 0, text
        assert text.splitlines()[0] == "trakt: ok: Trakt accepts the app"
        assert "1 users connected" in text
        assert "1 must reconnect (`reclio trakt login USER_ID`): bo" in text

        trakt.app_deleted = True
        data, code = await trakt_diagnose(source, store, as_json=True)
        await session.aclose()
    report = json.loads(data)
    assert code == 1
    assert report["verdict"] == "app_rejected"
    assert "VIP" in report["detail"]
    assert report["reconnect_needed"] == ["bo"]
