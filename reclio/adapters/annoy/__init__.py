"""The Annoy vector index: a memory-mapped file every process shares (extra ``reclio[annoy]``).

Annoy has no Linux wheels: installing it compiles C++ (a compiler must be present). For
most catalogs `reclio.adapters.voyager` is the better pick; docs/vectors.md says when.

Stability: caller-stable; implementer: internal.
"""

from reclio.adapters.annoy._index import AnnoyVectorIndex

__all__ = ["AnnoyVectorIndex"]
