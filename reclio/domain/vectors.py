"""The one vector type: a float32 NumPy array, shared by embedders, indexes and stores.

``Vector`` names a 1-D array (one title) or a 2-D array (a row per text). It is a type alias
that resolves at run time (``typing.get_type_hints`` works on every port) without importing
NumPy, so ``import reclio`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from typing_extensions import TypeAliasType

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["Vector"]

Vector = TypeAliasType("Vector", "npt.NDArray[np.float32]")
"""A float32 ndarray: one unit-length row per text or title."""
