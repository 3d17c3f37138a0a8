"""LocalRecommender passes the Recommender contract with each algorithm."""

from __future__ import annotations

import pytest

from reclio.adapters.local import LocalRecommender, LocalRecommenderConfig
from reclio.ports import Recommender
from reclio.testing.contracts.recommender import RecommenderContract


class TestLocalEase(RecommenderContract):
    @pytest.fixture
    def recommender(self) -> Recommender:
        return LocalRecommender(LocalRecommenderConfig(algorithm="ease", ease_l2=10.0))


class TestLocalItemKnn(RecommenderContract):
    @pytest.fixture
    def recommender(self) -> Recommender:
        return LocalRecommender(LocalRecommenderConfig(algorithm="itemknn", shrinkage=1.0))


class TestLocalDefaults(RecommenderContract):
    @pytest.fixture
    def recommender(self) -> Recommender:
        return LocalRecommender()
