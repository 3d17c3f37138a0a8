"""Settings of each adapter: frozen values, one per adapter, and the shared HTTP policy.

These are plain values: nothing here reads the environment. `reclio.config` (the only
module that reads ``RECLIO_*`` variables) builds them from the environment and re-exports
them; adapters import them from here, so an adapter never depends on the environment
reader (an import-linter contract holds this). Secrets are ``repr=False``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import attrs

from reclio.errors import ConfigurationError

__all__ = [
    "DEFAULT_EMBEDDING_MODEL",
    "MIN_ADMIN_TOKEN",
    "TMDB_BASE_URL",
    "TRAKT_BASE_URL",
    "AppConfig",
    "EmbeddingConfig",
    "HttpPolicy",
    "PostgresConfig",
    "RecombeeConfig",
    "StateConfig",
    "TmdbConfig",
    "TraktConfig",
    "VectorBackend",
    "VectorConfig",
]

VectorBackend = Literal["exact", "annoy", "voyager"]

TMDB_BASE_URL = "https://api.themoviedb.org/3"
TRAKT_BASE_URL = "https://api.trakt.tv"


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
        token: A v4 read-access token (sent as ``Authorization: Bearer``) or a v3 API key
            (32 hex digits, recognized by its form; sent as ``api_key``, below httpx, so it
            is never in a logged URL).
        base_url: TMDB's v3 API root.
        requests_per_second: The process-wide rate limit (TMDB allows about 40/s).
        language: ``language`` parameter of every request.
        candidate_pages: Pages read from each ranked list per content sync.
    """

    token: str = attrs.field(repr=False)
    base_url: str = TMDB_BASE_URL
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
        requests_per_second: The process-wide request rate (Trakt allows each user 1,000
            GETs per 5 minutes, and the app as many unauthenticated ones).
    """

    client_id: str = attrs.field(repr=False)
    client_secret: str = attrs.field(repr=False)
    base_url: str = TRAKT_BASE_URL
    redirect_uri: str = "urn:ietf:wg:oauth:2.0:oob"
    writes_per_second: float = attrs.field(default=1.0, validator=_positive)
    requests_per_second: float = attrs.field(default=10.0, validator=_positive)


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
    instance: object, attribute: attrs.Attribute[Any], value: int | None
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
            ``None`` keeps torch's default (one per core). One by default: embedding is
            background work, and on 2 cores a second thread made it 1.8 times as fast on
            an idle machine but slower on a busy one, while taking the core that serves
            requests (docs/vectors.md).
    """

    model: str | None = None
    device: str | None = None
    batch_size: int = attrs.field(default=64, validator=_positive)
    cpu_threads: int | None = attrs.field(default=1, validator=_optional_positive)


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


@attrs.frozen
class StateConfig:
    """Where reclio keeps its state.

    `reclio.config.ReclioConfig` defaults ``path`` to the file under ``$XDG_DATA_HOME``;
    a bare ``StateConfig()`` is a throw-away store.

    Attributes:
        path: The SQLite file (``":memory:"`` for a throw-away store).
        url: A ``postgresql://`` URL; when set it wins over ``path``.
    """

    path: Path | str = ":memory:"
    url: str | None = attrs.field(default=None, repr=False)

    @property
    def directory(self) -> Path | None:
        """The folder beside the SQLite file, where files that go with the state live."""
        if self.url is not None or str(self.path) == ":memory:":
            return None
        return Path(self.path).parent


@attrs.frozen
class PostgresConfig:
    """The PostgreSQL state store (extra ``reclio[postgres]``).

    Attributes:
        url: A libpq URL, ``postgresql://user:password@host:5432/dbname``; its password is
            a secret (never in a repr, a log line or an error).
        schema: The PostgreSQL schema reclio's tables live in (created when missing), so
            reclio can share a database with the application and with the job queue.
        min_connections: Connections each process keeps open.
        max_connections: Connections each process may open at once.
        connect_timeout: Seconds to wait for a connection (from the pool or the server).
        statement_timeout: Seconds one statement may run before the server cancels it
            (0: no limit).
    """

    url: str = attrs.field(repr=False)
    schema: str = "reclio"
    min_connections: int = attrs.field(default=1, validator=_not_negative)
    max_connections: int = attrs.field(default=10, validator=_positive)
    connect_timeout: float = attrs.field(default=10.0, validator=_positive)
    statement_timeout: float = attrs.field(default=30.0, validator=_not_negative)

    def __attrs_post_init__(self) -> None:
        if not self.url.startswith(("postgresql://", "postgres://")):
            msg = "RECLIO_STATE_URL must be a postgresql:// URL, e.g. postgresql://reclio@db/reclio"
            raise ConfigurationError(msg)
        if not self.schema.isidentifier() or self.schema != self.schema.lower():
            msg = f"the PostgreSQL schema must be a lower-case identifier, got {self.schema!r}"
            raise ConfigurationError(msg)
        if self.min_connections > self.max_connections:
            msg = (
                f"min_connections ({self.min_connections}) exceeds max_connections"
                f" ({self.max_connections})"
            )
            raise ConfigurationError(msg)
MIN_ADMIN_TOKEN = 16
"""The shortest admin token `AppConfig` accepts."""


def _admin_token(_instance: object, _attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None and len(value) < MIN_ADMIN_TOKEN:
        msg = (
            f"the admin token is too short ({len(value)} characters): use at least"
            f" {MIN_ADMIN_TOKEN}, e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
        raise ConfigurationError(msg)


@attrs.frozen
class AppConfig:
    """Settings of an application that serves ChillLink feeds (the example app).

    Attributes:
        admin_token: What the ``X-Admin-Token`` header must be for ``/admin/...``;
            ``None``: the admin routes answer 503.
        public_url: The base of the addon URLs handed to users
            (``<public_url>/<token>/manifest``).
        user_id_param: Serve ``/feeds?user_id=`` with that user's rows. Off by default:
            anyone who knows (or guesses) an id, such as a Trakt username, would read that
            user's rows; per-user addon URLs carry an unguessable token instead.
        scheduler: Run the background jobs in process (content sync, user sweep, health).
        content_interval: Seconds between content syncs.
        sweep_interval: Seconds between looks for users whose sync is due.
        sweep_concurrency: Users synced at once by a sweep.
        health_interval: Seconds between health rounds.
    """

    admin_token: str | None = attrs.field(default=None, repr=False, validator=_admin_token)
    public_url: str = "http://127.0.0.1:8000"
    user_id_param: bool = False
    scheduler: bool = True
    content_interval: float = attrs.field(default=86_400.0, validator=_positive)
    sweep_interval: float = attrs.field(default=300.0, validator=_positive)
    sweep_concurrency: int = attrs.field(default=4, validator=_positive)
    health_interval: float = attrs.field(default=3_600.0, validator=_positive)
