"""Replays of Trakt (vcrpy, replay only) and a local fake Trakt, for the adapter tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import vcr
from vcr.request import Request

from reclio.adapters.memory import InMemoryStateStore
from reclio.domain import OAuthToken

CASSETTES = Path(__file__).resolve().parent / "cassettes"
REPLAY_CLIENT = "replay-client-id-never-recorded"
REPLAY_SECRET = "replay-secret-never-recorded"  # noqa: S105 - a test value
REPLAY_TOKEN = OAuthToken(
    "replay-access-never-recorded",
    "replay-refresh-never-recorded",
    datetime.now(UTC),
    timedelta(days=7),
)


def trakt_query(r1: Request, r2: Request) -> None:
    """Query equality, except ``start_at`` (the source also filters what it is answered)."""

    def key(r: Request) -> list[tuple[str, str]]:
        return sorted((k, v) for k, v in r.query if k != "start_at")

    assert key(r1) == key(r2), f"{key(r1)} != {key(r2)}"


REPLAY = vcr.VCR(
    cassette_library_dir=str(CASSETTES),
    record_mode="none",
    match_on=["method", "scheme", "host", "port", "path", "trakt_query"],
    filter_headers=["authorization", "trakt-api-key"],
)
REPLAY.register_matcher("trakt_query", trakt_query)


@contextmanager
def _replay(name: str = "trakt_sync.yaml") -> Iterator[None]:
    with REPLAY.use_cassette(name, allow_playback_repeats=True):
        yield


Replay = Callable[..., AbstractContextManager[None]]


@pytest.fixture
def replay() -> Replay:
    """``with replay():`` serves Trakt from the committed cassette; a missing request fails."""
    return _replay


@pytest.fixture
def replay_store() -> InMemoryStateStore:
    """A store holding a (never recorded) token for ``contract-user``."""
    store = InMemoryStateStore()
    store._tokens["contract-user", "trakt"] = REPLAY_TOKEN
    return store
