"""Sync pipelines: content sync and user sync, as pure planners plus thin appliers."""

from reclio.sync._config import CadencePolicy, ContentSyncConfig, UserSyncConfig
from reclio.sync.report import SyncReport

__all__ = ["CadencePolicy", "ContentSyncConfig", "SyncReport", "UserSyncConfig"]
