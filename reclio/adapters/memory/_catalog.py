"""The in-memory catalog: titles, ranked candidate lists with pages, and a change log."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from reclio._clock import Clock, require_aware, utc_now
from reclio.domain import ItemRef, MediaType, Title
from reclio.ports import CandidateList, CatalogSource

_TOP_RATED_MIN_VOTES = 200
"""Like TMDB's top-rated lists, a title needs some votes before its average counts."""

_SortKey = Callable[[Title], tuple[float, ...]]


class InMemoryCatalogSource(CatalogSource):
    """**CatalogSource** over titles held in memory, paged like TMDB.

    Ranked lists are either set explicitly with `set_candidates`, or derived from the
    titles when never set: popular and trending by popularity, top rated by vote average
    among titles with at least 200 votes (all titles when none has), current by year then
    popularity. Every `add_title` is logged with a timestamp, which
    `changed_since` reads.

    Stability: caller-stable; implementer: internal.

    Args:
        titles: Titles to start with (logged as changed at ``clock()``).
        page_size: Refs per candidate page (TMDB uses 20).
        clock: Returns the current aware datetime; stamps the change log.
    """

    def __init__(
        self, titles: Iterable[Title] = (), *, page_size: int = 20, clock: Clock = utc_now
    ) -> None:
        if page_size < 1:
            msg = f"page_size must be at least 1, got {page_size}"
            raise ValueError(msg)
        self._page_size = page_size
        self._clock = clock
        self._titles: dict[ItemRef, Title] = {}
        self._changed_at: dict[ItemRef, datetime] = {}
        self._ranked: dict[tuple[CandidateList, MediaType], tuple[ItemRef, ...]] = {}
        self._derived: dict[tuple[CandidateList, MediaType], tuple[ItemRef, ...]] = {}
        for title in titles:
            self.add_title(title)

    # -- setting up --------------------------------------------------------------------------

    def add_title(self, title: Title, *, changed_at: datetime | None = None) -> None:
        """Add or replace a title and log it as changed at ``changed_at`` (default: now)."""
        when = require_aware(changed_at, "changed_at") if changed_at else self._clock()
        self._titles[title.ref] = title
        self._changed_at[title.ref] = when
        self._derived.clear()

    def set_candidates(
        self, which: CandidateList, media_type: MediaType, refs: Iterable[ItemRef]
    ) -> None:
        """Fix the ranking of one list (best first); refs need not be known titles."""
        ranked = tuple(refs)
        wrong = [ref for ref in ranked if ref.media_type is not media_type]
        if wrong:
            msg = f"{which.value} {media_type.value} list given other media types: {wrong[:3]}"
            raise ValueError(msg)
        self._ranked[which, media_type] = ranked

    @property
    def titles(self) -> Sequence[Title]:
        """Every title held, ordered by ref."""
        return [self._titles[ref] for ref in sorted(self._titles)]

    # -- the port ----------------------------------------------------------------------------

    async def get_title(self, ref: ItemRef) -> Title | None:
        """The title, or ``None`` when unknown."""
        return self._titles.get(ref)

    async def candidates(
        self, which: CandidateList, media_type: MediaType, *, page: int = 1
    ) -> Sequence[ItemRef]:
        """One page of a ranked list, best first; empty past the last page.

        Raises:
            ValueError: ``page`` is below 1.
        """
        if page < 1:
            msg = f"pages start at 1, got {page}"
            raise ValueError(msg)
        ranked = self._ranked.get((which, media_type))
        if ranked is None:
            ranked = self._derive(which, media_type)
        start = (page - 1) * self._page_size
        return list(ranked[start : start + self._page_size])

    async def changed_since(self, media_type: MediaType, since: datetime) -> Sequence[ItemRef]:
        """Titles of ``media_type`` logged as changed after ``since``, ordered by ref."""
        require_aware(since, "since")
        return sorted(
            ref
            for ref, at in self._changed_at.items()
            if ref.media_type is media_type and at > since
        )

    def _derive(self, which: CandidateList, media_type: MediaType) -> tuple[ItemRef, ...]:
        key = (which, media_type)
        if key not in self._derived:
            pool = [t for t in self._titles.values() if t.media_type is media_type]
            self._derived[key] = tuple(t.ref for t in sorted(pool, key=_ranking(which, pool)))
        return self._derived[key]


def _ranking(which: CandidateList, pool: Sequence[Title]) -> _SortKey:
    if which is CandidateList.TOP_RATED:
        enough = any(t.vote_count >= _TOP_RATED_MIN_VOTES for t in pool)
        floor = _TOP_RATED_MIN_VOTES if enough else 0

        def top_rated(t: Title) -> tuple[float, ...]:
            rated = t.vote_count >= floor
            return (not rated, -t.vote_average, -t.vote_count, t.ref.tmdb_id)

        return top_rated
    if which is CandidateList.CURRENT:

        def current(t: Title) -> tuple[float, ...]:
            return (-(t.year or -math.inf), -t.popularity, t.ref.tmdb_id)

        return current

    def popular(t: Title) -> tuple[float, ...]:
        return (-t.popularity, t.ref.tmdb_id)

    return popular
