"""Configuration: the only module in reclio that reads ``RECLIO_*`` environment variables.

Everything else takes configuration objects. There is one frozen config per adapter
(`TmdbConfig`, `TraktConfig`, `RecombeeConfig`, `EmbeddingConfig`, `VectorConfig`,
`StateConfig`) and one `HttpPolicy` shared by the REST adapters, defined as plain values in
`reclio.settings` and re-exported here; `ReclioConfig` holds them all.
`ReclioConfig.from_env` builds it from the variables listed in `VARIABLES` (the docs
page "Configuration" is rendered from that table, so the two cannot drift). A service whose
credentials are missing is ``None`` in the config, and the composition root
(`reclio.bootstrap`) selects the embedded default for that port.

Secrets are ``repr=False``: no config value prints a token.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import attrs

from reclio.errors import ConfigurationError
from reclio.settings import (
    DEFAULT_EMBEDDING_MODEL,
    TMDB_BASE_URL,
    TRAKT_BASE_URL,
    AppConfig,
    EmbeddingConfig,
    HttpPolicy,
    PostgresConfig,
    RecombeeConfig,
    StateConfig,
    TmdbConfig,
    TraktConfig,
    VectorBackend,
    VectorConfig,
)

_T = TypeVar("_T")

__all__ = [
    "DEFAULT_EMBEDDING_MODEL",
    "VARIABLES",
    "AppConfig",
    "EmbeddingConfig",
    "EnvVar",
    "HttpPolicy",
    "PostgresConfig",
    "ReclioConfig",
    "RecombeeConfig",
    "StateConfig",
    "TmdbConfig",
    "TraktConfig",
    "VectorBackend",
    "VectorConfig",
    "default_state_path",
    "variables_markdown",
]


def default_state_path(environ: Mapping[str, str]) -> Path:
    """``$XDG_DATA_HOME/reclio/state.sqlite3`` (``~/.local/share`` when unset)."""
    base = environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "reclio" / "state.sqlite3"


@attrs.frozen
class EnvVar:
    """One ``RECLIO_*`` variable: what it sets, and its default in words."""

    name: str
    meaning: str
    default: str = "unset"


VARIABLES: tuple[EnvVar, ...] = (
    EnvVar("RECLIO_STATE_PATH", "SQLite state file", "`$XDG_DATA_HOME/reclio/state.sqlite3`"),
    EnvVar("RECLIO_STATE_URL", "PostgreSQL URL; wins over the SQLite file", "unset: SQLite"),
    EnvVar("RECLIO_LOG_LEVEL", "log level of the `reclio` command", "`WARNING`"),
    EnvVar("RECLIO_TMDB_TOKEN", "TMDB v4 read-access token (or v3 key)", "unset: embedded"),
    EnvVar("RECLIO_TMDB_BASE_URL", "TMDB API root", "`https://api.themoviedb.org/3`"),
    EnvVar("RECLIO_TMDB_RATE_LIMIT", "TMDB requests per second, whole process", "`40`"),
    EnvVar("RECLIO_TRAKT_CLIENT_ID", "Trakt app client id", "unset: embedded"),
    EnvVar("RECLIO_TRAKT_CLIENT_SECRET", "Trakt app client secret", "unset: embedded"),
    EnvVar("RECLIO_TRAKT_BASE_URL", "Trakt API root", "`https://api.trakt.tv`"),
    EnvVar(
        "RECLIO_TRAKT_REDIRECT_URI",
        "Trakt app redirect URI (authorization-code flow)",
        "`urn:ietf:wg:oauth:2.0:oob`",
    ),
    EnvVar("RECLIO_TRAKT_WRITE_RATE_LIMIT", "Trakt list writes per user per second", "`1`"),
    EnvVar("RECLIO_TRAKT_RATE_LIMIT", "Trakt requests per second, whole process", "`10`"),
    EnvVar("RECLIO_RECOMBEE_DATABASE_ID", "Recombee database id", "unset: local engine"),
    EnvVar("RECLIO_RECOMBEE_TOKEN", "Recombee private token", "unset: local engine"),
    EnvVar("RECLIO_RECOMBEE_REGION", "Recombee region, e.g. `eu-west`", "`us-west`"),
    EnvVar("RECLIO_RECOMBEE_BASE_URI", "Recombee host override (`http://` for local)", "unset"),
    EnvVar("RECLIO_EMBEDDING_MODEL", "sentence-transformers model name or path", "unset: hashing"),
    EnvVar("RECLIO_EMBEDDING_DEVICE", "torch device for the embedder", "unset: library picks"),
    EnvVar("RECLIO_EMBEDDING_THREADS", "torch CPU threads of the embedder", "`1`"),
    EnvVar("RECLIO_VECTOR_INDEX", "`exact`, `annoy` or `voyager`", "`exact`"),
    EnvVar("RECLIO_VECTOR_DIR", "folder of the published index files", "beside the state file"),
    EnvVar("RECLIO_HTTP_TIMEOUT", "seconds each HTTP read may take", "`20`"),
    EnvVar("RECLIO_HTTP_MAX_ATTEMPTS", "tries per HTTP request", "`4`"),
    EnvVar(
        "RECLIO_ADMIN_TOKEN",
        "the app's `X-Admin-Token` (16 characters or more)",
        "unset: admin routes answer 503",
    ),
    EnvVar("RECLIO_PUBLIC_URL", "base of the addon URLs handed to users", "`http://127.0.0.1:8000`"),
    EnvVar(
        "RECLIO_APP_USER_ID_PARAM",
        "`on`: the app serves `/feeds?user_id=` with that user's rows",
        "`off`: the non-personal layout",
    ),
    EnvVar("RECLIO_APP_SCHEDULER", "`off`: the app runs no background jobs", "`on`"),
    EnvVar("RECLIO_CONTENT_SYNC_INTERVAL", "seconds between the app's content syncs", "`86400`"),
    EnvVar("RECLIO_USER_SWEEP_INTERVAL", "seconds between the app's looks for due users", "`300`"),
    EnvVar("RECLIO_USER_SWEEP_CONCURRENCY", "users the app syncs at once", "`4`"),
    EnvVar("RECLIO_HEALTH_INTERVAL", "seconds between the app's health rounds", "`3600`"),
)
"""Every variable `ReclioConfig.from_env` reads, in the order the docs list them."""

_NAMES = frozenset(var.name for var in VARIABLES)


def variables_markdown() -> str:
    """The table of `VARIABLES`, for the docs."""
    lines = ["| variable | meaning | default |", "|---|---|---|"]
    lines += [f"| `{v.name}` | {v.meaning} | {v.default} |" for v in VARIABLES]
    return "\n".join(lines) + "\n"


class _Env:
    """Typed reads of the environment, each naming the variable when a value is bad."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def get(self, name: str) -> str | None:
        assert name in _NAMES, f"{name} is missing from VARIABLES"  # noqa: S101 - a dev check
        value = self._environ.get(name, "").strip()
        return value or None

    def parse(self, name: str, parse: Callable[[str], _T], default: _T) -> _T:
        raw = self.get(name)
        if raw is None:
            return default
        try:
            value = parse(raw)
        except ValueError as exc:
            msg = f"{name}={raw!r} is not valid: {exc}"
            raise ConfigurationError(msg) from None
        if isinstance(value, int | float) and value <= 0:
            msg = f"{name}={raw!r} is not valid: expected a positive number"
            raise ConfigurationError(msg)
        return value

    def flag(self, name: str, *, default: bool) -> bool:
        raw = self.get(name)
        if raw is None:
            return default
        value = _FLAGS.get(raw.lower())
        if value is None:
            msg = f"{name}={raw!r} is not valid: expected on or off (also 1/0, true/false, yes/no)"
            raise ConfigurationError(msg)
        return value

    def pair(self, first: str, second: str) -> tuple[str, str] | None:
        a, b = self.get(first), self.get(second)
        if (a is None) != (b is None):
            missing, present = (first, second) if a is None else (second, first)
            msg = f"{present} is set but {missing} is not: set both, or neither"
            raise ConfigurationError(msg)
        return (a, b) if a is not None and b is not None else None


