"""The one HTTP policy of reclio's REST adapters (TMDB, Trakt): DESIGN section 9.

* `RateLimiter`: one per service, made once by the composition root and shared by every
  task of the process (rate, concurrency, ``Retry-After`` pauses).
* `RestClient`: what an adapter holds; deadlines, retries with jittered backoff, the
  ``User-Agent``, and the choke point mapping every failure to reclio's `SourceError` tree.
* `iter_pages` with `body_page_count` (TMDB) or `header_page_count` (Trakt).

Stability: internal to reclio's adapters (not part of the public API).
"""

from reclio.adapters._http._client import Params, Reply, RestClient, parse_retry_after
from reclio.adapters._http._limiter import RateLimiter
from reclio.adapters._http._paging import (
    PageCount,
    body_page_count,
    header_page_count,
    iter_pages,
)

__all__ = [
    "PageCount",
    "Params",
    "RateLimiter",
    "Reply",
    "RestClient",
    "body_page_count",
    "header_page_count",
    "iter_pages",
    "parse_retry_after",
]
