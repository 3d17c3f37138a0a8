"""The SQLite state store: reclio's default ``StateStore``, stdlib only.

Stability: caller-stable.
"""

from reclio.adapters.sqlite._store import SqliteStateStore

__all__ = ["SqliteStateStore"]
