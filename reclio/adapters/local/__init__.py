"""The embedded default recommender: collaborative filtering in process (EASE or item-kNN).

``LocalRecommender`` implements :class:`~reclio.ports.Recommender` with numpy and scipy
(both reclio dependencies, imported only here, so ``import reclio`` stays light). How it
works and how well, measured on MovieLens: ``docs/local-recommender.md``.
"""

from reclio.adapters.local._config import LocalRecommenderConfig
from reclio.adapters.local._recommender import LocalRecommender

__all__ = ["LocalRecommender", "LocalRecommenderConfig"]
