"""A state file written by an older reclio opens with this one, upgraded in place, intact.

The fixture (``fixtures/state-5be3e0a.sqlite3``, see ``fixtures/README.md``) was written by
reclio at commit 5be3e0a, schema version 2, where each user's history was a JSON "ledger"
kept as the cursor ``ledger:<user id>``. The expected values are read from the old tables
with plain ``sqlite3`` and the old formats, never through the store under test.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from reclio._serde import make_state_converter
from reclio.adapters.sqlite import SqliteStateStore
from reclio.adapters.sqlite._schema import SCHEMA_VERSION
from reclio.domain import CatalogRecord, ItemRef, MediaType, Rating, Title, UserState
from reclio.errors import DecodeError

pytestmark = pytest.mark.anyio

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "state-5be3e0a.sqlite3"


@pytest.fixture
def old_file(tmp_path: Path) -> Path:
    """A copy of the fixture: SQLite writes -wal and -shm files beside any WAL database it
    opens, even read-only, so the committed file is never opened at all."""
    path = tmp_path / "state.sqlite3"
    shutil.copyfile(FIXTURE, path)
    return path


def _old_tables(path: Path) -> dict[str, Any]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {
            "version": conn.execute("PRAGMA user_version").fetchone()[0],
            "users": dict(conn.execute("SELECT user_id, doc FROM users").fetchall()),
            "cursors": dict(conn.execute("SELECT name, value FROM cursors").fetchall()),
            "titles": conn.execute(
                "SELECT media_type, tmdb_id, doc, content_hash, synced_hash, embedded_hash"
                " FROM titles ORDER BY media_type, tmdb_id"
            ).fetchall(),
            "vectors": conn.execute(
                "SELECT media_type, tmdb_id, vector FROM embeddings ORDER BY media_type, tmdb_id"
            ).fetchall(),
        }
    finally:
        conn.close()


def _ledger(text: str) -> tuple[dict[ItemRef, datetime], dict[ItemRef, Rating]]:
    """The old format (reclio/sync/_ledger.py at 5be3e0a), read independently."""
    document = json.loads(text)
    assert document["v"] == 1
    views = {ItemRef.parse(k): datetime.fromisoformat(v) for k, v in document["views"].items()}
    ratings = {
        ItemRef.parse(k): Rating(value, datetime.fromisoformat(at))
        for k, (value, at) in document["ratings"].items()
    }
    return views, ratings


def test_fixture_is_an_old_state_file(old_file: Path) -> None:
    """The fixture is what the test claims: schema 2, users, ledgers, titles and vectors."""
    old = _old_tables(old_file)
    assert old["version"] == 2
    assert len(old["users"]) == 20
    ledgers = [name for name in old["cursors"] if name.startswith("ledger:")]
    assert len(ledgers) == 20
    assert {"content:last_run", "content:vectors"} <= set(old["cursors"])
    assert len(old["titles"]) == len(old["vectors"]) > 0


async def test_old_state_file_is_upgraded_in_place(old_file: Path) -> None:
    """Every user, cursor, title and vector is kept; ledgers become histories, then go."""
    old = _old_tables(old_file)
    converter = make_state_converter()
    store = SqliteStateStore(old_file)
    try:
        assert store.schema_version == SCHEMA_VERSION

        # Users: every one, each state exactly as its old document said.
        assert list(await store.user_ids()) == sorted(old["users"])
        for user_id, doc in old["users"].items():
            assert await store.get_user(user_id) == converter.structure(json.loads(doc), UserState)

        # Cursors: the ordinary ones kept, the ledgers gone.
        for name, value in old["cursors"].items():
            if name.startswith("ledger:"):
                assert await store.get_cursor(name) is None
            else:
                assert await store.get_cursor(name) == value

        # Ledgers: now the users' histories, with every view and rating.
        named: set[ItemRef] = set()
        ledgers = {
            name.removeprefix("ledger:"): value
            for name, value in old["cursors"].items()
            if name.startswith("ledger:")
        }
        for user_id, text in ledgers.items():
            views, ratings = _ledger(text)
            history = await store.get_history(user_id)
            assert history is not None
            assert dict(history.views) == views
            assert dict(history.ratings) == ratings
            assert history.bookmarks == {}
            assert len(history) == len(views) + len(ratings) > 0
            named |= set(views) | set(ratings)
        everything = [i async for batch in store.iter_interactions(batch_size=500) for i in batch]
        assert len(everything) == sum(
            len(_ledger(t)[0]) + len(_ledger(t)[1]) for t in ledgers.values()
        )

        # Titles and vectors: every one, unchanged.
        records = [r async for batch in store.iter_titles(batch_size=7) for r in batch]
        assert records == [
            CatalogRecord(converter.structure(json.loads(doc), Title), content, synced, embedded)
            for _media, _tmdb_id, doc, content, synced, embedded in old["titles"]
        ]
        vectors = [pair async for batch in store.iter_embeddings(batch_size=10) for pair in batch]
        assert [ref for ref, _ in vectors] == [
            ItemRef(MediaType(media), tmdb_id) for media, tmdb_id, _ in old["vectors"]
        ]
        for (_, got), (_, _, blob) in zip(vectors, old["vectors"], strict=True):
            assert got.dtype == np.float32
            assert got.tobytes() == blob

        # The history tables answer the catalog's question with one query.
        catalog = {r.title.ref for r in records}
        missing = sorted(named - catalog)
        assert list(await store.titles_missing_from_catalog(limit=10_000)) == missing
        assert list(await store.titles_missing_from_catalog(limit=5)) == missing[:5]
    finally:
        await store.aclose()

    # Opening again migrates nothing twice.
    again = SqliteStateStore(old_file)
    try:
        assert list(await again.user_ids()) == sorted(old["users"])
        assert await again.get_history(min(ledgers)) is not None
    finally:
        await again.aclose()


async def test_unreadable_ledger_stops_the_upgrade_and_changes_nothing(old_file: Path) -> None:
    """A ledger the upgrade cannot read is a DecodeError naming it; the file stays as it was."""
    conn = sqlite3.connect(old_file)
    conn.execute("UPDATE cursors SET value = '{\"v\": 1, \"views\": 3}' WHERE name = 'ledger:demo'")
    conn.commit()
    conn.close()
    before = _old_tables(old_file)
    with pytest.raises(DecodeError, match="'ledger:demo'") as caught:
        SqliteStateStore(old_file)
    assert caught.value.operation == "open"
    assert "delete that row" in str(caught.value)
    assert _old_tables(old_file) == before
