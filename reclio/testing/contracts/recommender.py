"""The Recommender contract: what every recommender must do, as a pytest suite.

Subclass :class:`RecommenderContract` and override ``recommender`` with a fresh, empty
recommender. The data is synthetic with a known answer (a checkerboard): two groups of
users, each watching its own block of movies and shows, every user leaving exactly one
movie of their block unwatched. Any collaborative filter must recommend that movie first
and keep an anchor's neighbours inside its block::

    class TestMyRecommender(RecommenderContract):
        @pytest.fixture
        def recommender(self) -> Recommender: ...

Stability: testing (may change between minor versions).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest

from reclio.domain import Interaction, ItemRef, MediaType, Title
from reclio.ports import Recommender, SupportsPing

__all__ = ["Checkerboard", "RecommenderContract", "checkerboard"]

GROUP_SIZE = 12
BLOCK_MOVIES = 8
BLOCK_SHOWS = 4
_START = datetime(2024, 1, 1, tzinfo=UTC)


@attrs.frozen
class Checkerboard:
    """The synthetic data and its known answers.

    Attributes:
        titles: Every title (two blocks of movies and shows, plus three nobody touched).
        interactions: Views, ratings and bookmarks of both groups.
        blocks: For each group name, its movies then its shows.
        withheld: For each user, the one movie of their block they never touched.
    """

    titles: tuple[Title, ...]
    interactions: tuple[Interaction, ...]
    blocks: dict[str, tuple[ItemRef, ...]]
    withheld: dict[str, ItemRef]

    def seen(self, user_id: str) -> frozenset[ItemRef]:
        """Every title the user interacted with."""
        return frozenset(i.ref for i in self.interactions if i.user_id == user_id)

    def group_of(self, ref: ItemRef) -> str | None:
        """Which block a title belongs to (``None``: untouched titles)."""
        return next((name for name, refs in self.blocks.items() if ref in refs), None)


def checkerboard() -> Checkerboard:
    """Build the checkerboard: groups ``a`` and ``b`` of 12 users, 8 movies + 4 shows each.

    Group ``a`` owns ``movie_1..8`` and ``tv_1..4``; group ``b`` owns ``movie_11..18`` and
    ``tv_11..14``; ``movie_90..92`` belong to nobody. User ``a3`` watches every title of
    block ``a`` but ``movie_{1 + 3 % 8}`` (views; every fourth one also rated 8/10; shows
    are bookmarked).
    """
    blocks = {
        "a": tuple(ItemRef.movie(n) for n in range(1, 1 + BLOCK_MOVIES))
        + tuple(ItemRef.tv(n) for n in range(1, 1 + BLOCK_SHOWS)),
        "b": tuple(ItemRef.movie(n) for n in range(11, 11 + BLOCK_MOVIES))
        + tuple(ItemRef.tv(n) for n in range(11, 11 + BLOCK_SHOWS)),
    }
    loners = tuple(ItemRef.movie(n) for n in (90, 91, 92))
    titles = tuple(
        Title(ref, f"Title {ref}", popularity=float(n))
        for n, ref in enumerate([*blocks["a"], *blocks["b"], *loners])
    )
    interactions: list[Interaction] = []
    withheld: dict[str, ItemRef] = {}
    for group, refs in blocks.items():
        movies = [ref for ref in refs if ref.media_type is MediaType.MOVIE]
        for k in range(GROUP_SIZE):
            user = f"{group}{k}"
            skipped = movies[k % len(movies)]
            withheld[user] = skipped
            for step, ref in enumerate(r for r in refs if r != skipped):
                at = _START + timedelta(days=k, minutes=step)
                if ref.media_type is MediaType.TV:
                    interactions.append(Interaction.bookmark(user, ref, at))
                    continue
                interactions.append(Interaction.view(user, ref, at))
                if step % 4 == 0:
                    interactions.append(Interaction.rating(user, ref, 8, at))
    return Checkerboard(tuple(titles), tuple(interactions), blocks, withheld)


class RecommenderContract:
    """Behaviour every :class:`~reclio.ports.Recommender` must have."""

    @pytest.fixture
    def recommender(self) -> Recommender:
        """A fresh, empty recommender; subclasses must override this."""
        raise NotImplementedError

    @pytest.fixture
    def board(self) -> Checkerboard:
        """The synthetic data."""
        return checkerboard()

    @pytest.fixture
    async def loaded(self, recommender: Recommender, board: Checkerboard) -> Recommender:
        """The recommender holding the checkerboard's titles and interactions."""
        await recommender.upsert_items(board.titles)
        await recommender.add_interactions(board.interactions)
        return recommender

    @pytest.mark.anyio
    async def test_upsert_confirms_every_title(
        self, recommender: Recommender, board: Checkerboard
    ) -> None:
        """Upserting titles confirms each of them, and upserting again is success."""
        first = await recommender.upsert_items(board.titles)
        again = await recommender.upsert_items(board.titles)
        assert set(first.ok) == {title.ref for title in board.titles}
        assert set(again.ok) == set(first.ok)
        assert not first.failed
        assert not again.failed

    @pytest.mark.anyio
    async def test_add_interactions_is_idempotent(
        self, loaded: Recommender, board: Checkerboard
    ) -> None:
        """Re-sending recorded interactions is confirmed and changes no recommendation."""
        before = await loaded.recommend("a1", media_type=MediaType.MOVIE, count=5)
        result = await loaded.add_interactions(board.interactions)
        after = await loaded.recommend("a1", media_type=MediaType.MOVIE, count=5)
        assert set(result.ok) == set(board.interactions)
        assert not result.failed
        assert list(after) == list(before)

    @pytest.mark.anyio
    async def test_recommends_the_withheld_title_first(
        self, loaded: Recommender, board: Checkerboard
    ) -> None:
        """Each user's first movie is the one movie of their block they have not seen."""
        for user, expected in board.withheld.items():
            picks = await loaded.recommend(user, media_type=MediaType.MOVIE, count=3)
            assert picks[0] == expected, user

    @pytest.mark.anyio
    async def test_never_recommends_seen_titles(
        self, loaded: Recommender, board: Checkerboard
    ) -> None:
        """No recommendation is a title the user interacted with."""
        for user in ("a0", "b5"):
            for media_type in MediaType:
                picks = await loaded.recommend(user, media_type=media_type, count=50)
                assert not set(picks) & board.seen(user)

    @pytest.mark.anyio
    async def test_respects_media_type_and_count(self, loaded: Recommender) -> None:
        """Every pick has the asked media type, and there are at most ``count``."""
        for media_type in MediaType:
            picks = await loaded.recommend("b2", media_type=media_type, count=4)
            assert 0 < len(picks) <= 4
            assert all(ref.media_type is media_type for ref in picks)
            assert len(set(picks)) == len(picks)

    @pytest.mark.anyio
    async def test_respects_exclude(self, loaded: Recommender, board: Checkerboard) -> None:
        """A title in ``exclude`` is never returned, even the user's best pick."""
        best = board.withheld["a2"]
        picks = await loaded.recommend("a2", media_type=MediaType.MOVIE, count=5, exclude={best})
        assert best not in picks
        assert picks

    @pytest.mark.anyio
    async def test_cold_user_gets_titles(self, loaded: Recommender) -> None:
        """A user with no interactions still gets recommendations (popular titles)."""
        picks = await loaded.recommend("nobody", media_type=MediaType.MOVIE, count=5)
        assert len(picks) == 5
        assert all(ref.media_type is MediaType.MOVIE for ref in picks)

    @pytest.mark.anyio
    async def test_similar_stays_in_the_block(
        self, loaded: Recommender, board: Checkerboard
    ) -> None:
        """An anchor's nearest titles are from its own block, and never the anchor."""
        for group, refs in board.blocks.items():
            anchor = refs[0]
            picks = await loaded.similar(anchor, count=3, media_type=MediaType.MOVIE)
            assert picks
            assert anchor not in picks
            assert all(board.group_of(ref) == group for ref in picks)

    @pytest.mark.anyio
    async def test_similar_respects_options(self, loaded: Recommender, board: Checkerboard) -> None:
        """``similar`` honours media type, count, exclude and the target user's history."""
        anchor = board.blocks["a"][0]
        shows = await loaded.similar(anchor, count=2, media_type=MediaType.TV)
        assert 0 < len(shows) <= 2
        assert all(ref.media_type is MediaType.TV for ref in shows)
        first = (await loaded.similar(anchor, count=1))[0]
        rest = await loaded.similar(anchor, count=20, exclude={first})
        assert first not in rest
        assert anchor not in rest
        personal = await loaded.similar(anchor, count=20, target_user="a3")
        assert not set(personal) & board.seen("a3")
        assert board.withheld["a3"] in personal

    @pytest.mark.anyio
    async def test_ping_when_supported(self, recommender: Recommender) -> None:
        """A recommender that can ping reports itself healthy."""
        if not isinstance(recommender, SupportsPing):
            pytest.skip("this recommender has no ping")
        await recommender.ping()
