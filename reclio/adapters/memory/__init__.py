"""First-class in-memory adapters for every port but the recommender.

They are real implementations, not test doubles: the embedded default (``reclio demo``)
runs on them, and they pass the same contract suites (`reclio.testing.contracts`) as
the remote adapters. To make one fail like a remote service, or to count its calls, wrap
it in a `reclio.testing.faults` wrapper. Importing this package imports NumPy (for the
vector index, the embedder and the state store's vectors); ``import reclio`` does not.

Stability: caller-stable; implementer: internal.
"""

from reclio.adapters.memory._catalog import InMemoryCatalogSource
from reclio.adapters.memory._embedder import HashingEmbedder
from reclio.adapters.memory._interactions import InMemoryInteractionSource
from reclio.adapters.memory._lists import InMemoryListSink
from reclio.adapters.memory._state import InMemoryStateStore
from reclio.adapters.memory._vectors import ExactVectorIndex

__all__ = [
    "ExactVectorIndex",
    "HashingEmbedder",
    "InMemoryCatalogSource",
    "InMemoryInteractionSource",
    "InMemoryListSink",
    "InMemoryStateStore",
]
