"""Planning Trakt list writes: the calls that turn what a list holds into the target, safely.

Trakt offers three list writes, each one call (one second of the user's write budget):
add (appended at the end, movies before shows), remove, and reorder (a permutation of
list-item ids, which only a read of the list gives, so items added in the same sync have
none yet). `plan_writes` chooses at most three calls that reach the target exactly, and
keeps two promises on the way, checked by property tests with `simulate`:

* the list is never empty between two calls (unless the target is);
* every state between two calls holds only titles of the list or of the target, and
  never more than the larger of the two plus the few titles added first.

The plan, with ``D`` the target and ``C`` the list now:

* **A prefix of D is already on the list** (``D[:k]`` for the largest ``k``; with entry ids
  in any order, without them in ``D``'s order): reorder so it comes first (when needed and
  possible), remove everything else, add ``D[k:]``. Remove goes before add, so an item that
  must move is taken off and appended again in place, and the list never outgrows the
  larger of ``C`` and ``D`` (no 420 for a full list).
* **The top pick is new**: add the leading run of new titles, remove everything of ``C``,
  add the rest: the list shrinks to the new head for one call, never to nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from reclio.domain import ItemRef, ListEntry, MediaType

__all__ = ["Add", "Remove", "Reorder", "Write", "plan_writes", "simulate"]


@attrs.frozen
class Add:
    """``POST .../items``: append these titles (Trakt ranks movies before shows)."""

    refs: tuple[ItemRef, ...]


@attrs.frozen
class Remove:
    """``POST .../items/remove``: take these titles off."""

    refs: tuple[ItemRef, ...]


@attrs.frozen
class Reorder:
    """``POST .../items/reorder``: every entry of the list, by id, in the new order."""

    entry_ids: tuple[int, ...]
    refs: tuple[ItemRef, ...]
    """The titles of ``entry_ids``, in the same order (what the list holds afterwards)."""


Write = Add | Remove | Reorder


def _unique(refs: Sequence[ItemRef]) -> list[ItemRef]:
    return list(dict.fromkeys(refs))


def plan_writes(
    entries: Sequence[ListEntry], target: Sequence[ItemRef], *, can_reorder: bool = True
) -> list[Write]:
    """The calls that turn a list holding ``entries`` into ``target`` (module docstring).

    Args:
        entries: What the list holds, in order, with entry ids where the read gave them.
        target: What it should hold, in order; duplicates after the first are ignored.
        can_reorder: False when the list holds entries reclio cannot name (a reorder must
            name every entry); entries without an id also rule a reorder out.

    Returns:
        At most three writes; none when the list already is the target.
    """
    held = _unique([entry.ref for entry in entries])
    wanted = _unique(target)
    if held == wanted:
        return []
    if not wanted:
        return [Remove(tuple(held))]
    if not held:
        return [Add(tuple(wanted))]
    ids = {entry.ref: entry.entry_id for entry in entries}
    reorder = can_reorder and all(ids[ref] is not None for ref in held)
    kept = _kept_prefix(held, wanted, reorder=reorder)
    if kept:
        return _keep_head(held, wanted, kept, ids)
    # The top pick is new: grow by the new head first, so the list is never empty.
    position = set(held)
    fresh = 0
    while fresh < len(wanted) and wanted[fresh] not in position:
        fresh += 1
    writes: list[Write] = [Add(tuple(wanted[:fresh])), Remove(tuple(held))]
    if wanted[fresh:]:
        writes.append(Add(tuple(wanted[fresh:])))
    return writes


def _kept_prefix(held: list[ItemRef], wanted: list[ItemRef], *, reorder: bool) -> int:
    """How many leading titles of ``wanted`` can stay (in any order when reordering)."""
    position = {ref: n for n, ref in enumerate(held)}
    kept, last = 0, -1
    for ref in wanted:
        if ref not in position or (not reorder and position[ref] < last):
            break
        last = position[ref]
        kept += 1
    return kept


def _keep_head(
    held: list[ItemRef], wanted: list[ItemRef], kept: int, ids: dict[ItemRef, int | None]
) -> list[Write]:
    """Reorder so ``wanted[:kept]`` leads (if needed), remove the rest, add the tail."""
    head = wanted[:kept]
    head_set = set(head)
    rest = [ref for ref in held if ref not in head_set]
    writes: list[Write] = []
    if [ref for ref in held if ref in head_set] != head:
        order = head + rest
        writes.append(Reorder(tuple(ids[ref] or 0 for ref in order), tuple(order)))
    if rest:
        writes.append(Remove(tuple(rest)))
    if wanted[kept:]:
        writes.append(Add(tuple(wanted[kept:])))
    return writes


def simulate(current: Sequence[ItemRef], write: Write) -> tuple[ItemRef, ...]:
    """What a list holds after one write, as Trakt applies it (the planner's model).

    An add appends the titles not already there, movies first, then shows, each in the
    order given; a remove drops its titles; a reorder arranges the named titles in its
    order (it names every entry).
    """
    if isinstance(write, Remove):
        gone = set(write.refs)
        return tuple(ref for ref in current if ref not in gone)
    if isinstance(write, Reorder):
        return write.refs
    present = set(current)
    new = [ref for ref in _unique(write.refs) if ref not in present]
    movies = [ref for ref in new if ref.media_type is MediaType.MOVIE]
    shows = [ref for ref in new if ref.media_type is MediaType.TV]
    return (*current, *movies, *shows)
