"""The TMDB catalog source: titles, ranked lists, changes and genres from TMDB's v3 API.

Construct `TmdbCatalogSource` with a `TmdbConfig`, the shared `HttpPolicy` and TMDB's
process-wide rate limiter from `tmdb_limiter` (made once by the composition root).

Stability: caller-stable.
"""

from reclio.adapters.tmdb._source import TmdbCatalogSource, tmdb_limiter
from reclio.settings import TmdbConfig

__all__ = ["TmdbCatalogSource", "TmdbConfig", "tmdb_limiter"]
