"""Sync pipelines: content sync and user sync, as pure planners plus thin appliers.

* :class:`ContentSync` keeps the catalog, the recommender's items, the embeddings and the
  vector index in step (DESIGN section 6).
* :class:`PublishedIndex` builds the vector index once and shares the file with every
  process (:class:`IndexSlot` keeps it in one process).
* :class:`UserSync` syncs one user's activity to the recommender and materializes their
  picks into managed lists; :meth:`UserSync.sweep` runs every due user (DESIGN section 5).
* The decisions are pure functions in ``reclio.sync._plan``, property-tested.

How syncing works, and the invariants it keeps: ``docs/sync.md``.
"""

from reclio.domain.reports import Progress, ProgressCallback, SyncReport
from reclio.sync._config import CadencePolicy, ContentSyncConfig, UserSyncConfig
from reclio.sync._content import (
    CONTENT_LEASE,
    LAST_RUN_CURSOR,
    REFRESH_CURSOR,
    ContentStore,
    ContentSync,
    rebuild_index,
)
from reclio.sync._index import INDEX_CURSOR, VECTORS_CURSOR, IndexSlot, PublishedIndex, VectorStore
from reclio.sync._user import SweepReport, UserSync, UserSyncStore

__all__ = [
    "CONTENT_LEASE",
    "INDEX_CURSOR",
    "LAST_RUN_CURSOR",
    "REFRESH_CURSOR",
    "VECTORS_CURSOR",
    "CadencePolicy",
    "ContentStore",
    "ContentSync",
    "ContentSyncConfig",
    "IndexSlot",
    "Progress",
    "ProgressCallback",
    "PublishedIndex",
    "SweepReport",
    "SyncReport",
    "UserSync",
    "UserSyncConfig",
    "UserSyncStore",
    "VectorStore",
    "rebuild_index",
]
