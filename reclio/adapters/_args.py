"""Argument checks every state store shares, so they refuse bad options the same way."""

from __future__ import annotations

__all__ = ["check_batch_size", "check_limit"]


def check_batch_size(batch_size: int) -> None:
    """Refuse a batch size below 1.

    Raises:
        ValueError: ``batch_size`` is below 1.
    """
    if batch_size < 1:
        msg = f"batch_size must be at least 1, got {batch_size}"
        raise ValueError(msg)


def check_limit(limit: int) -> None:
    """Refuse a negative limit (0 asks for nothing).

    Raises:
        ValueError: ``limit`` is negative.
    """
    if limit < 0:
        msg = f"limit must not be negative, got {limit}"
        raise ValueError(msg)
