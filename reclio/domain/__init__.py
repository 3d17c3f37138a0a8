"""reclio's domain: frozen values that cross every port. Imports nothing else of reclio."""

from reclio.domain._converters import valid_text
from reclio.domain.credentials import OAuthToken
from reclio.domain.feeds import (
    Attempt,
    ContentType,
    Feed,
    FeedSource,
    FeedsResponse,
    Outcome,
    TmdbQuerySource,
    TraktListSource,
)
from reclio.domain.genres import MOVIE_GENRES, TV_GENRES, genre_name, genre_table
from reclio.domain.history import Rating, UserHistory
from reclio.domain.ids import ItemRef, MediaType
from reclio.domain.interactions import (
    ActivityCategory,
    ActivityStamp,
    Interaction,
    InteractionKind,
    PlaybackProgress,
    normalize_rating,
)
from reclio.domain.lists import (
    AccountLimits,
    ListAccount,
    ListDiff,
    ListEntry,
    ListHandle,
    ListSnapshot,
    ManagedList,
    ManagedListKind,
)
from reclio.domain.reports import Progress, ProgressCallback, SyncReport
from reclio.domain.results import WriteResult
from reclio.domain.titles import CatalogRecord, Genre, Title, title_text
from reclio.domain.users import (
    Anchor,
    CadenceTier,
    GenreScore,
    Preferences,
    TasteProfile,
    UserState,
)
from reclio.domain.vectors import Vector

__all__ = [
    "MOVIE_GENRES",
    "TV_GENRES",
    "AccountLimits",
    "ActivityCategory",
    "ActivityStamp",
    "Anchor",
    "Attempt",
    "CadenceTier",
    "CatalogRecord",
    "ContentType",
    "Feed",
    "FeedSource",
    "FeedsResponse",
    "Genre",
    "GenreScore",
    "Interaction",
    "InteractionKind",
    "ItemRef",
    "ListAccount",
    "ListDiff",
    "ListEntry",
    "ListHandle",
    "ListSnapshot",
    "ManagedList",
    "ManagedListKind",
    "MediaType",
    "OAuthToken",
    "Outcome",
    "PlaybackProgress",
    "Preferences",
    "Progress",
    "ProgressCallback",
    "Rating",
    "SyncReport",
    "TasteProfile",
    "Title",
    "TmdbQuerySource",
    "TraktListSource",
    "UserHistory",
    "UserState",
    "Vector",
    "WriteResult",
    "genre_name",
    "genre_table",
    "normalize_rating",
    "title_text",
    "valid_text",
]
