"""Pick planning: from what the sources answered to the list each managed row should hold.

Pure: user sync's shell reads the recommender, the vector index and the store, then calls
`plan_picks`; everything it decides is here, property-tested in
``tests/unit/sync/test_picks.py``. The rules, in the order they apply:

* **Usable first.** A candidate counts only after the filters: the right media type, not
  watched or rated (``seen``), not in a genre the user excluded. The cold-start rule counts
  usable picks, never the raw answer.
* **Recommended**: the recommender's usable picks; fewer than ``min_recommender_results`` is
  a cold start, and vector neighbours of the user's highest-rated title fill the rest. Cold
  start needs no recommender: when the recommender failed, the neighbours alone make the
  list (marked incomplete, so it never replaces a longer list).
* **Because You Watched**: recommender item-to-item and vector neighbours of the anchor,
  interleaved by weight (`blend`), never the anchor itself; incomplete when item-to-item
  failed.
* **Short is incomplete.** A computation with fewer than ``min_items`` picks (the feeds'
  threshold for serving a list) may grow a list but never shrink one, so one short answer
  never throws away a good list, and a new list still gets what there is.
* **Continue Watching**: titles paused below ``finished_progress``, newest first.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import attrs

from reclio.domain import ItemRef, ManagedListKind, MediaType, PlaybackProgress, Preferences
from reclio.sync._plan import blend, select_picks

__all__ = ["DesiredList", "PickRules", "PickSources", "plan_picks"]


@attrs.frozen
class PickRules:
    """The tunables pick planning reads (a view of ``UserSyncConfig``).

    Attributes:
        recommended_count: Picks per Recommended list.
        because_watched_count: Picks per Because You Watched list.
        blend_weight: Share of item-to-item picks in Because You Watched.
        min_recommender_results: Fewer usable recommender picks is a cold start.
        min_items: Fewer picks than this is a short computation (see the module rules).
        continue_watching_count: Titles in Continue Watching.
        finished_progress: Playback at or above this percent is finished.
    """

    recommended_count: int = 50
    because_watched_count: int = 50
    blend_weight: float = 0.6
    min_recommender_results: int = 5
    min_items: int = 5
    continue_watching_count: int = 50
    finished_progress: float = 95.0


@attrs.frozen
class PickSources:
    """What the shell read for one user's picks.

    ``None`` for a recommender answer means the call failed; a media type missing from
    ``recommended`` or ``similar`` was not asked (no anchor, for instance).

    Attributes:
        recommended: The recommender's picks per media type, best first.
        similar: Item-to-item picks for the anchor of each media type.
        anchors: The Because You Watched anchor per media type.
        seed_neighbours: Vector neighbours of the highest-rated title per media type.
        anchor_neighbours: Vector neighbours of each anchor.
        playback: Titles paused part-way, or ``None`` when not read.
        genres: Genre ids of candidates the catalog knows (unknown titles pass the filter).
    """

    recommended: Mapping[MediaType, Sequence[ItemRef] | None] = attrs.Factory(dict)
    similar: Mapping[MediaType, Sequence[ItemRef] | None] = attrs.Factory(dict)
    anchors: Mapping[MediaType, ItemRef] = attrs.Factory(dict)
    seed_neighbours: Mapping[MediaType, Sequence[ItemRef]] = attrs.Factory(dict)
    anchor_neighbours: Mapping[MediaType, Sequence[ItemRef]] = attrs.Factory(dict)
    playback: Sequence[PlaybackProgress] | None = None
    genres: Mapping[ItemRef, Collection[int]] = attrs.Factory(dict)

    def candidates(self) -> frozenset[ItemRef]:
        """Every candidate any source named (for the genre look-up)."""
        groups: list[Sequence[ItemRef] | None] = [
            *self.recommended.values(),
            *self.similar.values(),
            *self.seed_neighbours.values(),
            *self.anchor_neighbours.values(),
        ]
        return frozenset(ref for group in groups if group for ref in group)


@attrs.frozen
class DesiredList:
    """A computed list: its picks, whether it may shrink the list, and its anchor.

    Attributes:
        refs: The picks, best first.
        complete: Every source answered and the picks are not short: writing may shrink
            the list. Otherwise a write may only grow it.
        anchor: For Because You Watched, the title the picks are like.
    """

    refs: tuple[ItemRef, ...]
    complete: bool = True
    anchor: ItemRef | None = None


def plan_picks(
    sources: PickSources,
    *,
    seen: Collection[ItemRef],
    preferences: Preferences,
    rules: PickRules,
) -> dict[ManagedListKind, DesiredList]:
    """The list each managed row should hold (the module docstring has the rules).

    Args:
        sources: What the recommender, the index and the interaction source answered.
        seen: Titles the user watched or rated: never picked.
        preferences: The user's preferences (excluded genres).
        rules: The tunables.

    Returns:
        One desired list per row that has something to say; a row left out is left alone.
    """
    desired: dict[ManagedListKind, DesiredList] = {}
    for media in MediaType:

        def usable(refs: Sequence[ItemRef] | None, media: MediaType = media) -> list[ItemRef]:
            return list(
                select_picks(
                    refs or (),
                    limit=len(refs or ()),
                    media_type=media,
                    exclude=seen,
                    excluded_genres=preferences.excluded_genres(media),
                    genres=sources.genres,
                )
            )

        if media in sources.recommended:
            answer = sources.recommended[media]
            own = usable(answer)
            complete = answer is not None
            if len(own) < rules.min_recommender_results:
                own += usable(sources.seed_neighbours.get(media))
            refs = tuple(dict.fromkeys(own))[: rules.recommended_count]
            desired[ManagedListKind.recommended(media)] = DesiredList(
                refs, complete=complete and len(refs) >= rules.min_items
            )

        anchor = sources.anchors.get(media)
        if anchor is not None and media in sources.similar:
            similar = sources.similar[media]
            picks = blend(
                usable(similar),
                usable(sources.anchor_neighbours.get(media)),
                size=rules.because_watched_count,
                weight=rules.blend_weight,
                exclude={anchor},
            ).items
            desired[ManagedListKind.because_watched(media)] = DesiredList(
                picks,
                complete=similar is not None and len(picks) >= rules.min_items,
                anchor=anchor,
            )

    if sources.playback is not None:
        paused = sorted(sources.playback, key=lambda p: (p.paused_at, p.ref), reverse=True)
        desired[ManagedListKind.CONTINUE_WATCHING] = DesiredList(
            select_picks(
                (p.ref for p in paused if p.progress < rules.finished_progress),
                limit=rules.continue_watching_count,
            )
        )
    return desired
