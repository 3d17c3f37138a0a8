"""A user's compact activity ledger: what user sync derives taste, anchors and exclusions from.

Incremental fetches only bring new views, but the taste profile, the watched-title exclusions
and the distinct counts need the whole history. Rather than re-reading a long Trakt history
on every sync, user sync keeps one small document per user: the newest view time of each
title watched and the user's current ratings. It is merged, never rebuilt, so merging the
same fetch twice changes nothing (a crashed sync can simply run again).

The document lives in the state store as the named cursor ``ledger:<user id>`` (the
``StateStore`` port's key-value cursors), so it is shared by every worker like the rest of
the user's state, and stays out of :class:`~reclio.domain.UserState`, which feeds read on
every request.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Final

import attrs

from reclio.domain import Interaction, InteractionKind, ItemRef, MediaType
from reclio.errors import DecodeError
from reclio.sync._plan import Rating

_VERSION: Final = 1


def ledger_key(user_id: str) -> str:
    """The state-store cursor name of a user's ledger."""
    return f"ledger:{user_id}"


def _frozen_views(value: Mapping[ItemRef, datetime]) -> Mapping[ItemRef, datetime]:
    return MappingProxyType(dict(value))


def _frozen_ratings(value: Mapping[ItemRef, Rating]) -> Mapping[ItemRef, Rating]:
    return MappingProxyType(dict(value))


@attrs.frozen
class Ledger:
    """Newest view per watched title and the current rating per rated title.

    Attributes:
        views: When each watched title was last watched.
        ratings: The user's current rating of each rated title.
    """

    views: Mapping[ItemRef, datetime] = attrs.field(factory=dict, converter=_frozen_views)
    ratings: Mapping[ItemRef, Rating] = attrs.field(factory=dict, converter=_frozen_ratings)

    def with_views(self, views: Iterable[Interaction]) -> Ledger:
        """A copy that also knows these views (a title keeps its newest view time)."""
        merged = dict(self.views)
        for view in views:
            if view.kind is InteractionKind.VIEW:
                known = merged.get(view.ref)
                if known is None or view.at > known:
                    merged[view.ref] = view.at
        return Ledger(merged, self.ratings)

    def with_ratings(self, ratings: Iterable[Interaction]) -> Ledger:
        """A copy whose ratings are exactly these (the source lists every current rating)."""
        current = {
            rating.ref: Rating(rating.value, rating.at)
            for rating in ratings
            if rating.kind is InteractionKind.RATING and rating.value is not None
        }
        return Ledger(self.views, current)

    @property
    def seen(self) -> frozenset[ItemRef]:
        """Every title the user watched or rated: never recommended back to them."""
        return frozenset(self.views) | frozenset(self.ratings)

    def watched(self, media_type: MediaType) -> int:
        """Distinct titles of one media type in the history."""
        return sum(1 for ref in self.views if ref.media_type is media_type)

    def dumps(self) -> str:
        """The stored form: compact JSON, keys sorted so equal ledgers are equal strings."""
        document = {
            "v": _VERSION,
            "views": {ref.item_id: at.isoformat() for ref, at in sorted(self.views.items())},
            "ratings": {
                ref.item_id: [rating.value, rating.at.isoformat()]
                for ref, rating in sorted(self.ratings.items())
            },
        }
        return json.dumps(document, separators=(",", ":"), sort_keys=True)

    @classmethod
    def loads(cls, text: str | None) -> Ledger:
        """Read a stored ledger; ``None`` (never stored) is an empty ledger.

        Raises:
            DecodeError: the stored text is not a ledger.
        """
        if text is None:
            return cls()
        try:
            document = json.loads(text)
            views = {
                ItemRef.parse(key): datetime.fromisoformat(value)
                for key, value in document["views"].items()
            }
            ratings = {
                ItemRef.parse(key): Rating(float(value), datetime.fromisoformat(at))
                for key, (value, at) in document["ratings"].items()
            }
        except (ValueError, KeyError, TypeError) as exc:
            msg = f"a stored ledger does not decode: {exc}"
            raise DecodeError(msg, service="state", operation="get_cursor") from exc
        return cls(views, ratings)
