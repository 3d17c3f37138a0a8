"""Hypothesis strategies for reclio's domain values.

Use them to property-test adapters and applications built on reclio::

    from hypothesis import given
    from reclio.testing import strategies as rst

    @given(rst.user_states())
    def test_round_trip(state): ...

Stability: testing (may change between minor versions).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from reclio.domain import (
    MOVIE_GENRES,
    TV_GENRES,
    ActivityStamp,
    Anchor,
    Attempt,
    CadenceTier,
    ContentType,
    Feed,
    FeedsResponse,
    Genre,
    GenreScore,
    Interaction,
    ItemRef,
    ManagedList,
    ManagedListKind,
    MediaType,
    OAuthToken,
    Outcome,
    PlaybackProgress,
    Preferences,
    Rating,
    TasteProfile,
    Title,
    TmdbQuerySource,
    TraktListSource,
    UserHistory,
    UserState,
)
from reclio.errors import (
    AccountLimitExceeded,
    AuthenticationError,
    DecodeError,
    RateLimited,
    SourceError,
    SourceTimeout,
    SourceUnavailable,
)

__all__ = [
    "activity_stamps",
    "anchors",
    "feeds",
    "feeds_responses",
    "interactions",
    "item_refs",
    "managed_lists",
    "oauth_tokens",
    "preferences",
    "source_errors",
    "taste_profiles",
    "titles",
    "user_histories",
    "user_ids",
    "user_states",
]

_chars = st.characters(codec="utf-8")
_text = st.text(_chars, max_size=40)
_names = st.text(_chars, min_size=1, max_size=40).filter(str.strip)  # never blank


def timestamps() -> st.SearchStrategy[datetime]:
    """Timezone-aware UTC datetimes, millisecond precision (what Trakt sends)."""
    return st.datetimes(
        min_value=datetime(1990, 1, 1),  # noqa: DTZ001 - bounds of a strategy made aware below
        max_value=datetime(2040, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    ).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))


def user_ids() -> st.SearchStrategy[str]:
    """Non-empty user ids."""
    return st.text(_chars, min_size=1, max_size=24)


def item_refs(media_type: MediaType | None = None) -> st.SearchStrategy[ItemRef]:
    """References to movies and shows."""
    types = st.just(media_type) if media_type else st.sampled_from(MediaType)
    return st.builds(ItemRef, types, st.integers(min_value=1, max_value=9_999_999_999))


def genres() -> st.SearchStrategy[Genre]:
    """Real TMDB genres of either media type."""
    table = sorted({**MOVIE_GENRES, **TV_GENRES}.items())
    return st.sampled_from(table).map(lambda pair: Genre(*pair))


def titles() -> st.SearchStrategy[Title]:
    """Catalog titles with arbitrary but valid properties."""
    return st.builds(
        Title,
        ref=item_refs(),
        title=_names,
        overview=_text,
        genres=st.lists(genres(), max_size=4, unique=True).map(tuple),
        year=st.none() | st.integers(1880, 2040),
        vote_average=st.floats(0, 10),
        vote_count=st.integers(0, 10**7),
        popularity=st.floats(0, 10**5),
        cast=st.lists(_text, max_size=5).map(tuple),
        director=st.none() | _text,
        runtime=st.none() | st.integers(1, 1000),
    )


def interactions(user_id: str | None = None) -> st.SearchStrategy[Interaction]:
    """Views, ratings (any 1..10 star value, normalized) and bookmarks."""
    users = st.just(user_id) if user_id is not None else user_ids()
    views = st.builds(Interaction.view, users, item_refs(), timestamps())
    ratings = st.builds(Interaction.rating, users, item_refs(), st.integers(1, 10), timestamps())
    bookmarks = st.builds(Interaction.bookmark, users, item_refs(), timestamps())
    return st.one_of(views, ratings, bookmarks)


def user_histories() -> st.SearchStrategy[UserHistory]:
    """Compact histories: any views, current ratings and watchlist, overlapping or not."""
    ratings = st.builds(Rating, st.integers(1, 10).map(lambda r: (r - 5.5) / 4.5), timestamps())
    return st.builds(
        UserHistory,
        views=st.dictionaries(item_refs(), timestamps(), max_size=12),
        ratings=st.dictionaries(item_refs(), ratings, max_size=8),
        bookmarks=st.dictionaries(item_refs(), timestamps(), max_size=6),
    )


def oauth_tokens() -> st.SearchStrategy[OAuthToken]:
    """OAuth token pairs with any lifetime and scope."""
    secrets = st.text(_chars, min_size=1, max_size=64)
    return st.builds(
        OAuthToken,
        access_token=secrets,
        refresh_token=secrets,
        created_at=timestamps(),
        expires_in=st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=400)),
        scope=st.sampled_from(["public", "private", "public private"]),
    )


def playback() -> st.SearchStrategy[PlaybackProgress]:
    """Titles paused part-way."""
    return st.builds(PlaybackProgress, item_refs(), st.floats(0, 100), timestamps())


def activity_stamps() -> st.SearchStrategy[ActivityStamp]:
    """Activity stamps with any mix of never and some time."""
    maybe = st.none() | timestamps()
    return st.builds(ActivityStamp, maybe, maybe, maybe, maybe)


def _slider() -> st.SearchStrategy[int | None]:
    # 0 and 100 are drawn often: the bounds are where "0 read as unset" bugs live.
    return st.none() | st.sampled_from([0, 100]) | st.integers(0, 100)


def preferences() -> st.SearchStrategy[Preferences]:
    """Any preferences, including every genre excluded and sliders at their bounds."""
    return st.builds(
        Preferences,
        excluded_movie_genres=st.frozensets(st.sampled_from(sorted(MOVIE_GENRES))),
        excluded_show_genres=st.frozensets(st.sampled_from(sorted(TV_GENRES))),
        family_safe=st.booleans(),
        era=_slider(),
        runtime=_slider(),
        discovery=_slider(),
    )


def _genre_scores(table: list[int]) -> st.SearchStrategy[tuple[GenreScore, ...]]:
    # Unknown genre ids too: a store may hold ids TMDB later retired.
    ids = st.sampled_from(table) | st.integers(1, 99_999)
    return st.lists(
        st.builds(GenreScore, ids, st.floats(0, 1)), max_size=8, unique_by=lambda s: s.genre_id
    ).map(tuple)


def taste_profiles() -> st.SearchStrategy[TasteProfile]:
    """Taste profiles, possibly empty, possibly naming genres TMDB does not list."""
    return st.builds(
        TasteProfile,
        movie_genres=_genre_scores(sorted(MOVIE_GENRES)),
        show_genres=_genre_scores(sorted(TV_GENRES)),
    )


def anchors(media_type: MediaType | None = None) -> st.SearchStrategy[Anchor]:
    """Anchors (a title with its name)."""
    return st.builds(Anchor, item_refs(media_type), _names)


def managed_lists(kind: ManagedListKind | None = None) -> st.SearchStrategy[ManagedList]:
    """Managed-list records in any condition: empty, failed, stale anchors."""
    return st.builds(
        ManagedList,
        kind=st.just(kind) if kind else st.sampled_from(ManagedListKind),
        list_id=st.integers(1, 2**53),
        item_count=st.integers(0, 5000),
        synced_ok=st.booleans(),
        synced_at=st.none() | timestamps(),
        anchor=st.none() | item_refs(),
    )


def user_states(user_id: str | None = None) -> st.SearchStrategy[UserState]:
    """Any valid user state: partial, contradictory (lists for anchors it lacks), or bare."""
    lists = st.lists(managed_lists(), max_size=5, unique_by=lambda r: r.kind).map(tuple)
    maybe_time = st.none() | timestamps()
    return st.builds(
        UserState,
        user_id=st.just(user_id) if user_id is not None else user_ids(),
        taste=taste_profiles(),
        last_watched_movie=st.none() | anchors(MediaType.MOVIE),
        last_watched_show=st.none() | anchors(MediaType.TV),
        highest_rated_movie=st.none() | anchors(MediaType.MOVIE),
        highest_rated_show=st.none() | anchors(MediaType.TV),
        movies_watched=st.integers(0, 10**5),
        shows_watched=st.integers(0, 10**5),
        preferences=preferences(),
        lists=lists,
        history_cursor=maybe_time,
        activity=st.none() | activity_stamps(),
        activity_moved_at=maybe_time,
        cadence=st.sampled_from(CadenceTier),
        next_sync_at=maybe_time,
        last_sync_at=maybe_time,
        picks_computed_at=maybe_time,
    )


def feeds() -> st.SearchStrategy[Feed]:
    """ChillLink feeds with either kind of source."""
    sources = st.builds(TraktListSource, st.integers(1, 2**53)) | st.builds(
        TmdbQuerySource, _text.map(lambda s: "/" + s), _text
    )
    attempts = st.lists(st.builds(Attempt, _text, st.sampled_from(Outcome), _text), max_size=3)
    return st.builds(
        Feed,
        id=_text,
        title=_text,
        source=sources,
        content_type=st.sampled_from(ContentType),
        provenance=attempts.map(tuple),
    )


def feeds_responses() -> st.SearchStrategy[FeedsResponse]:
    """Whole ``/feeds`` bodies."""
    return st.builds(FeedsResponse, st.lists(feeds(), max_size=12))


_ERRORS: tuple[type[SourceError], ...] = (
    SourceError,
    SourceUnavailable,
    SourceTimeout,
    AuthenticationError,
    AccountLimitExceeded,
    DecodeError,
)


def source_errors() -> st.SearchStrategy[SourceError]:
    """Any ``SourceError`` a port may raise, from any service."""
    plain = st.builds(
        lambda cls, msg, service, operation: cls(msg, service=service, operation=operation),
        st.sampled_from(_ERRORS),
        _text,
        st.sampled_from(["sqlite", "memory", "tmdb", "trakt", "recombee"]),
        _text,
    )
    limited = st.builds(
        lambda msg, after: RateLimited(msg, service="trakt", operation="get", retry_after=after),
        _text,
        st.none() | st.floats(0, 600),
    )
    return plain | limited
