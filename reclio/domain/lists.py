"""Managed lists: the Trakt lists reclio writes picks into and feeds point at."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime

import attrs

from reclio.domain._converters import valid_text
from reclio.domain._validators import optional_aware, positive_list_id
from reclio.domain.ids import ItemRef, MediaType

__all__ = [
    "AccountLimits",
    "ListAccount",
    "ListDiff",
    "ListEntry",
    "ListHandle",
    "ListSnapshot",
    "ManagedList",
    "ManagedListKind",
]


class ManagedListKind(enum.Enum):
    """The lists reclio manages per user; the value is the list's name on Trakt."""

    RECOMMENDED_MOVIES = "Reclio • Recommended Movies"
    RECOMMENDED_SHOWS = "Reclio • Recommended Shows"
    BECAUSE_WATCHED_MOVIES = "Reclio • Because You Watched (Movies)"
    BECAUSE_WATCHED_SHOWS = "Reclio • Because You Watched (Shows)"
    CONTINUE_WATCHING = "Reclio • Continue Watching"

    @property
    def list_name(self) -> str:
        """The name the list carries on the sink (adopted by name, created if missing)."""
        return self.value

    @classmethod
    def recommended(cls, media_type: MediaType) -> ManagedListKind:
        """The Recommended list for a media type."""
        if media_type is MediaType.MOVIE:
            return cls.RECOMMENDED_MOVIES
        return cls.RECOMMENDED_SHOWS

    @classmethod
    def because_watched(cls, media_type: MediaType) -> ManagedListKind:
        """The Because You Watched list for a media type."""
        if media_type is MediaType.MOVIE:
            return cls.BECAUSE_WATCHED_MOVIES
        return cls.BECAUSE_WATCHED_SHOWS


@attrs.frozen
class ListHandle:
    """A list on the sink, as the sink reports it.

    Attributes:
        list_id: The sink's id (Trakt's numeric list id, 1 or more); ChillLink points at it.
        name: The list's name.
        item_count: How many items it holds now.
        updated_at: The sink's own stamp of the list's last change (Trakt's
            ``updated_at``), when the sink keeps one. A sink whose reads lag its writes
            (Trakt) is read against it: a read older than reclio's last write is not used.
    """

    list_id: int = attrs.field(validator=positive_list_id)
    name: str = attrs.field(converter=valid_text)
    item_count: int = 0
    updated_at: datetime | None = attrs.field(default=None, validator=optional_aware)


@attrs.frozen
class ListEntry:
    """One item on a list, with the sink's id of the entry (what a reorder names).

    Attributes:
        ref: The title.
        entry_id: The sink's id of this entry (Trakt's list-item ``id``), when it gave one.
    """

    ref: ItemRef
    entry_id: int | None = None


def _entries(values: Sequence[ListEntry]) -> tuple[ListEntry, ...]:
    return tuple(values)


@attrs.frozen
class ListSnapshot:
    """What one read of a list found: its entries, in order.

    Attributes:
        list_id: The list read.
        entries: The titles on it, in the list's order, each with its entry id.
        foreign: Entries that are no title reclio can name (a person, an episode, a title
            without a TMDB id); they stay on the list, and no reorder is sent around them.
    """

    list_id: int = attrs.field(validator=positive_list_id)
    entries: tuple[ListEntry, ...] = attrs.field(default=(), converter=_entries)
    foreign: int = attrs.field(default=0, validator=attrs.validators.ge(0))

    @classmethod
    def empty(cls, list_id: int) -> ListSnapshot:
        """The snapshot of a list just created (no read needed: it holds nothing)."""
        return cls(list_id)

    @property
    def refs(self) -> tuple[ItemRef, ...]:
        """The titles, in order."""
        return tuple(entry.ref for entry in self.entries)

    @property
    def item_count(self) -> int:
        """Every entry on the list, foreign ones included."""
        return len(self.entries) + self.foreign


@attrs.frozen
class ListDiff:
    """What to change on a list so it holds the desired items in the desired order.

    Attributes:
        add: Items to add, in desired order.
        remove: Items to remove.
        order: The full desired order, when the surviving items must be reordered;
            ``None`` when the order already matches.
    """

    add: tuple[ItemRef, ...] = ()
    remove: tuple[ItemRef, ...] = ()
    order: tuple[ItemRef, ...] | None = None

    @property
    def is_empty(self) -> bool:
        """True when applying the diff would change nothing."""
        return not self.add and not self.remove and self.order is None

    def apply(self, current: Sequence[ItemRef]) -> tuple[ItemRef, ...]:
        """What a list holds after a sink applies this diff: the reference semantics.

        Removals go first, additions are appended in their order (an item already present is
        not added twice), then, when `order` is set, the items are arranged in that order
        (anything it does not name keeps its relative place at the end).

        Args:
            current: The list now, in order.

        Returns:
            The list afterwards, without duplicates.
        """
        removed = set(self.remove)
        result = list(dict.fromkeys(ref for ref in current if ref not in removed))
        present = set(result)
        result.extend(ref for ref in dict.fromkeys(self.add) if ref not in present)
        if self.order is not None:
            position = {ref: i for i, ref in enumerate(dict.fromkeys(self.order))}
            result.sort(key=lambda ref: position.get(ref, len(position)))
        return tuple(result)


@attrs.frozen
class AccountLimits:
    """What the sink allows this account (Trakt reads them from ``/users/settings``).

    Attributes:
        max_lists: Personal lists the account may hold.
        max_items_per_list: Items one list may hold.
    """

    max_lists: int
    max_items_per_list: int


def _handles(values: Sequence[ListHandle]) -> tuple[ListHandle, ...]:
    return tuple(values)


@attrs.frozen
class ListAccount:
    """One read of an account: its limits and every list it holds (reclio's and the user's).

    User sync reads it once per sync and decides from it which managed lists the account
    has room for, and which it adopts.

    Attributes:
        limits: What the account allows.
        lists: Every list the account holds now, managed or not, in the sink's order.
    """

    limits: AccountLimits
    lists: tuple[ListHandle, ...] = attrs.field(default=(), converter=_handles)

    def find(self, name: str) -> ListHandle | None:
        """The first list called ``name`` (the one `ListSink.ensure_list` adopts), if any."""
        return next((handle for handle in self.lists if handle.name == name), None)


@attrs.frozen
class ManagedList:
    """reclio's record of one materialized list: what it holds and whether the last write worked.

    Attributes:
        kind: Which managed list.
        list_id: The sink's list id (1 or more).
        item_count: Items the list held after the last write.
        synced_ok: Whether the last sync that wrote it succeeded.
        synced_at: When that sync finished.
        anchor: For Because You Watched lists, the title the picks are similar to.
        updated_at: The sink's stamp of the list after reclio's last write to it, as the
            write's answer said (`ListHandle.updated_at`); ``None`` when the sink keeps none.
    """

    kind: ManagedListKind
    list_id: int = attrs.field(validator=positive_list_id)
    item_count: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    synced_ok: bool = False
    synced_at: datetime | None = attrs.field(default=None, validator=optional_aware)
    anchor: ItemRef | None = None
    updated_at: datetime | None = attrs.field(default=None, validator=optional_aware)
