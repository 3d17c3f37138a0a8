"""TmdbCatalogSource passes the shipped CatalogSource contract, on a replay of real bodies."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reclio.adapters.tmdb import TmdbCatalogSource, TmdbConfig
from reclio.domain import ItemRef
from reclio.ports import CatalogSource
from reclio.testing.contracts.catalog import CatalogSourceContract


class TestTmdbCatalogContract(CatalogSourceContract):
    """The contract against TMDB's real responses (replayed, never recorded)."""

    past_last_page = 501  # TMDB serves pages 1..500; the adapter answers later ones itself

    @pytest.fixture
    def source(self, replay, replay_token) -> Iterator[CatalogSource]:
        with replay():
            yield TmdbCatalogSource(TmdbConfig(replay_token))

    @pytest.fixture
    def known_movie(self) -> ItemRef:
        return ItemRef.movie(550)

    @pytest.fixture
    def popular_movie(self) -> ItemRef:
        # The samples were taken at different times: Fight Club is not on that popular page.
        return ItemRef.movie(640146)
