"""The PostgreSQL state store (extra ``reclio[postgres]``: psycopg 3 and psycopg_pool).

``PostgresStateStore`` implements every state role, so state moves past one machine
without any other change: apps and workers on any number of machines share one database.
`copy_sqlite_state` moves an embedded default's SQLite file into it.

Stability: caller-stable.
"""

from reclio.adapters.postgres._copy import CopyReport, copy_sqlite_state, run_state_copy
from reclio.adapters.postgres._store import PostgresStateStore
from reclio.settings import PostgresConfig

__all__ = [
    "CopyReport",
    "PostgresConfig",
    "PostgresStateStore",
    "copy_sqlite_state",
    "run_state_copy",
]
