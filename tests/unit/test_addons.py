"""Addon tokens: unguessable, stored as hashes, rotated, and never anyone else's."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reclio import addons
from reclio.adapters.memory import InMemoryStateStore
from reclio.domain import UserState

pytestmark = pytest.mark.anyio


async def test_a_token_names_its_user_and_only_its_hash_is_stored() -> None:
    """The issued token resolves to its user; the store holds its SHA-256, not the token."""
    store = InMemoryStateStore()
    token = await addons.issue_addon_token(store, "ann")
    assert len(token) == 43  # 32 random bytes, URL-safe base64
    assert addons.is_token_shaped(token)
    assert await addons.addon_token_owner(store, token) == "ann"
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert await store.addon_token_owner(digest) == "ann"
    assert await store.addon_token_owner(token) is None


async def test_rotation_retires_the_old_token() -> None:
    """A new token for the same user makes the old one name nobody."""
    store = InMemoryStateStore()
    old = await addons.issue_addon_token(store, "ann")
    new = await addons.issue_addon_token(store, "ann")
    assert new != old
    assert await addons.addon_token_owner(store, old) is None
    assert await addons.addon_token_owner(store, new) == "ann"


async def test_add_user_makes_the_user_known_and_keeps_existing_state() -> None:
    """add_user creates an unknown user (so a sweep syncs them) and returns the addon URL;
    for a known user the state is kept and only the token changes."""
    store = InMemoryStateStore()
    url = await addons.add_user(store, "ann", base_url="https://feeds.example.org/")
    assert url.startswith("https://feeds.example.org/")
    assert url.endswith("/manifest")
    token = url.removeprefix("https://feeds.example.org/").removesuffix("/manifest")
    assert await addons.addon_token_owner(store, token) == "ann"
    assert await store.user_ids() == ["ann"]
    await store.put_user(UserState("ann", movies_watched=7))
    second = await addons.add_user(store, "ann", base_url="http://h")
    assert second != url
    assert await store.get_user("ann") == UserState("ann", movies_watched=7)
    assert await addons.addon_token_owner(store, token) is None


async def test_rotate_gives_a_known_user_a_new_url() -> None:
    """Rotation retires the old URL; an unknown user is a LookupError naming the fix."""
    store = InMemoryStateStore()
    old = await addons.add_user(store, "ann", base_url="http://h")
    new = await addons.rotate_addon_token(store, "ann", base_url="http://h")
    assert new != old
    token = new.removeprefix("http://h/").removesuffix("/manifest")
    old_token = old.removeprefix("http://h/").removesuffix("/manifest")
    assert await addons.addon_token_owner(store, token) == "ann"
    assert await addons.addon_token_owner(store, old_token) is None
    with pytest.raises(LookupError, match="reclio users add"):
        await addons.rotate_addon_token(store, "bo", base_url="http://h")


@pytest.mark.parametrize("user_id", ["", " ann", "ann ", "x" * 129, "a\nb", "a\x00b"])
async def test_add_user_refuses_ids_that_cannot_be_users(user_id: str) -> None:
    """An empty, padded, over-long or control-character id is a one-line ValueError."""
    store = InMemoryStateStore()
    with pytest.raises(ValueError, match="user id"):
        await addons.add_user(store, user_id, base_url="http://h")
    assert await store.user_ids() == []


def test_addon_url_joins_base_and_token() -> None:
    """The base URL's trailing slash does not double."""
    assert addons.addon_url("http://h:8000", "t") == "http://h:8000/t/manifest"
    assert addons.addon_url("http://h:8000/", "t") == "http://h:8000/t/manifest"


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300) | st.text(alphabet="ab-_09", max_size=200))
async def test_any_path_segment_is_answered_without_error(text: str) -> None:
    """Whatever text a request path carries, the lookup answers None or a user, never
    raises; text that is not token-shaped never reaches the store."""
    store = InMemoryStateStore()
    await addons.issue_addon_token(store, "ann")
    calls: list[str] = []
    inner = store.addon_token_owner

    async def spy(digest: str) -> str | None:
        calls.append(digest)
        return await inner(digest)

    store.addon_token_owner = spy  # type: ignore[method-assign]
    assert await addons.addon_token_owner(store, text) is None
    assert bool(calls) == addons.is_token_shaped(text)


@given(data=st.data())
async def test_tokens_of_many_users_never_cross(data: st.DataObject) -> None:
    """With many users and rotations, each current token names its own user only."""
    store = InMemoryStateStore()
    users = data.draw(st.lists(st.sampled_from("abcdef"), min_size=1, max_size=12))
    current: dict[str, str] = {}
    retired: list[str] = []
    for user in users:
        if user in current:
            retired.append(current[user])
        current[user] = await addons.issue_addon_token(store, user)
    for user, token in current.items():
        assert await addons.addon_token_owner(store, token) == user
    for token in retired:
        assert await addons.addon_token_owner(store, token) is None
