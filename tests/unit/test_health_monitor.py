"""HealthMonitor: pings what can ping, logs one line per change of health, nothing else."""

from __future__ import annotations

import asyncio
import logging

import pytest

from reclio.adapters.local import LocalRecommender
from reclio.adapters.memory import InMemoryCatalogSource, InMemoryStateStore
from reclio.diagnostics import HealthMonitor, HealthStatus
from reclio.errors import SourceUnavailable
from reclio.testing.faults import FaultPlan, FlakyStateStore

DOWN = SourceUnavailable("disk gone", service="memory", operation="ping")


class Hanging:
    """An adapter whose ping never answers."""

    async def ping(self) -> None:
        await asyncio.sleep(3600)


class Buggy:
    """An adapter whose ping has a bug (not a SourceError)."""

    async def ping(self) -> None:
        msg = "a bug"
        raise ZeroDivisionError(msg)


def lines(caplog, level=logging.INFO):
    return [
        (r.levelname, r.getMessage())
        for r in caplog.records
        if r.name == "reclio.diagnostics" and r.levelno >= level
    ]


def flaky_store() -> FlakyStateStore:
    """A store whose ping fails on plan (``store.plan``)."""
    return FlakyStateStore(InMemoryStateStore(), FaultPlan())


@pytest.fixture
def store() -> FlakyStateStore:
    return flaky_store()


@pytest.fixture
def monitor(store) -> HealthMonitor:
    adapters = {
        "state": store,
        "recommender": LocalRecommender(),
        "catalog": InMemoryCatalogSource(),
    }
    return HealthMonitor(adapters, interval=60, timeout=1)


def test_only_adapters_that_can_ping_are_probed(monitor):
    """The catalog has no ping, so it is left out."""
    assert monitor.names == ["state", "recommender"]
    assert monitor.last is None


@pytest.mark.anyio
async def test_a_healthy_round_logs_nothing(monitor, caplog):
    """All well: status ok, no line at INFO or above."""
    caplog.set_level(logging.DEBUG)
    report = await monitor.check_once()
    assert report.status is HealthStatus.OK
    assert report.ok
    assert monitor.last is report
    assert lines(caplog) == []


@pytest.mark.anyio
async def test_one_warning_on_degrading_one_info_on_recovery_nothing_between(
    monitor, store, caplog
):
    """Degrade: one WARNING naming the adapter; unchanged rounds: silence; recovery: one INFO."""
    caplog.set_level(logging.DEBUG)
    await monitor.check_once()
    store.plan.fail("store.ping", DOWN, times=None)
    degraded = await monitor.check_once()
    await monitor.check_once()
    await monitor.check_once()
    store.plan.clear()
    recovered = await monitor.check_once()
    await monitor.check_once()
    assert degraded.status is HealthStatus.DEGRADED
    assert degraded.failing == ("state",)
    assert recovered.ok
    logged = lines(caplog)
    assert [level for level, _ in logged] == ["WARNING", "INFO"]
    assert "health degraded: state failing" in logged[0][1]
    assert "disk gone" in logged[0][1]
    assert logged[1][1] == "health ok: state recovered"


@pytest.mark.anyio
async def test_a_second_failure_is_a_new_warning(store, caplog):
    """Another adapter failing while one already is: a new WARNING, naming only it."""
    caplog.set_level(logging.INFO)
    other = flaky_store()
    monitor = HealthMonitor({"state": store, "cache": other, "recommender": LocalRecommender()})
    store.plan.fail("store.ping", DOWN, times=None)
    await monitor.check_once()
    other.plan.fail("store.ping", DOWN, times=None)
    second = await monitor.check_once()
    await monitor.check_once()
    assert second.failing == ("state", "cache")
    assert second.status is HealthStatus.DEGRADED
    logged = [message for _, message in lines(caplog)]
    assert len(logged) == 2
    assert logged[0].startswith("health degraded: state failing")
    assert logged[1].startswith("health degraded: cache failing - cache:")


@pytest.mark.anyio
async def test_a_hung_ping_fails_at_the_timeout(store, caplog):
    """A ping that never answers fails its probe after ``timeout``; all failing is down."""
    caplog.set_level(logging.INFO)
    store.plan.fail("store.ping", DOWN, times=None)
    monitor = HealthMonitor({"state": store, "vectors": Hanging()}, timeout=0.05)
    report = await monitor.check_once()
    assert report.status is HealthStatus.DOWN
    assert report.as_json()["probes"]["vectors"]["error"] == "no answer within 0.05 s"
    assert len(lines(caplog)) == 1
    assert "state, vectors failing" in lines(caplog)[0][1]


@pytest.mark.anyio
async def test_a_bug_in_a_ping_is_not_swallowed():
    """Anything but a SourceError or a timeout propagates: it is a bug, not ill health."""
    monitor = HealthMonitor({"buggy": Buggy()})
    with pytest.raises(ZeroDivisionError):
        await monitor.check_once()


@pytest.mark.anyio
async def test_run_checks_on_schedule_until_cancelled(monitor, store):
    """The loop probes every interval; the last report follows the adapters' health."""
    monitor.interval = 0.01
    task = asyncio.create_task(monitor.run())
    while monitor.last is None:  # noqa: ASYNC110 - polling the monitor's own state
        await asyncio.sleep(0.005)
    store.plan.fail("store.ping", DOWN, times=None)
    while monitor.last.ok:  # noqa: ASYNC110
        await asyncio.sleep(0.005)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert monitor.last.as_json()["status"] == "degraded"


def test_interval_and_timeout_must_be_positive():
    """A zero interval would spin."""
    with pytest.raises(ValueError, match="positive"):
        HealthMonitor({}, interval=0)