_FLAGS = {"1": True, "on": True, "true": True, "yes": True} | {
    "0": False,
    "off": False,
    "false": False,
    "no": False,
}


def _backend(raw: str) -> VectorBackend:
    if raw not in ("exact", "annoy", "voyager"):
        msg = "expected exact, annoy or voyager"
        raise ValueError(msg)
    return raw  # type: ignore[return-value]


@attrs.frozen
class ReclioConfig:
    """Everything reclio's composition root needs, in one value.

    Stability: caller-stable; fields may be added with defaults.

    Attributes:
        state: Where state lives.
        http: The HTTP policy of the REST adapters.
        tmdb: TMDB, or ``None`` for the embedded catalog.
        trakt: Trakt, or ``None`` for embedded interactions and lists.
        recombee: Recombee, or ``None`` for the local engine.
        embedding: The embedder.
        vectors: The vector index.
        log_level: Log level of the ``reclio`` command, when set.
        app: Settings of an application serving feeds (the example app).
    """

    state: StateConfig = attrs.Factory(lambda: StateConfig(default_state_path(os.environ)))
    http: HttpPolicy = attrs.Factory(HttpPolicy)
    tmdb: TmdbConfig | None = None
    trakt: TraktConfig | None = None
    recombee: RecombeeConfig | None = None
    embedding: EmbeddingConfig = attrs.Factory(EmbeddingConfig)
    vectors: VectorConfig = attrs.Factory(VectorConfig)
    log_level: str | None = None
    app: AppConfig = attrs.Factory(AppConfig)

    @property
    def embedded(self) -> bool:
        """True when no external service is configured (the embedded default)."""
        return self.tmdb is None and self.trakt is None and self.recombee is None

    @classmethod
    def embedded_default(cls, state_path: Path | str = ":memory:") -> ReclioConfig:
        """The embedded default on one state file: no services, nothing from the environment."""
        return cls(state=StateConfig(path=state_path))

    def with_state_path(self, path: Path | str) -> ReclioConfig:
        """A copy whose state is the SQLite file ``path`` (a ``--state`` option)."""
        return attrs.evolve(self, state=StateConfig(path=path))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ReclioConfig:
        """Read the ``RECLIO_*`` variables of `VARIABLES` (from ``os.environ`` unless given).

        Raises:
            ConfigurationError: a value is invalid, or a credential pair is half set; the
                message names the variable.
        """
        raw = os.environ if environ is None else environ
        env = _Env(raw)
        trakt = env.pair("RECLIO_TRAKT_CLIENT_ID", "RECLIO_TRAKT_CLIENT_SECRET")
        recombee = env.pair("RECLIO_RECOMBEE_DATABASE_ID", "RECLIO_RECOMBEE_TOKEN")
        tmdb_token = env.get("RECLIO_TMDB_TOKEN")
        vector_dir = env.get("RECLIO_VECTOR_DIR")
        return cls(
            state=StateConfig(
                path=env.get("RECLIO_STATE_PATH") or default_state_path(raw),
                url=env.get("RECLIO_STATE_URL"),
            ),
            http=HttpPolicy(
                read_timeout=env.parse("RECLIO_HTTP_TIMEOUT", float, 20.0),
                max_attempts=env.parse("RECLIO_HTTP_MAX_ATTEMPTS", int, 4),
            ),
            tmdb=(
                TmdbConfig(
                    tmdb_token,
                    base_url=env.get("RECLIO_TMDB_BASE_URL") or TMDB_BASE_URL,
                    requests_per_second=env.parse("RECLIO_TMDB_RATE_LIMIT", float, 40.0),
                )
                if tmdb_token
                else None
            ),
            trakt=(
                TraktConfig(
                    *trakt,
                    base_url=env.get("RECLIO_TRAKT_BASE_URL") or TRAKT_BASE_URL,
                    redirect_uri=env.get("RECLIO_TRAKT_REDIRECT_URI")
                    or "urn:ietf:wg:oauth:2.0:oob",
                    writes_per_second=env.parse("RECLIO_TRAKT_WRITE_RATE_LIMIT", float, 1.0),
                    requests_per_second=env.parse("RECLIO_TRAKT_RATE_LIMIT", float, 10.0),
                )
                if trakt
                else None
            ),
            recombee=(
                RecombeeConfig(
                    *recombee,
                    region=env.get("RECLIO_RECOMBEE_REGION") or "us-west",
                    base_uri=env.get("RECLIO_RECOMBEE_BASE_URI"),
                )
                if recombee
                else None
            ),
            embedding=EmbeddingConfig(
                model=env.get("RECLIO_EMBEDDING_MODEL"),
                device=env.get("RECLIO_EMBEDDING_DEVICE"),
                cpu_threads=env.parse("RECLIO_EMBEDDING_THREADS", int, 1),
            ),
            vectors=VectorConfig(
                backend=env.parse("RECLIO_VECTOR_INDEX", _backend, "exact"),
                directory=Path(vector_dir) if vector_dir else None,
            ),
            log_level=env.get("RECLIO_LOG_LEVEL"),
            app=_app_config(env),
        )


def _app_config(env: _Env) -> AppConfig:
    try:
        return AppConfig(
            admin_token=env.get("RECLIO_ADMIN_TOKEN"),
            public_url=env.get("RECLIO_PUBLIC_URL") or AppConfig().public_url,
            user_id_param=env.flag("RECLIO_APP_USER_ID_PARAM", default=False),
            scheduler=env.flag("RECLIO_APP_SCHEDULER", default=True),
            content_interval=env.parse("RECLIO_CONTENT_SYNC_INTERVAL", float, 86_400.0),
            sweep_interval=env.parse("RECLIO_USER_SWEEP_INTERVAL", float, 300.0),
            sweep_concurrency=env.parse("RECLIO_USER_SWEEP_CONCURRENCY", int, 4),
            health_interval=env.parse("RECLIO_HEALTH_INTERVAL", float, 3_600.0),
        )
    except ConfigurationError as exc:
        # The only check left to AppConfig itself is the admin token's length.
        raise ConfigurationError(f"RECLIO_ADMIN_TOKEN: {exc}") from None
