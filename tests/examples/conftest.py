"""Fixtures of the example app's tests: the app on an in-memory store, and a client."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

from reclio import bootstrap
from reclio.adapters.memory import InMemoryStateStore
from reclio.config import AppConfig, ReclioConfig
from reclio.testing.faults import FaultPlan, FlakyStateStore

pytest.importorskip("starlette")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from starlette.applications import Starlette

from examples.chilllink_app import create_app


def config_of(settings: AppConfig, state: str | Path = ":memory:") -> ReclioConfig:
    """The embedded default on ``state``, with these app settings."""
    return attrs.evolve(ReclioConfig.embedded_default(state), app=settings)


@pytest.fixture
def store() -> InMemoryStateStore:
    return InMemoryStateStore()


@pytest.fixture
def plan() -> FaultPlan:
    return FaultPlan()


@pytest.fixture
def admin() -> str:
    """The admin token of the app under test."""
    return "the-admin-token-of-the-tests"


@pytest.fixture
def settings(admin: str) -> AppConfig:
    """No scheduler (tests start jobs themselves), an admin token."""
    return AppConfig(admin_token=admin, scheduler=False)


@pytest.fixture
def jobs() -> bool:
    """Whether the runtime builds the sync side (the admin tests need it)."""
    return False


@pytest.fixture
def build(
    store: InMemoryStateStore, plan: FaultPlan, jobs: bool
) -> Callable[[ReclioConfig], bootstrap.Runtime]:
    def make(config: ReclioConfig) -> bootstrap.Runtime:
        # No timer flushes during a test: counts are written when a test flushes.
        return bootstrap.build(
            config,
            jobs=jobs,
            store=FlakyStateStore(store, plan),
            world_users=12,
            flush_interval=3600.0,
        )

    return make


@pytest.fixture
def make_app(build: Callable[[ReclioConfig], bootstrap.Runtime]) -> Callable[..., Starlette]:
    """Makes an app with these settings (and create_app options) on the test's store."""

    def make(settings: AppConfig, **options: Any) -> Starlette:
        return create_app(config_of(settings), build=build, **options)

    return make


@pytest.fixture
def app(settings: AppConfig, make_app: Callable[..., Starlette]) -> Starlette:
    return make_app(settings)


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as http,
    ):
        yield http
