"""The sweep as Procrastinate jobs, end to end: worker processes sharing one PostgreSQL.

One worker starts alone on slow interaction calls and is killed (SIGKILL) mid-sync; two
more workers then share the sweep of the demo world. Every due user is synced exactly once,
the killed job is put back and finishes after the dead worker's lease expires, nothing a
user did is lost, and a worker that starts late serves the same picks.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from reclio.embedded.world import DEMO_USER, WORLD_MOMENT, generate_activity, generate_catalog

psycopg = pytest.importorskip("psycopg")
pytest.importorskip("procrastinate")

USERS = 40
WORKER = Path(__file__).with_name("_pg_worker.py")
_SYNCED = re.compile(r"reclio\.jobs user (\S+): synced:")


def _spawn(*args: str) -> subprocess.Popen[bytes]:
    """A worker process; its stderr goes to LOG.err beside its log (args[3])."""
    with Path(f"{args[4]}.err").open("wb") as err:
        return subprocess.Popen(  # noqa: S603 - fixed argv
            [sys.executable, str(WORKER), *args], stdout=subprocess.DEVNULL, stderr=err
        )


def _run(*args: str) -> str:
    done = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, str(WORKER), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _query(url: str, sql: str, *params: object) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def _wait(what: str, check: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def _stop(*workers: subprocess.Popen[bytes]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(5)


def _registered(url: str) -> int:
    """Live workers (Procrastinate prunes the dead ones)."""
    rows = _query(
        url,
        "SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat > now() - interval '2 s'",
    )
    return int(rows[0][0])


def _synced(log: Path) -> list[str]:
    return _SYNCED.findall(log.read_text()) if log.exists() else []


def _unsynced(url: str) -> int:
    return int(_query(url, "SELECT count(*) FROM reclio.users WHERE next_sync_at IS NULL")[0][0])


def _busy(url: str, task: str = "reclio.sync_user") -> int:
    rows = _query(
        url,
        "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"
        " AND task_name = %s",
        task,
    )
    return int(rows[0][0])


@pytest.mark.skipif(os.name != "posix", reason="signals")
def test_workers_share_the_sweep_and_survive_a_killed_worker(
    postgres_url: str, tmp_path: Path
) -> None:
    """Kill a worker mid-sync, let two others finish: each due user synced once, nothing
    lost, the killed job retried after its lease expired, no job failed; then a late
    worker's picks for the demo user match the running workers' picks."""
    url, lists = postgres_url, str(tmp_path / "lists.sqlite3")
    _run("setup", url, lists, str(USERS), str(tmp_path / "setup.log"))
    assert _unsynced(url) == USERS

    logs = [tmp_path / f"worker-{name}.log" for name in "abc"]
    slow = _spawn("work", url, lists, str(USERS), str(logs[0]), "0.3", "1")
    workers = [slow]
    try:
        # Worker a syncs slowly (0.3 s per Trakt call); kill it while it holds a lease.
        _wait("a first sync on worker a", lambda: _synced(logs[0]), 60)
        _wait("worker a inside a sync", lambda: _query(url, "SELECT 1 FROM reclio.leases"), 30)
        killed_key, owner = _query(
            url, "SELECT convert_from(key, 'UTF8'), owner FROM reclio.leases"
        )[0]
        slow.send_signal(signal.SIGKILL)
        slow.wait(10)
        killed_user = str(killed_key).removeprefix("user:")
        assert killed_user not in _synced(logs[0])
        workers += [_spawn("work", url, lists, str(USERS), str(log), "0", "4") for log in logs[1:]]
        _wait("workers b and c", lambda: _registered(url) >= 2, 60)
        # The dead worker's lease (10 s) outlives the detection of its death, as a 10-minute
        # lease does in production; cut it to 6 s from now to keep the test short.
        assert _query(
            url,
            "UPDATE reclio.leases SET expires_at = now() + interval '6 s'"
            " WHERE key = convert_to(%s, 'UTF8') AND owner = %s RETURNING 1",
            killed_key,
            owner,
        ) == [(1,)]
        _wait("every user synced", lambda: _unsynced(url) == 0 and _busy(url) == 0, 90)
        for worker, log in zip(workers[1:], logs[1:], strict=True):
            assert worker.poll() is None, Path(f"{log}.err").read_text()[-3000:]

        counts = Counter(user for log in logs for user in _synced(log))
        activity = generate_activity(generate_catalog(), users=USERS, now=WORLD_MOMENT)
        assert counts == Counter(set(activity)), "each due user synced exactly once"
        assert killed_user in _synced(logs[1]) + _synced(logs[2])
        # Put back once the worker's heartbeat stopped (2 s), the job met the dead worker's
        # lease and was tried again with backoff until it expired.
        later = "".join(log.read_text() for log in logs[1:])
        assert "dead worker put back" in later
        assert re.search(rf"user {re.escape(killed_user)}: .*another worker.*; try 2", later)
        assert all(_synced(log) for log in logs[1:]), "both workers took part"
        assert _query(url, "SELECT count(*) FROM procrastinate_jobs WHERE status = 'failed'") == [
            (0,)
        ]
        assert _query(url, "SELECT count(*) FROM reclio.leases") == [(0,)]

        # Nothing lost: every view, rating and bookmark of every user is in the store.
        stored = {
            (str(user), media, tmdb_id, kind)
            for user, media, tmdb_id, kind in _query(
                url,
                "SELECT convert_from(user_id, 'UTF8'), media_type, tmdb_id, kind"
                " FROM reclio.history",
            )
        }
        expected = {
            (user.user_id, i.ref.media_type.value, i.ref.tmdb_id, kind)
            for user in activity.values()
            for kind, done in ((0, user.views), (1, user.ratings), (2, user.bookmarks))
            for i in done
        }
        assert stored == expected

        # The demo user's picks, computed by a running worker after a content run ...
        _run("defer-content", url, lists, str(USERS), str(tmp_path / "defer.log"))
        _wait("the content job", lambda: _busy(url, "reclio.sync_content") == 0, 60)
        _run("defer-demo", url, lists, str(USERS), str(tmp_path / "defer.log"))
        _wait("the demo user's sync", lambda: _busy(url) == 0, 60)
        picks_before = json.loads(_run("lists", url, lists, str(USERS), str(tmp_path / "p1.log")))
    finally:
        _stop(*workers)
    # ... and by a worker that starts late, restored from the store alone.
    picks_late = json.loads(_run("picks", url, lists, str(USERS), str(tmp_path / "p2.log")))
    assert set(picks_late) == set(picks_before)
    assert {"recommended_movies", "recommended_shows"} <= set(picks_late)
    for kind, items in picks_before.items():
        assert items == picks_late[kind], kind
    assert DEMO_USER in counts
