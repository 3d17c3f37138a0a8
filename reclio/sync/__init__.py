"""Sync pipelines: content sync and user sync, as pure planners plus thin appliers.

* :class:`ContentSync` keeps the catalog, the recommender's items, the embeddings and the
  vector index in step (DESIGN section 6).
* Both keep the vector index through the ``SharedVectorIndex`` port (its adapters, in
  ``reclio.adapters.shared_index``, build it once and share the file with every process).
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
from reclio.sync._user import SweepReport, UserSync, UserSyncStore

__all__ = [
    "CONTENT_LEASE",
    "LAST_RUN_CURSOR",
    "REFRESH_CURSOR",
    "CadencePolicy",
    "ContentStore",
    "ContentSync",
    "ContentSyncConfig",
    "Progress",
    "ProgressCallback",
    "SweepReport",
    "SyncReport",
    "UserSync",
    "UserSyncConfig",
    "UserSyncStore",
    "rebuild_index",
]
