"""SQLite adapters, stdlib only: the default ``StateStore``, and the embedded list sink.

Stability: caller-stable.
"""

from reclio.adapters.sqlite._lists import SqliteListSink
from reclio.adapters.sqlite._store import SqliteStateStore

__all__ = ["SqliteListSink", "SqliteStateStore"]
