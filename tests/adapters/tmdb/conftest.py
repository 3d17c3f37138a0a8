"""Replays of TMDB (vcrpy, replay only) for the recorded and contract tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
import vcr
from vcr.request import Request

CASSETTES = Path(__file__).resolve().parent / "cassettes"
REPLAY_TOKEN = "replay-token-never-recorded"  # noqa: S105 - a test value

_UNMATCHED = frozenset({"start_date", "end_date"})


def tmdb_query(r1: Request, r2: Request) -> None:
    """Query equality, except the change feed's dates and page (the cassette has one page)."""

    def key(r: Request) -> list[tuple[str, str]]:
        ignored = _UNMATCHED | ({"page"} if r.path.endswith("/changes") else set())
        return [(k, v) for k, v in r.query if k not in ignored]

    assert key(r1) == key(r2), f"{key(r1)} != {key(r2)}"


REPLAY = vcr.VCR(
    cassette_library_dir=str(CASSETTES),
    record_mode="none",
    match_on=["method", "scheme", "host", "port", "path", "tmdb_query"],
    filter_headers=["authorization"],
    filter_query_parameters=["api_key"],
)
REPLAY.register_matcher("tmdb_query", tmdb_query)


@contextmanager
def _replay(name: str = "tmdb_catalog.yaml") -> Iterator[None]:
    with REPLAY.use_cassette(name, allow_playback_repeats=True):
        yield


Replay = Callable[..., AbstractContextManager[None]]


@pytest.fixture
def replay() -> Replay:
    """``with replay(name):`` serves TMDB from a committed cassette; a missing request fails."""
    return _replay


@pytest.fixture
def replay_token() -> str:
    """The token replayed sources are built with (never in any cassette)."""
    return REPLAY_TOKEN


@pytest.fixture
def cassettes() -> Path:
    """The folder of the committed cassettes."""
    return CASSETTES
