"""The embedded default is durable as a whole: a second process sees what the first did.

Each step runs in its own interpreter, as a user running `reclio` twice would.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

USERS = 60

_ENGINE_DUMP = textwrap.dedent(
    """
    import asyncio, json, sys
    from reclio.bootstrap import build
    from reclio.config import ReclioConfig
    from reclio.embedded.demo import DEMO_NOW, sync_everything

    async def main():
        config = ReclioConfig.embedded_default(sys.argv[1])
        async with build(config, clock=lambda: DEMO_NOW, world_users=int(sys.argv[2])) as rt:
            if sys.argv[3] == "demo":
                await sync_everything(rt)
            else:
                await rt.user_sync.sync("demo", force=True)
            engine = rt.jobs.recommender
            pairs = sorted(
                {(i.user_id, i.ref.item_id, i.kind.value)
                for user in engine.user_ids
                for i in engine.interactions_of(user)}
            )
            print(json.dumps(pairs))

    asyncio.run(main())
    """
)


def _run(*argv: str) -> str:
    done = subprocess.run(  # noqa: S603 - fixed argv
        argv, capture_output=True, text=True, check=False, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _reclio(*args: str) -> str:
    return _run(sys.executable, "-m", "reclio", *args)


def _lists(state: Path) -> dict[str, list[str]]:
    body = json.loads(_reclio("lists", "demo", "--json", "--state", str(state)))
    return {row["kind"]: row["items"] for row in body["lists"]}


@pytest.mark.slow
def test_a_second_process_keeps_what_the_first_learned(tmp_path: Path) -> None:
    """After the demo's syncs on S, `reclio sync users --user demo --force` on S keeps the
    Recommended lists (at least 90 % of the top 50), and a later engine knows every
    interaction the first one was given."""
    state = tmp_path / "state.sqlite3"
    script = (sys.executable, "-c", _ENGINE_DUMP, str(state), str(USERS))
    learned = {tuple(pair) for pair in json.loads(_run(*script, "demo"))}
    before = _lists(state)
    assert len(before["recommended_movies"]) == 50
    assert len(before["recommended_shows"]) == 50

    _reclio("sync", "users", "--user", "demo", "--force", "--state", str(state))
    after = _lists(state)
    for kind in ("recommended_movies", "recommended_shows"):
        kept = set(before[kind]) & set(after[kind])
        assert len(kept) >= 45, (kind, len(kept))
    assert set(before) == set(after)

    known = {tuple(pair) for pair in json.loads(_run(*script, "sync"))}
    assert len(learned) > 1000
    assert learned <= known


def test_the_cli_demo_state_serves_every_later_command(tmp_path: Path) -> None:
    """`reclio demo --state S`, then `reclio lists` and `reclio feeds` on S see the same lists."""
    state = tmp_path / "state.sqlite3"
    demo = json.loads(_reclio("demo", "--json", "--users", "20", "--state", str(state)))
    lists = json.loads(_reclio("lists", "demo", "--json", "--state", str(state)))["lists"]
    served = {
        feed["source_metadata"]["id"] for feed in demo["feeds"] if feed["source"] == "trakt_list"
    }
    assert served <= {row["list_id"] for row in lists}
    assert all(row["items"] and row["synced_ok"] for row in lists)
