"""The app keeps the collector's full passes short: long-lived objects are frozen, then freed."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable

import pytest
from starlette.applications import Starlette

from examples.chilllink_app.heap import HeapFreezer
from reclio.config import AppConfig

pytestmark = pytest.mark.anyio


def _collectable(obj: object) -> bool:
    """Whether the collector's passes still walk ``obj`` (it is not frozen)."""
    return any(o is obj for o in gc.get_objects())


async def test_the_app_freezes_its_objects_while_it_runs(
    settings: AppConfig, make_app: Callable[..., Starlette]
) -> None:
    """At startup and then every interval, what lives is frozen (a full pass skips it);
    at shutdown everything goes back to the collector."""
    app = make_app(settings, freeze_interval=0.01)
    marker: list[object] = [object()]
    async with app.router.lifespan_context(app):
        assert gc.get_freeze_count() > 0
        assert not _collectable(marker)  # frozen at startup
        made_later: list[object] = [object()]
        frozen = gc.get_freeze_count()
        for _ in range(500):  # bounded: a few ticks of the freezer
            if gc.get_freeze_count() > frozen:
                break
            await asyncio.sleep(0.01)
        assert not _collectable(made_later)  # frozen by the periodic freeze
    assert gc.get_freeze_count() == 0
    assert _collectable(marker)
    assert _collectable(made_later)


async def test_no_interval_leaves_the_collector_alone(
    settings: AppConfig, make_app: Callable[..., Starlette]
) -> None:
    app = make_app(settings, freeze_interval=None)
    async with app.router.lifespan_context(app):
        assert gc.get_freeze_count() == 0


def test_the_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        HeapFreezer(0)
    with pytest.raises(ValueError, match="positive"):
        HeapFreezer(1.0, reclaim_interval=0)


class _Cycle:
    """Half of a reference cycle: only the full collector frees it."""

    def __init__(self) -> None:
        self.other: _Cycle | None = None


async def test_a_cycle_that_dies_frozen_is_reclaimed() -> None:
    """A cycle frozen while alive, then dropped, is freed by the next reclaim, not leaked."""
    import weakref  # noqa: PLC0415

    freezer = HeapFreezer(0.01, reclaim_interval=0.05)
    first, second = _Cycle(), _Cycle()
    first.other, second.other = second, first
    alive = weakref.ref(first)
    freezer.start()  # the cycle is frozen while alive
    try:
        del first, second
        gc.collect()
        assert alive() is not None  # frozen: a full pass does not see it
        for _ in range(500):  # bounded: a few reclaim intervals
            if freezer.reclaims:
                break
            await asyncio.sleep(0.01)
        assert freezer.reclaims >= 1
        assert alive() is None
    finally:
        await freezer.aclose()
    assert gc.get_freeze_count() == 0
