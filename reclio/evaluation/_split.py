"""The leave-last-out split: test is each user's newest item, validation the one before."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import numpy as np

from reclio.domain import ItemRef

if TYPE_CHECKING:
    import numpy.typing as npt

    from reclio.evaluation._datasets import RatingsDataset

__all__ = [
    "MIN_INTERACTIONS",
    "LeaveLastOut",
    "leave_last_out",
    "tie_neutral_view",
    "tied_test_users",
]

MIN_INTERACTIONS = 3
"""Users with fewer interactions are dropped: they cannot give a train, validation and test."""


@attrs.frozen(eq=False)
class LeaveLastOut:
    """One split of a data set, as row positions into its arrays.

    Attributes:
        train: Rows for training (every kept user's rows but the last two).
        validation: The row of each kept user's second newest interaction, by ``users``.
        test: The row of each kept user's newest interaction, by ``users``.
        users: User indices kept (at least :data:`MIN_INTERACTIONS` interactions), ascending.
    """

    train: npt.NDArray[np.int64]
    validation: npt.NDArray[np.int64]
    test: npt.NDArray[np.int64]
    users: npt.NDArray[np.int64]

    def fit_rows(self, *, final: bool) -> npt.NDArray[np.int64]:
        """Rows a model is fit on: training alone (tuning), or training + validation (final)."""
        if not final:
            return self.train
        return np.sort(np.concatenate([self.train, self.validation]))

    def held_out(self, *, final: bool) -> npt.NDArray[np.int64]:
        """The held-out row per kept user: validation (tuning) or test (final)."""
        return self.test if final else self.validation


def leave_last_out(data: RatingsDataset) -> LeaveLastOut:
    """Split ``data`` with the protocol's rule.

    Per user, interactions are ordered by timestamp, ties broken by the larger item id (the
    data set's own id, not the row order); the last is the test item, the one before it
    the validation item. Users with fewer than :data:`MIN_INTERACTIONS` are dropped.
    """
    item_ids = np.asarray(data.item_ids, dtype=np.int64)[data.items]
    # lexsort sorts by the last key first: user, then timestamp, then item id.
    order = np.lexsort((item_ids, data.timestamps, data.users))
    users_sorted = data.users[order]
    boundaries = np.flatnonzero(np.diff(users_sorted)) + 1
    starts = np.concatenate([[0], boundaries]).astype(np.int64)
    ends = np.concatenate([boundaries, [len(order)]]).astype(np.int64)
    keep = (ends - starts) >= MIN_INTERACTIONS
    starts, ends = starts[keep], ends[keep]
    test = order[ends - 1]
    validation = order[ends - 2]
    in_train = np.zeros(len(order), dtype=bool)
    for start, end in zip(starts, ends, strict=True):
        in_train[start : end - 2] = True
    train = np.sort(order[in_train])
    return LeaveLastOut(
        train=train.astype(np.int64),
        validation=validation.astype(np.int64),
        test=test.astype(np.int64),
        users=users_sorted[starts].astype(np.int64),
    )


def tied_test_users(data: RatingsDataset, split: LeaveLastOut) -> npt.NDArray[np.bool_]:
    """Per kept user (as ``split.users``): whether their test item shares its timestamp.

    For these users the split rule's tie-break (the larger item id) chose the test item
    among interactions of equal time: the users the tie artifact is about.
    """
    key = data.users.astype(np.int64) * (int(data.timestamps.max(initial=0)) + 1) + (
        data.timestamps.astype(np.int64)
    )
    _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    return np.asarray(counts[inverse[split.test]] > 1, dtype=np.bool_)


def tie_neutral_view(
    data: RatingsDataset, split: LeaveLastOut, *, seed: int
) -> tuple[RatingsDataset, LeaveLastOut]:
    """The same ratings and split, with nothing left that orders equal timestamps.

    Items are renumbered at random (a fixed ``seed``): index, id and ref of every item are
    its new number, and rows are re-sorted by (user, new number). A model that breaks
    timestamp ties by id or by row order now breaks them at random, while the held-out
    items stay exactly the ones the protocol chose (by the original ids).

    Returns:
        The renumbered data set and the split as rows of it.
    """
    n_items = data.n_items
    new_of_old = np.random.default_rng(seed).permutation(n_items).astype(np.int64)
    old_of_new = np.argsort(new_of_old)
    items = new_of_old[data.items]
    rows = np.lexsort((items, data.users))
    position = np.empty_like(rows)
    position[rows] = np.arange(rows.shape[0])
    view = type(data)(
        name=data.name,
        user_ids=data.user_ids,
        item_ids=tuple(range(1, n_items + 1)),
        refs=tuple(ItemRef.movie(number) for number in range(1, n_items + 1)),
        titles=tuple(data.titles[int(old)] for old in old_of_new),
        users=data.users[rows],
        items=items[rows],
        stars=data.stars[rows],
        timestamps=data.timestamps[rows],
    )
    moved = LeaveLastOut(
        train=np.sort(position[split.train]).astype(np.int64),
        validation=position[split.validation].astype(np.int64),
        test=position[split.test].astype(np.int64),
        users=split.users,
    )
    return view, moved
