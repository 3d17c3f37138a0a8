"""A local Recombee (reclio.testing.recombee_server) per module, a fresh database per test.

The real SDK signs and sends every request over loopback; nothing inside it is replaced.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

pytest.importorskip("recombee_api_client")

from reclio.adapters.recombee import RecombeeConfig, RecombeeRecommender
from reclio.testing.recombee_server import LocalRecombee

TOKEN = "local-test-token-0123456789abcdefghijklmnopqrstuvwxyz"  # noqa: S105 - a test fixture
_numbers = itertools.count()

MakeConfig = Callable[..., RecombeeConfig]


@pytest.fixture(scope="module")
def server() -> Iterator[LocalRecombee]:
    """One local Recombee on an ephemeral loopback port for the module."""
    with LocalRecombee() as running:
        yield running


@pytest.fixture
def token() -> str:
    """The private token of every test database."""
    return TOKEN


@pytest.fixture(autouse=True)
def _no_rapi_uri(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK reads RAPI_URI itself; a stray value would send requests elsewhere."""
    monkeypatch.delenv("RAPI_URI", raising=False)


@pytest.fixture
def database(server: LocalRecombee) -> str:
    """A fresh, empty database on the server; its faults cleared."""
    server.clear_faults()
    name = f"db-{next(_numbers)}"
    server.add_database(name, TOKEN)
    return name


@pytest.fixture
def make_config(server: LocalRecombee, database: str) -> MakeConfig:
    """A config for the test's database; keyword options override the defaults."""

    def build(**options: object) -> RecombeeConfig:
        settings: dict[str, object] = {
            "base_uri": server.base_uri,
            "timeout": 5.0,
            "batch_size": 100,
        }
        settings.update(options)
        return RecombeeConfig(
            str(settings.pop("database_id", database)),
            str(settings.pop("token", TOKEN)),
            **settings,  # type: ignore[arg-type]
        )

    return build


@pytest.fixture
async def recombee(make_config: MakeConfig) -> AsyncIterator[RecombeeRecommender]:
    """A recommender on the test's fresh database."""
    built = RecombeeRecommender(make_config())
    yield built
    await built.aclose()
