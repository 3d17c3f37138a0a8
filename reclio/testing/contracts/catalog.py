"""The CatalogSource contract: what every catalog source must do, as a pytest suite.

Subclass `CatalogSourceContract` and override two fixtures: ``source``, the adapter
under test, and ``known_movie``, a movie it certainly knows that also appears on the first
page of its popular movies. When no such movie exists in the test data (a replay of real
responses taken at different times), also override ``popular_movie``: a movie on the first
page of popular movies, which then need not be ``known_movie``. Nothing else about the
catalog's contents is assumed::

    class TestMyCatalog(CatalogSourceContract):
        @pytest.fixture
        def source(self) -> CatalogSource: ...

        @pytest.fixture
        def known_movie(self) -> ItemRef:
            return ItemRef.movie(603)

Stability: testing (may change between minor versions).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reclio.domain import ItemRef, MediaType
from reclio.ports import CandidateList, CatalogSource

__all__ = ["CatalogSourceContract"]


class CatalogSourceContract:
    """Behaviour every `CatalogSource` must have."""

    past_last_page: int = 500
    """A page number beyond the end of every list the source serves in these tests."""

    @pytest.fixture
    def source(self) -> CatalogSource:
        """The source under test; subclasses must override this."""
        raise NotImplementedError

    @pytest.fixture
    def known_movie(self) -> ItemRef:
        """A movie the source knows, on page 1 of its popular movies; subclasses override."""
        raise NotImplementedError

    @pytest.fixture
    def popular_movie(self, known_movie: ItemRef) -> ItemRef:
        """A movie on page 1 of popular movies; ``known_movie`` unless overridden."""
        return known_movie

    @pytest.mark.anyio
    async def test_unknown_title_is_none(self, source: CatalogSource) -> None:
        """An id the source has never seen yields None, not an exception."""
        assert await source.get_title(ItemRef.movie(9_999_999_999)) is None
        assert await source.get_title(ItemRef.tv(9_999_999_999)) is None

    @pytest.mark.anyio
    async def test_known_title(self, source: CatalogSource, known_movie: ItemRef) -> None:
        """A known title comes back with the ref it was asked for and a name."""
        title = await source.get_title(known_movie)
        assert title is not None
        assert title.ref == known_movie
        assert title.title
        assert 0.0 <= title.vote_average <= 10.0
        assert len(title.cast) <= 5

    @pytest.mark.anyio
    async def test_popular_page_one(self, source: CatalogSource, popular_movie: ItemRef) -> None:
        """Page 1 of popular movies holds the popular movie, only movies, each once."""
        page = await source.candidates(CandidateList.POPULAR, MediaType.MOVIE, page=1)
        assert popular_movie in page
        assert all(ref.media_type is MediaType.MOVIE for ref in page)
        assert len(set(page)) == len(page)

    @pytest.mark.anyio
    @pytest.mark.parametrize("which", list(CandidateList))
    @pytest.mark.parametrize("media_type", list(MediaType))
    async def test_candidates_have_requested_type(
        self, source: CatalogSource, which: CandidateList, media_type: MediaType
    ) -> None:
        """Every list returns refs of the requested media type only."""
        page = await source.candidates(which, media_type)
        assert all(ref.media_type is media_type for ref in page)

    @pytest.mark.anyio
    async def test_past_last_page_is_empty(self, source: CatalogSource) -> None:
        """A page beyond the end of a list is empty, not an error."""
        page = await source.candidates(
            CandidateList.POPULAR, MediaType.MOVIE, page=self.past_last_page
        )
        assert list(page) == []

    @pytest.mark.anyio
    @pytest.mark.parametrize("media_type", list(MediaType))
    async def test_changed_since_filters_type(
        self, source: CatalogSource, media_type: MediaType
    ) -> None:
        """changed_since returns refs of the requested media type only."""
        since = datetime.now(UTC) - timedelta(days=1)
        changed = await source.changed_since(media_type, since)
        assert all(ref.media_type is media_type for ref in changed)

    @pytest.mark.anyio
    async def test_nothing_changed_in_the_future(self, source: CatalogSource) -> None:
        """Nothing has changed after a moment that has not happened yet."""
        tomorrow = datetime.now(UTC) + timedelta(days=1)
        assert list(await source.changed_since(MediaType.MOVIE, tomorrow)) == []
