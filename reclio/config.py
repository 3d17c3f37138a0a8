"""Configuration: the only module in reclio that reads ``RECLIO_*`` environment variables.

Everything else takes configuration objects. There is one frozen config per adapter
(`TmdbConfig`, `TraktConfig`, `RecombeeConfig`, `EmbeddingConfig`, `VectorConfig`,
`StateConfig`) and one `HttpPolicy` shared by the REST adapters; `ReclioConfig` holds them
all. `ReclioConfig.from_env` builds it from the variables listed in `VARIABLES` (the docs
page "Configuration" is rendered from that table, so the two cannot drift). A service whose
credentials are missing is ``None`` in the config, and the composition root
(`reclio.bootstrap`) selects the embedded default for that port.

Secrets are ``repr=False``: no config value prints a token.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

import attrs

from reclio.errors import ConfigurationError

__all__ = [
    "DEFAULT_EMBEDDING_MODEL",
    "VARIABLES",
    "EmbeddingConfig",
    "EnvVar",
    "HttpPolicy",
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

VectorBackend = Literal["exact", "annoy", "voyager"]

_T = TypeVar("_T")

_TMDB_BASE_URL = "https://api.themoviedb.org/3"
_TRAKT_BASE_URL = "https://api.trakt.tv"


def _positive(_instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value <= 0:
        msg = f"{attribute.name} must be positive, got {value!r}"
        raise ConfigurationError(msg)


def _not_negative(_instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value < 0:
        msg = f"{attribute.name} must be zero or more, got {value!r}"
        raise ConfigurationError(msg)


@attrs.frozen
class HttpPolicy:
    """How every REST adapter (TMDB, Trakt) talks HTTP: timeouts, retries, identity.

    Attributes:
        connect_timeout: Seconds to open a connection.
        read_timeout: Seconds to wait for each read (the per-call deadline is their sum).
        max_attempts: Tries per request, the first included (transport errors, 5xx, 429).
        backoff_initial: Seconds before the first retry; doubles each retry, with jitter.
        backoff_max: Longest wait between two tries (a longer ``Retry-After`` is a failure).
        max_concurrency: Requests in flight at once per service.
        user_agent: Sent on every request.
    """

    connect_timeout: float = attrs.field(default=5.0, validator=_positive)
    read_timeout: float = attrs.field(default=20.0, validator=_positive)
    max_attempts: int = attrs.field(default=4, validator=_positive)
    backoff_initial: float = attrs.field(default=0.5, validator=_positive)
    backoff_max: float = attrs.field(default=30.0, validator=_positive)
    max_concurrency: int = attrs.field(default=8, validator=_positive)
    user_agent: str = "reclio (+https://reclio.readthedocs.io)"

    @property
    def deadline(self) -> float:
        """The longest one try of a request may take, in seconds."""
        return self.connect_timeout + self.read_timeout


@attrs.frozen
class TmdbConfig:
    """The TMDB catalog source.

    Attributes:
        token: A v4 read-access token (sent as ``Authorization: Bearer``) or a v3 API key.
        base_url: TMDB's v3 API root.
        requests_per_second: The process-wide rate limit (TMDB allows about 40/s).
        language: ``language`` parameter of every request.
        candidate_pages: Pages read from each ranked list per content sync.
    """

    token: str = attrs.field(repr=False)
    base_url: str = _TMDB_BASE_URL
    requests_per_second: float = attrs.field(default=40.0, validator=_positive)
    language: str = "en-US"
    candidate_pages: int = attrs.field(default=5, validator=_positive)


@attrs.frozen
class TraktConfig:
    """The Trakt interaction source, list sink and OAuth app.

    Attributes:
        client_id: The app's client id (sent as ``trakt-api-key``).
        client_secret: The app's client secret (token exchange and refresh only).
        base_url: Trakt's API root.
        redirect_uri: The app's redirect URI (the out-of-band value for the device flow).
        writes_per_second: List writes per user per second (Trakt allows 1).
    """

    client_id: str = attrs.field(repr=False)
    client_secret: str = attrs.field(repr=False)
    base_url: str = _TRAKT_BASE_URL
    redirect_uri: str = "urn:ietf:wg:oauth:2.0:oob"
    writes_per_second: float = attrs.field(default=1.0, validator=_positive)


@attrs.frozen
class RecombeeConfig:
    """A Recombee database.

    Attributes:
        database_id: The database's id.
        token: Its private token (signs every request; never sent).
        region: The database's region, e.g. ``eu-west``.
        base_uri: Overrides the region's host; ``http://`` selects plain HTTP (local servers).
        batch_size: Requests per ``Batch`` call.
        timeout: Seconds each call may take.
        diagnose_sample: Titles marked synced that diagnose looks up remotely.
    """

    database_id: str
    token: str = attrs.field(repr=False)
    region: str = "us-west"
    base_uri: str | None = None
    batch_size: int = attrs.field(default=500, validator=_positive)
    timeout: float = attrs.field(default=10.0, validator=_positive)
    diagnose_sample: int = attrs.field(default=20, validator=_positive)


DEFAULT_EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
"""The sentence-transformers model used when `EmbeddingConfig.model` names none."""


def _optional_positive(
    instance: object, attribute: attrs.Attribute[int], value: int | None
) -> None:
    if value is not None:
        _positive(instance, attribute, value)


@attrs.frozen
class EmbeddingConfig:
    """The embedder.

    Attributes:
        model: A sentence-transformers model name or local path; ``None`` selects the
            hashing embedder (no model, no download). `SentenceTransformerEmbedder` given
            ``None`` uses `DEFAULT_EMBEDDING_MODEL`.
        device: ``"cpu"``, ``"cuda"``, ...; ``None`` lets the library pick (a GPU when present).
        batch_size: Texts per forward pass.
        cpu_threads: torch threads when the model runs on the CPU (process-wide);
            ``None`` keeps torch's default (one per core: on 2 cores that embedded 1.8 times
            as fast as one thread, see docs/vectors.md).
    """

    model: str | None = None
    device: str | None = None
    batch_size: int = attrs.field(default=64, validator=_positive)
    cpu_threads: int | None = attrs.field(default=None, validator=_optional_positive)


@attrs.frozen
class VectorConfig:
    """The vector index. Defaults come from ``benchmarks/vectors.py`` (docs/vectors.md).

    Attributes:
        backend: ``"exact"`` (NumPy, small catalogs), ``"annoy"`` or ``"voyager"``.
        directory: Where the published index files live (default: beside the state file).
        seed: Seed of every build, so equal inputs give equal files.
        overfetch: Neighbours an approximate index fetches per neighbour wanted under a
            ``media_type`` filter (excluded refs are counted exactly), so filters still
            fill ``k``; it asks again for more when they do not.
        annoy_trees: Annoy trees per build (more: a bigger file, hardly better recall).
        annoy_search_k: Annoy candidates inspected per query (0: Annoy's ``n_trees * k``).
        voyager_m: Voyager (HNSW) links per node.
        voyager_ef_construction: Voyager's candidate list while building.
        voyager_ef: Voyager's candidate list per query (at least ``k`` is used).
    """

    backend: VectorBackend = "exact"
    directory: Path | None = None
    seed: int = 42
    overfetch: float = attrs.field(default=2.0, validator=_positive)
    annoy_trees: int = attrs.field(default=50, validator=_positive)
    annoy_search_k: int = attrs.field(default=5000, validator=_not_negative)
    voyager_m: int = attrs.field(default=16, validator=_positive)
    voyager_ef_construction: int = attrs.field(default=200, validator=_positive)
    voyager_ef: int = attrs.field(default=40, validator=_positive)


def default_state_path(environ: Mapping[str, str]) -> Path:
    """``$XDG_DATA_HOME/reclio/state.sqlite3`` (``~/.local/share`` when unset)."""
    base = environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "reclio" / "state.sqlite3"


@attrs.frozen
class StateConfig:
    """Where reclio keeps its state.

    Attributes:
        path: The SQLite file (``":memory:"`` for a throw-away store).
        url: A ``postgresql://`` URL; when set it wins over ``path``.
    """

    path: Path | str = attrs.field(factory=lambda: default_state_path(os.environ))
    url: str | None = attrs.field(default=None, repr=False)

    @property
    def directory(self) -> Path | None:
        """The folder beside the SQLite file, where files that go with the state live."""
        if self.url is not None or str(self.path) == ":memory:":
            return None
        return Path(self.path).parent


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
    EnvVar("RECLIO_RECOMBEE_DATABASE_ID", "Recombee database id", "unset: local engine"),
    EnvVar("RECLIO_RECOMBEE_TOKEN", "Recombee private token", "unset: local engine"),
    EnvVar("RECLIO_RECOMBEE_REGION", "Recombee region, e.g. `eu-west`", "`us-west`"),
    EnvVar("RECLIO_RECOMBEE_BASE_URI", "Recombee host override (`http://` for local)", "unset"),
    EnvVar("RECLIO_EMBEDDING_MODEL", "sentence-transformers model name or path", "unset: hashing"),
    EnvVar("RECLIO_EMBEDDING_DEVICE", "torch device for the embedder", "unset: library picks"),
    EnvVar("RECLIO_VECTOR_INDEX", "`exact`, `annoy` or `voyager`", "`exact`"),
    EnvVar("RECLIO_VECTOR_DIR", "folder of the published index files", "beside the state file"),
    EnvVar("RECLIO_HTTP_TIMEOUT", "seconds each HTTP read may take", "`20`"),
    EnvVar("RECLIO_HTTP_MAX_ATTEMPTS", "tries per HTTP request", "`4`"),
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

    def pair(self, first: str, second: str) -> tuple[str, str] | None:
        a, b = self.get(first), self.get(second)
        if (a is None) != (b is None):
            missing, present = (first, second) if a is None else (second, first)
            msg = f"{present} is set but {missing} is not: set both, or neither"
            raise ConfigurationError(msg)
        return (a, b) if a is not None and b is not None else None


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
    """

    state: StateConfig = attrs.Factory(StateConfig)
    http: HttpPolicy = attrs.Factory(HttpPolicy)
    tmdb: TmdbConfig | None = None
    trakt: TraktConfig | None = None
    recombee: RecombeeConfig | None = None
    embedding: EmbeddingConfig = attrs.Factory(EmbeddingConfig)
    vectors: VectorConfig = attrs.Factory(VectorConfig)
    log_level: str | None = None

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
                    base_url=env.get("RECLIO_TMDB_BASE_URL") or _TMDB_BASE_URL,
                    requests_per_second=env.parse("RECLIO_TMDB_RATE_LIMIT", float, 40.0),
                )
                if tmdb_token
                else None
            ),
            trakt=(
                TraktConfig(
                    *trakt,
                    base_url=env.get("RECLIO_TRAKT_BASE_URL") or _TRAKT_BASE_URL,
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
            ),
            vectors=VectorConfig(
                backend=env.parse("RECLIO_VECTOR_INDEX", _backend, "exact"),
                directory=Path(vector_dir) if vector_dir else None,
            ),
            log_level=env.get("RECLIO_LOG_LEVEL"),
        )
