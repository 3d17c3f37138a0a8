"""Configuration from the environment: the only module in reclio that reads ``RECLIO_*``.

Everything else takes configuration objects. `ReclioConfig.from_env` reads the
variables below; credentials that are missing select the embedded default (local engine,
in-process catalog) and say so in one INFO log line.

| variable | meaning | default |
|---|---|---|
| ``RECLIO_STATE_PATH`` | SQLite state file | ``$XDG_DATA_HOME/reclio/state.sqlite3`` |
| ``RECLIO_TMDB_TOKEN`` | TMDB API read access token (Bearer) | unset: embedded catalog |
| ``RECLIO_TRAKT_CLIENT_ID`` / ``RECLIO_TRAKT_CLIENT_SECRET`` | Trakt app credentials | unset |
| ``RECLIO_RECOMBEE_DATABASE_ID`` / ``RECLIO_RECOMBEE_TOKEN`` | Recombee database | unset: local |
| ``RECLIO_RECOMBEE_REGION`` | e.g. ``eu-west`` | ``us-west`` |
| ``RECLIO_EMBEDDING_MODEL`` | sentence-transformers name or local path | unset: hashing |
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

import attrs

from reclio.errors import ConfigurationError

__all__ = ["ReclioConfig", "RecombeeSettings", "TmdbSettings", "TraktSettings"]

logger = logging.getLogger("reclio.config")


def _default_state_path(environ: Mapping[str, str]) -> Path:
    base = environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "reclio" / "state.sqlite3"


@attrs.frozen
class TmdbSettings:
    """TMDB credentials (the token never appears in repr)."""

    token: str = attrs.field(repr=False)


@attrs.frozen
class TraktSettings:
    """Trakt app credentials (secrets never appear in repr)."""

    client_id: str = attrs.field(repr=False)
    client_secret: str = attrs.field(repr=False)


@attrs.frozen
class RecombeeSettings:
    """Recombee database credentials (the token never appears in repr)."""

    database_id: str
    token: str = attrs.field(repr=False)
    region: str = "us-west"


@attrs.frozen
class ReclioConfig:
    """Everything reclio's composition root needs, in one value.

    Stability: caller-stable; fields may be added with defaults.

    Attributes:
        state_path: SQLite state file (``":memory:"`` for a throw-away store).
        tmdb: TMDB credentials, or ``None`` for the embedded catalog.
        trakt: Trakt credentials, or ``None`` for embedded interactions.
        recombee: Recombee credentials, or ``None`` for the local engine.
        embedding_model: A sentence-transformers model name or path, or ``None`` for hashing.
    """

    state_path: Path | str
    tmdb: TmdbSettings | None = None
    trakt: TraktSettings | None = None
    recombee: RecombeeSettings | None = None
    embedding_model: str | None = None

    @property
    def embedded(self) -> bool:
        """True when no external service is configured (the embedded default)."""
        return self.tmdb is None and self.trakt is None and self.recombee is None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ReclioConfig:
        """Read ``RECLIO_*`` variables (from ``os.environ`` unless given).

        Raises:
            ConfigurationError: a credential pair is half set, naming the missing variable.
        """
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        def pair(first: str, second: str) -> tuple[str, str] | None:
            a, b = get(first), get(second)
            if (a is None) != (b is None):
                missing = first if a is None else second
                present = second if a is None else first
                msg = f"{present} is set but {missing} is not: set both, or neither"
                raise ConfigurationError(msg)
            return (a, b) if a is not None and b is not None else None

        trakt = pair("RECLIO_TRAKT_CLIENT_ID", "RECLIO_TRAKT_CLIENT_SECRET")
        recombee = pair("RECLIO_RECOMBEE_DATABASE_ID", "RECLIO_RECOMBEE_TOKEN")
        token = get("RECLIO_TMDB_TOKEN")
        config = cls(
            state_path=get("RECLIO_STATE_PATH") or _default_state_path(env),
            tmdb=TmdbSettings(token) if token else None,
            trakt=TraktSettings(*trakt) if trakt else None,
            recombee=(
                RecombeeSettings(*recombee, region=get("RECLIO_RECOMBEE_REGION") or "us-west")
                if recombee
                else None
            ),
            embedding_model=get("RECLIO_EMBEDDING_MODEL"),
        )
        if config.embedded:
            logger.info(
                "no TMDB, Trakt or Recombee credentials set: using the embedded default "
                "(in-process catalog and interactions, local recommender)"
            )
        return config
