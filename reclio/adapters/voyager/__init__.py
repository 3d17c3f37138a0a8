"""The voyager vector index: Spotify's HNSW library, with wheels (extra ``reclio[voyager]``).

On the benchmark (docs/vectors.md) it is the fastest and most accurate of reclio's
indexes past a few tens of thousands of titles.

Stability: caller-stable; implementer: internal.
"""

from reclio.adapters.voyager._index import VoyagerVectorIndex

__all__ = ["VoyagerVectorIndex"]
