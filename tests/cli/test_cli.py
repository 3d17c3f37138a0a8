"""The reclio command: demo and feeds, end to end in process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reclio import chilllink
from reclio.cli import main


def _body(capsys: pytest.CaptureFixture[str]) -> dict[str, list[dict[str, object]]]:
    out = capsys.readouterr().out
    body: dict[str, list[dict[str, object]]] = json.loads(out)
    chilllink.from_dict(body)  # a valid ChillLink body, or this raises
    return body


def test_demo_json_is_ten_valid_feeds(capsys: pytest.CaptureFixture[str]) -> None:
    """`reclio demo --json`: exactly 10 feeds, unique ids, Recommended at rows 2 and 3."""
    assert main(["demo", "--json", "--users", "40"]) == 0
    feeds = _body(capsys)["feeds"]
    assert len(feeds) == 10
    assert len({f["id"] for f in feeds}) == 10
    assert [f["id"] for f in feeds[1:3]] == ["recommended_movies", "recommended_shows"]


def test_demo_is_deterministic(capsys: pytest.CaptureFixture[str]) -> None:
    """Two runs print the same body: the demo world is generated from a fixed seed and clock."""
    main(["demo", "--json", "--users", "20"])
    first = capsys.readouterr().out
    main(["demo", "--json", "--users", "20"])
    assert capsys.readouterr().out == first


def test_feeds_reads_the_demo_state(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`reclio feeds` on the demo's state file prints the same rows the demo did."""
    state = tmp_path / "state.sqlite3"
    main(["demo", "--json", "--users", "20", "--state", str(state)])
    demo_body = _body(capsys)
    main(["feeds", "demo", "--json", "--state", str(state)])
    feeds_body = _body(capsys)

    def lists(body: dict[str, list[dict[str, object]]]) -> list[tuple[object, object]]:
        # TMDB query dates follow the clock (the demo's is fixed), list ids do not.
        feeds = body["feeds"]
        return [(f["id"], f["source_metadata"]) for f in feeds if f["source"] == "trakt_list"]

    assert [f["id"] for f in feeds_body["feeds"]] == [f["id"] for f in demo_body["feeds"]]
    assert lists(feeds_body) == lists(demo_body)
    assert len(lists(demo_body)) >= 4


def test_feeds_for_an_unknown_user_still_answers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown user in an existing state file gets the non-personal layout, not an error."""
    state = tmp_path / "state.sqlite3"
    main(["demo", "--json", "--users", "5", "--state", str(state)])
    capsys.readouterr()
    assert main(["feeds", "nobody", "--json", "--state", str(state)]) == 0
    assert len(_body(capsys)["feeds"]) == 10


def test_feeds_refuses_a_missing_state_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A mistyped --state is one clear line and exit code 2, and creates no file."""
    missing = tmp_path / "typo.sqlite3"
    assert main(["feeds", "demo", "--state", str(missing)]) == 2
    assert "no state file" in capsys.readouterr().err
    assert not missing.exists()


def test_table_output_names_every_feed(capsys: pytest.CaptureFixture[str]) -> None:
    """The human table lists the ten feed ids."""
    main(["demo", "--users", "20", "--explain"])
    out = capsys.readouterr().out
    for feed_id in ("continue_watching", "recommended_movies", "trending_shows", "hidden_gems"):
        assert feed_id in out
