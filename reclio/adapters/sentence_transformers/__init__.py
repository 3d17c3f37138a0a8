"""The sentence-transformers embedder (extra ``reclio[embeddings]``; install torch first).

Importing this package is cheap: torch and the model load on the first embedding.

Stability: caller-stable; implementer: internal.
"""

from reclio.adapters.sentence_transformers._embedder import SentenceTransformerEmbedder

__all__ = ["SentenceTransformerEmbedder"]
