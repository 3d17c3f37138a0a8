"""The leave-last-out split: test is each user's newest item, validation the one before."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

    from reclio.evaluation._datasets import RatingsDataset

__all__ = ["MIN_INTERACTIONS", "LeaveLastOut", "leave_last_out"]

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
