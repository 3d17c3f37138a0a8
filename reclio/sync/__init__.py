"""Sync pipelines: content sync and user sync, as pure planners plus thin appliers."""

from reclio.sync.report import SyncReport

__all__ = ["SyncReport"]
