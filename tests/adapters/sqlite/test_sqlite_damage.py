"""A damaged, truncated or replaced state file: told apart, said loudly, /feeds keeps answering."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from reclio.adapters.sqlite import SqliteStateStore
from reclio.bootstrap import build
from reclio.config import ReclioConfig
from reclio.domain import UserState
from reclio.errors import ConfigurationError, DecodeError, SourceError

pytestmark = pytest.mark.anyio


async def _state_with_a_user(path: Path) -> None:
    store = SqliteStateStore(path)
    await store.put_user(UserState("ann"))
    await store.aclose()


def _set_user_version(path: Path, version: int) -> None:
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {version}")
    db.commit()
    db.close()


async def test_a_damaged_header_is_damage_not_a_newer_reclio(tmp_path):
    """A garbage schema version is reported as damage with the fix, not as 'upgrade reclio'."""
    path = tmp_path / "state.sqlite3"
    await _state_with_a_user(path)
    _set_user_version(path, 987_654_321)
    with pytest.raises(DecodeError, match="damaged") as caught:
        SqliteStateStore(path)
    assert "backup" in str(caught.value)
    assert "Upgrade reclio" not in str(caught.value)


async def test_a_newer_schema_is_still_called_newer(tmp_path):
    """A plausible higher version on a sound file: a newer reclio wrote it."""
    path = tmp_path / "state.sqlite3"
    await _state_with_a_user(path)
    _set_user_version(path, 50)
    with pytest.raises(ConfigurationError, match="Upgrade reclio"):
        SqliteStateStore(path)


async def test_a_truncated_file_is_one_loud_warning(tmp_path, caplog):
    """A state file cut to 0 bytes opens, but says that state existed there before."""
    path = tmp_path / "state.sqlite3"
    await _state_with_a_user(path)
    path.write_bytes(b"")
    with caplog.at_level(logging.WARNING, logger="reclio.sqlite"):
        store = SqliteStateStore(path)
    await store.aclose()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "restore it from a backup" in warnings[0].getMessage()


async def test_a_new_file_opens_quietly(tmp_path, caplog):
    """A first open (no marker yet) warns about nothing."""
    with caplog.at_level(logging.WARNING, logger="reclio.sqlite"):
        store = SqliteStateStore(tmp_path / "new.sqlite3")
    await store.aclose()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_a_corrupt_file_still_serves_the_fallback_feeds(tmp_path, caplog):
    """A serving runtime on a file that is not a database answers ten non-personal feeds."""
    path = tmp_path / "state.sqlite3"
    path.write_bytes(b"this is not a database at all" * 200)
    with caplog.at_level(logging.ERROR, logger="reclio.bootstrap"):
        runtime = build(ReclioConfig.embedded_default(path), jobs=False)
    async with runtime:
        response = await runtime.feed_builder.build("ann")
        assert len(response.feeds) == 10
        with pytest.raises(SourceError):
            await runtime.store.ping()  # type: ignore[attr-defined]
    assert any("could not open" in r.getMessage() for r in caplog.records)
    # A process that would write (a sync) refuses to start on it instead.
    with pytest.raises(SourceError):
        build(ReclioConfig.embedded_default(path), world_users=2)
