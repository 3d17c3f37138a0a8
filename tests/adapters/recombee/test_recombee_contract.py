"""RecombeeRecommender passes the Recommender contract against a local Recombee."""

from __future__ import annotations

import pytest

from reclio.adapters.recombee import RecombeeRecommender
from reclio.ports import Recommender
from reclio.testing.contracts.recommender import RecommenderContract


class TestRecombeeRecommender(RecommenderContract):
    @pytest.fixture
    def recommender(self, recombee: RecombeeRecommender) -> Recommender:
        return recombee
