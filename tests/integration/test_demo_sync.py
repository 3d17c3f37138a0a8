"""The demo and the ``reclio sync`` commands run the real pipelines end to end."""

from __future__ import annotations

import pytest

from reclio.cli import main
from reclio.domain import TraktListSource
from reclio.embedded.demo import run_demo


@pytest.mark.anyio
async def test_demo_rows_two_to_five_are_managed_lists():
    """The demo user's Recommended and Because You Watched rows are served from lists."""
    result = await run_demo(users=80)
    sources = [feed.source for feed in result.response.feeds]
    assert all(isinstance(source, TraktListSource) for source in sources[1:5])
    assert [r.job for r in result.reports] == ["content", "users (80)"]
    assert all(r.ok for r in result.reports)
    assert result.reports[1].pushed > 0


def test_sync_commands_on_the_embedded_default(tmp_path, capsys, monkeypatch):
    """`sync content` then `sync users` fill one state file; a rerun finds no one due."""
    for name in ("RECLIO_TMDB_TOKEN", "RECLIO_TRAKT_CLIENT_ID", "RECLIO_RECOMBEE_DATABASE_ID"):
        monkeypatch.delenv(name, raising=False)
    state = str(tmp_path / "state.db")
    assert main(["sync", "content", "--state", state]) == 0
    assert "content: fetched" in capsys.readouterr().out
    assert main(["sync", "users", "--state", state]) == 0
    assert "users (300): fetched" in capsys.readouterr().out
    assert main(["sync", "users", "--state", state]) == 0
    assert "no user is due" in capsys.readouterr().out
    assert main(["sync", "users", "--user", "demo", "--state", state]) == 0
    assert "users (1)" in capsys.readouterr().out
