"""The embedded default's list sink: managed lists kept in the SQLite state file.

The embedded default has no Trakt account to write lists to, but its lists must outlive the
process that wrote them: ``reclio demo --state S`` followed by any ``reclio`` command on S
sees the same lists. So they live in one table of the state file, beside (not inside) the
state store's own schema.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from reclio.domain import (
    AccountLimits,
    ItemRef,
    ListAccount,
    ListDiff,
    ListEntry,
    ListHandle,
    ListSnapshot,
)
from reclio.errors import AccountLimitExceeded, DecodeError, SourceError, SourceUnavailable
from reclio.ports import ListSink

__all__ = ["SqliteListSink"]

_SERVICE = "sqlite-lists"
_T = TypeVar("_T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS embedded_lists (
    list_id     INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    items       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS embedded_lists_user ON embedded_lists (user_id, list_id);
"""


class SqliteListSink(ListSink):
    """**ListSink** whose lists live in a SQLite file, with Trakt's rules.

    List ids are unique across users, as Trakt's are; `ensure_list` adopts the first list
    with the same name before creating one; `apply` follows `ListDiff.apply` and is all or
    nothing (limits are checked before anything changes). Reads and writes run in a worker
    thread, so one waiting on the file's lock never stalls the event loop.

    Stability: caller-stable; implementer: internal.

    Args:
        path: The SQLite file (the state file), or ``":memory:"``.
        limits: What every account may hold.
        read_only: Open for reading only (``items`` works; writes raise `SourceError`).
    """

    def __init__(
        self,
        path: Path | str,
        *,
        limits: AccountLimits = AccountLimits(max_lists=100, max_items_per_list=5000),  # noqa: B008 - a frozen value
        read_only: bool = False,
    ) -> None:
        self._limits = limits
        self._lock = threading.Lock()
        self._target = str(path)
        self._read_only = read_only
        # Nothing else can lock a private in-memory database: run inline, so the order of
        # writes (and so the list ids) follows the event loop, deterministically.
        self._inline = self._target == ":memory:"
        self._opened: sqlite3.Connection | None = None

    @property
    def _db(self) -> sqlite3.Connection:
        """The connection, opened on first use (a process that never reads lists opens none)."""
        if self._opened is None:
            target = self._target
            try:
                if self._read_only and target != ":memory:":
                    uri = Path(target).resolve().as_uri() + "?mode=ro"
                    db = sqlite3.connect(uri, uri=True, check_same_thread=False)
                else:
                    db = sqlite3.connect(target, check_same_thread=False, timeout=30)
                    db.executescript(_SCHEMA)
            except sqlite3.Error as exc:
                msg = f"cannot open the list table in {target}: {exc}"
                raise SourceUnavailable(msg, service=_SERVICE, operation="open") from exc
            db.isolation_level = None
            self._opened = db
        return self._opened

    @contextmanager
    def _translate(self, operation: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):  # a read-only open of a file no sync wrote
                msg = "the state file holds no managed lists yet"
                raise SourceError(msg, service=_SERVICE, operation=operation) from exc
            raise SourceUnavailable(str(exc), service=_SERVICE, operation=operation) from exc
        except sqlite3.Error as exc:
            raise SourceUnavailable(str(exc), service=_SERVICE, operation=operation) from exc
        except (ValueError, UnicodeError) as exc:
            raise DecodeError(str(exc), service=_SERVICE, operation=operation) from exc

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _row(self, user_id: str, list_id: int, operation: str) -> tuple[str, list[ItemRef]]:
        row = self._db.execute(
            "SELECT name, items FROM embedded_lists WHERE user_id = ? AND list_id = ?",
            (user_id, list_id),
        ).fetchone()
        if row is None:
            msg = f"user {user_id!r} holds no list {list_id}"
            raise SourceError(msg, service=_SERVICE, operation=operation)
        return row[0], [ItemRef.parse(item) for item in json.loads(row[1])]

    async def _call(self, work: Callable[..., _T], *args: object) -> _T:
        """Run ``work(*args)`` in a worker thread (inline on a private in-memory database).

        Reads too: they take the same lock as a write, which may be waiting on the file's
        lock (another connection's write), and decode every item; neither may hold up the
        event loop that serves ``/feeds``.
        """
        if self._inline:
            return work(*args)
        return await asyncio.to_thread(work, *args)

    # -- the port ----------------------------------------------------------------------------

    async def account(self, user_id: str) -> ListAccount:
        """The account's limits and its lists, in creation order.

        Raises:
            SourceError: the file failed.
        """
        return await self._call(self._account, user_id)

    def _account(self, user_id: str) -> ListAccount:
        with self._translate("account"), self._lock:
            rows = self._db.execute(
                "SELECT list_id, name, items FROM embedded_lists WHERE user_id = ? "
                "ORDER BY list_id",
                (user_id,),
            ).fetchall()
        lists = [ListHandle(list_id, name, len(json.loads(items))) for list_id, name, items in rows]
        return ListAccount(self._limits, lists)

    async def ensure_list(
        self,
        user_id: str,
        name: str,
        *,
        description: str = "",
        account: ListAccount | None = None,  # noqa: ARG002 - reads are never stale here
    ) -> ListHandle:
        """Adopt the user's list called ``name``, or create it.

        Raises:
            AccountLimitExceeded: creating it would exceed the account's list limit.
            SourceError: the file failed.
        """
        return await self._call(self._ensure_list, user_id, name, description)

    def _ensure_list(self, user_id: str, name: str, description: str) -> ListHandle:
        with self._translate("ensure_list"), self._transaction() as db:
            rows = db.execute(
                "SELECT list_id, name, items FROM embedded_lists WHERE user_id = ? "
                "ORDER BY list_id",
                (user_id,),
            ).fetchall()
            for list_id, existing, items in rows:
                if existing == name:
                    return ListHandle(list_id, name, len(json.loads(items)))
            if len(rows) >= self._limits.max_lists:
                msg = f"account {user_id!r} may hold {self._limits.max_lists} lists"
                raise AccountLimitExceeded(msg, service=_SERVICE, operation="ensure_list")
            cursor = db.execute(
                "INSERT INTO embedded_lists (user_id, name, description, items) "
                "VALUES (?, ?, ?, '[]')",
                (user_id, name, description),
            )
            assert cursor.lastrowid is not None  # noqa: S101 - an INSERT sets it
            return ListHandle(cursor.lastrowid, name, 0)

    async def snapshot(self, user_id: str, list_id: int) -> ListSnapshot:
        """The list's items, in order (entries carry no ids: nothing here needs them).

        Raises:
            SourceError: the user holds no list with this id, or the file failed.
        """
        refs = await self._call(self._items, user_id, list_id, "snapshot")
        return ListSnapshot(list_id, [ListEntry(ref) for ref in refs])

    async def items(self, user_id: str, list_id: int) -> Sequence[ItemRef]:
        """The list's items, in order.

        Raises:
            SourceError: the user holds no list with this id, or the file failed.
        """
        return await self._call(self._items, user_id, list_id, "items")

    def _items(self, user_id: str, list_id: int, operation: str) -> list[ItemRef]:
        with self._translate(operation), self._lock:
            return self._row(user_id, list_id, operation)[1]

    async def apply(
        self,
        user_id: str,
        list_id: int,
        diff: ListDiff,
        *,
        current: ListSnapshot | None = None,  # noqa: ARG002 - it applies to what it holds
    ) -> ListHandle:
        """Remove, add, then reorder (`ListDiff.apply`); all or nothing.

        Raises:
            AccountLimitExceeded: the list would hold more items than the account allows.
            SourceError: the user holds no list with this id, or the file failed.
        """
        return await self._call(self._apply, user_id, list_id, diff)

    def _apply(self, user_id: str, list_id: int, diff: ListDiff) -> ListHandle:
        with self._translate("apply"), self._transaction() as db:
            name, current = self._row(user_id, list_id, "apply")
            after = diff.apply(current)
            if len(after) > self._limits.max_items_per_list:
                msg = (
                    f"list {list_id} may hold {self._limits.max_items_per_list} items;"
                    f" the diff would leave {len(after)}"
                )
                raise AccountLimitExceeded(msg, service=_SERVICE, operation="apply")
            db.execute(
                "UPDATE embedded_lists SET items = ? WHERE list_id = ?",
                (json.dumps([ref.item_id for ref in after]), list_id),
            )
            return ListHandle(list_id, name, len(after))

    async def limits(self, user_id: str) -> AccountLimits:  # noqa: ARG002 - one limit for all
        """What the account allows (the same for every embedded account)."""
        return self._limits

    async def aclose(self) -> None:
        """Close the file (if it was opened)."""
        with self._lock:
            if self._opened is not None:
                self._opened.close()
                self._opened = None
