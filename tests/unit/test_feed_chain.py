"""The chain runner: first serving link wins, lazily, with provenance."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reclio.domain import Anchor, ContentType, ItemRef, MediaType, Outcome, TmdbQuerySource
from reclio.errors import SourceError
from reclio.feeds import FeedContext, FeedSpec, Link, Pass, Serve, Terminal, run_chain
from reclio.testing import strategies as rst

CTX = FeedContext("u", None, date(2026, 11, 26))
TERMINAL_SOURCE = TmdbQuerySource("/terminal")


class Bug(Exception):
    """An exception that is not a SourceError: a bug, which must surface."""


def _link(index: int, behaviour: object, calls: list[int]) -> Link:
    def fn(_ctx: FeedContext) -> Serve | Pass:
        calls.append(index)
        if isinstance(behaviour, BaseException):
            raise behaviour
        if behaviour == "serve":
            return Serve(TmdbQuerySource(f"/link/{index}"))
        return Pass(f"link {index} passes")

    return Link(name=f"link{index}", describe="", fn=fn)


def _spec(chain: list[Link]) -> FeedSpec:
    terminal = Terminal("terminal", "", lambda _ctx: Serve(TERMINAL_SOURCE))
    return FeedSpec("f", "F", ContentType.MOVIES, tuple(chain), terminal)


behaviours = st.lists(st.sampled_from(["serve", "pass"]) | rst.source_errors(), max_size=8)


@given(behaviours)
def test_first_serving_link_wins_and_later_links_are_not_called(plan: list[object]) -> None:
    """The feed comes from the first link that serves; links after it never run."""
    calls: list[int] = []
    feed = run_chain(_spec([_link(i, b, calls) for i, b in enumerate(plan)]), CTX)

    first = next((i for i, b in enumerate(plan) if b == "serve"), None)
    if first is None:
        assert feed.source == TERMINAL_SOURCE
        assert calls == list(range(len(plan)))
        assert feed.provenance[-1].link == "terminal"
    else:
        assert feed.source == TmdbQuerySource(f"/link/{first}")
        assert calls == list(range(first + 1))
    tried = plan if first is None else plan[:first]
    assert [a.outcome for a in feed.provenance] == [
        Outcome.ERROR if isinstance(b, SourceError) else Outcome.PASSED for b in tried
    ] + [Outcome.SERVED]


@given(behaviours)
def test_source_errors_are_recorded_with_their_message(plan: list[object]) -> None:
    """A link that raises SourceError is recorded as an error with its message, not raised."""
    calls: list[int] = []
    feed = run_chain(_spec([_link(i, b, calls) for i, b in enumerate(plan)]), CTX)
    errors = [a for a in feed.provenance if a.outcome is Outcome.ERROR]
    expected = [b for b in plan[: len(calls)] if isinstance(b, SourceError)]
    assert [a.detail for a in errors] == [str(e) for e in expected]


@given(behaviours, st.integers(min_value=0, max_value=8))
def test_any_other_exception_propagates(plan: list[object], position: int) -> None:
    """A bug in a link is never swallowed as a fallback, if the chain reaches that link."""
    plan = list(plan)
    plan.insert(min(position, len(plan)), Bug("boom"))
    calls: list[int] = []
    spec = _spec([_link(i, b, calls) for i, b in enumerate(plan)])
    bug_at = next(i for i, b in enumerate(plan) if isinstance(b, Bug))
    if "serve" in plan[:bug_at]:
        run_chain(spec, CTX)
        assert bug_at not in calls
    else:
        with pytest.raises(Bug):
            run_chain(spec, CTX)


def test_pass_reason_is_recorded() -> None:
    """Provenance says why a link passed."""
    feed = run_chain(_spec([_link(0, "pass", [])]), CTX)
    assert feed.provenance[0].detail == "link 0 passes"
    assert feed.provenance[0].outcome is Outcome.PASSED


def test_context_anchors_are_keyed_by_their_media_type() -> None:
    """A movie anchor under the show key would be served as /tv/<movie id>/recommendations."""
    matrix = Anchor(ItemRef.movie(603), "The Matrix")
    with pytest.raises(ValueError, match=r"FeedContext\.anchors\[tv\] must anchor a show"):
        FeedContext("u", None, date(2026, 11, 26), {MediaType.TV: matrix})
    assert FeedContext("u", None, date(2026, 11, 26), {MediaType.MOVIE: matrix}).anchors


@given(st.lists(st.text(max_size=10), max_size=3), behaviours)
def test_context_notes_open_every_feeds_provenance(notes: list[str], plan: list[object]) -> None:
    """What degraded the request comes first in the provenance, then each link tried."""
    ctx = FeedContext("u", None, date(2026, 11, 26), notes=tuple(notes))
    feed = run_chain(_spec([_link(i, b, []) for i, b in enumerate(plan)]), ctx)
    noted = [a for a in feed.provenance if a.outcome is Outcome.NOTED]
    assert list(feed.provenance[: len(notes)]) == noted
    assert [(a.link, a.detail) for a in noted] == [("context", n) for n in notes]
    assert feed.provenance[-1].outcome is Outcome.SERVED
