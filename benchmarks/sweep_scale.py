"""Does the sweep scale out? Users synced per second by 1, 2 and 4 worker processes.

A throwaway PostgreSQL (the machine's own binaries, 127.0.0.1 only) holds the state and
Procrastinate's queue. The catalog is the embedded one; Trakt, the recommender and the
list sink are in-process fakes on which every call takes a fixed latency (default 50 ms,
``asyncio.sleep``: no network at all), so a sync costs what it would against real
services while the CPU cost of reclio, Procrastinate and PostgreSQL stays real. Each
generated user has new activity, so every sync is a full one (poll, history, ratings,
watchlist, playback, push, picks, five lists written).

For each worker count: a fresh database, content sync once, then N worker processes
(``reclio.jobs.serve``, concurrency C each) are started; once all are registered with
Procrastinate the users are written as due and the clock starts; it stops when the last
user's sync is recorded. Figures: users per second, speed-up over one worker, calls per
sync, peak database connections. Acceptance: 4 workers at least 3x one worker.

On a 2-core machine 10,000 users take about 25 minutes for the three runs (the single
worker alone about 14), so the default is 1,000 users; ``--users 10000`` runs the full
count. Ends with one JSON line of the figures.

Run: python benchmarks/sweep_scale.py [--users 1000] [--latency 0.05] [--concurrency 4]
"""

# The fakes implement ports: unused arguments are the ports' signatures.
# ruff: noqa: ARG002

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from reclio.adapters.memory import InMemoryListSink
from reclio.adapters.postgres import PostgresConfig, PostgresStateStore
from reclio.bootstrap import build
from reclio.config import ReclioConfig
from reclio.domain import (
    ActivityStamp,
    Interaction,
    ItemRef,
    MediaType,
    PlaybackProgress,
    Title,
    UserState,
    WriteResult,
)
from reclio.jobs import WorkerSettings, serve
from reclio.ports import InteractionSource, Recommender
from reclio.testing.faults import FaultPlan, FlakyInteractionSource, FlakyListSink, FlakyRecommender
from reclio.testing.postgres import TemporaryCluster

TARGET_SPEEDUP = 3.0
NOW = datetime(2026, 11, 1, tzinfo=UTC)
SETTINGS = WorkerSettings(
    enqueue_cron="* * * * * *",
    stalled_cron="*/10 * * * * *",
    content_cron="0 0 1 1 *",
    enqueue_limit=100_000,
    heartbeat_interval=2.0,
    stalled_after=30.0,
    fetch_interval=1.0,
)


def _seed(user_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(user_id.encode(), digest_size=4).digest(), "big")


class FakeTrakt(InteractionSource):
    """Each user: 20 views, 5 ratings, 3 watchlist entries of embedded-catalog titles."""

    async def activity(self, user_id: str) -> ActivityStamp:
        return ActivityStamp(watched_at=NOW, rated_at=NOW, watchlisted_at=NOW)

    def _refs(self, user_id: str, count: int, offset: int) -> list[ItemRef]:
        seed = _seed(user_id) + offset
        return [
            ItemRef(MediaType.MOVIE if k % 3 else MediaType.TV, 1 + (seed + 37 * k) % 900)
            for k in range(count)
        ]

    async def history(
        self, user_id: str, *, since: datetime | None = None
    ) -> Sequence[Interaction]:
        return [
            Interaction.view(user_id, ref, NOW - timedelta(days=k))
            for k, ref in enumerate(self._refs(user_id, 20, 0))
        ]

    async def ratings(self, user_id: str) -> Sequence[Interaction]:
        return [
            Interaction.rating(user_id, ref, 1 + k * 2, NOW - timedelta(days=k))
            for k, ref in enumerate(self._refs(user_id, 5, 0))
        ]

    async def watchlist(self, user_id: str) -> Sequence[Interaction]:
        return [Interaction.bookmark(user_id, ref, NOW) for ref in self._refs(user_id, 3, 500)]

    async def playback(self, user_id: str) -> Sequence[PlaybackProgress]:
        return []


class FakeRecommender(Recommender):
    """Confirms every write; recommends the catalog's first titles the user has not seen."""

    def __init__(self) -> None:
        # Built once: making 1,000 validated refs per call would cost more than a sync.
        self._refs = {kind: [ItemRef(kind, n) for n in range(1, 1000)] for kind in MediaType}

    async def upsert_items(self, titles: Sequence[Title]) -> WriteResult[ItemRef]:
        return WriteResult.all_ok(t.ref for t in titles)

    async def add_interactions(
        self, interactions: Sequence[Interaction]
    ) -> WriteResult[Interaction]:
        return WriteResult.all_ok(interactions)

    async def recommend(
        self,
        user_id: str,
        *,
        media_type: MediaType,
        count: int,
        exclude: Collection[ItemRef] = (),
    ) -> Sequence[ItemRef]:
        picks: list[ItemRef] = []
        for ref in self._refs[media_type]:
            if ref not in exclude:
                picks.append(ref)
                if len(picks) == count:
                    break
        return picks

    async def similar(
        self,
        ref: ItemRef,
        *,
        count: int,
        media_type: MediaType | None = None,
        target_user: str | None = None,
        exclude: Collection[ItemRef] = (),
    ) -> Sequence[ItemRef]:
        kind = media_type or ref.media_type
        return [r for r in self._refs[kind][499 : 499 + count] if r != ref]


def _runtime(url: str, latency: float, plan: FaultPlan) -> object:
    plan.delay("*", latency)
    store = PostgresStateStore(PostgresConfig(url))
    return store, build(
        ReclioConfig.embedded_default(),
        store=store,
        interactions=FlakyInteractionSource(FakeTrakt(), plan),
        recommender=FlakyRecommender(FakeRecommender(), plan),
        sink=FlakyListSink(InMemoryListSink(), plan),
    )


async def worker(url: str, latency: float, concurrency: int) -> None:
    """One worker process: serves until SIGTERM, then prints its call count."""
    plan = FaultPlan()
    store, runtime = _runtime(url, latency, plan)
    try:
        async with runtime:  # type: ignore[attr-defined]
            await serve(runtime, url, concurrency=concurrency, settings=SETTINGS)  # type: ignore[arg-type]
    finally:
        await store.aclose()  # type: ignore[attr-defined]
        print(json.dumps({"calls": len(plan.calls)}), flush=True)


async def setup(url: str) -> None:
    """Content sync once: the catalog and its vectors in the store."""
    store, runtime = _runtime(url, 0.0, FaultPlan())
    async with runtime:  # type: ignore[attr-defined]
        await runtime.content_sync.run()  # type: ignore[attr-defined]
    await store.aclose()  # type: ignore[attr-defined]


async def register(url: str, users: int) -> None:
    """Write every user as due (never synced), 64 writes at a time."""
    store = PostgresStateStore(PostgresConfig(url, max_connections=16))
    gate = asyncio.Semaphore(64)

    async def one(n: int) -> None:
        async with gate:
            await store.put_user(UserState(f"user-{n:06d}"))

    await asyncio.gather(*(one(n) for n in range(users)))
    await store.aclose()


def _scalar(url: str, sql: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql).fetchone()  # type: ignore[arg-type]
        return int(row[0]) if row else 0


_TICKS = os.sysconf("SC_CLK_TCK")


def _server_cpu(cluster: TemporaryCluster) -> float:
    """CPU seconds of the PostgreSQL server: the postmaster and its reaped backends."""
    pid = int((cluster.folder / "data" / "postmaster.pid").read_text().split()[0])
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return (utime + stime + cutime + cstime) / _TICKS


def run(
    cluster: TemporaryCluster, workers: int, users: int, concurrency: int, args: argparse.Namespace
) -> dict[str, object]:
    url = cluster.create_database(f"sweep_{workers}_{concurrency}")
    asyncio.run(setup(url))
    server_before = _server_cpu(cluster)
    procs = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(workers):
            out = Path(tmp) / f"w{n}.out"
            with out.open("w") as sink:
                procs.append(
                    (
                        out,
                        subprocess.Popen(  # noqa: S603 - our own script
                            [
                                sys.executable,
                                __file__,
                                "--worker",
                                url,
                                "--latency",
                                str(args.latency),
                                "--concurrency",
                                str(concurrency),
                            ],
                            stdout=sink,
                            stderr=subprocess.DEVNULL,
                        ),
                    )
                )
        deadline = time.monotonic() + 120
        while _registered(url) < workers:
            if time.monotonic() > deadline:
                raise SystemExit("workers did not start")
            time.sleep(0.2)
        started = time.monotonic()
        asyncio.run(register(url, users))
        registered = time.monotonic() - started
        peak = 0
        limit = started + args.timeout
        while True:
            peak = max(
                peak,
                _scalar(
                    url, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                ),
            )
            done = _scalar(url, "SELECT count(*) FROM reclio.users WHERE next_sync_at IS NOT NULL")
            if done >= users:
                break
            if time.monotonic() > limit:
                raise SystemExit(
                    f"{workers} workers: only {done}/{users} synced in {args.timeout} s"
                )
            time.sleep(0.25)
        elapsed = time.monotonic() - started
        for _, proc in procs:
            proc.send_signal(signal.SIGTERM)
        calls, worker_cpu = 0, 0.0
        for out, proc in procs:
            _, _, usage = os.wait4(proc.pid, 0)
            proc.returncode = 0
            worker_cpu += usage.ru_utime + usage.ru_stime
            lines = [line for line in out.read_text().splitlines() if line.startswith("{")]
            calls += json.loads(lines[-1])["calls"] if lines else 0
        time.sleep(0.5)  # let the server reap the closed connections' backends
        server_cpu = _server_cpu(cluster) - server_before
    return {
        "workers": workers,
        "concurrency": concurrency,
        "users": users,
        "seconds": round(elapsed, 2),
        "register_seconds": round(registered, 2),
        "users_per_second": round(users / elapsed, 2),
        "calls_per_sync": round(calls / users, 2),
        "peak_connections": peak,
        # Whole-run CPU (start-up and the content setup excluded for the server only).
        "worker_cpu_ms_per_sync": round(1000 * worker_cpu / users, 2),
        "server_cpu_ms_per_sync": round(1000 * server_cpu / users, 2),
    }


def _registered(url: str) -> int:
    """Workers registered with Procrastinate (0 before the first one created its tables)."""
    if not _scalar(url, "SELECT (to_regclass('procrastinate_workers') IS NOT NULL)::int"):
        return 0
    return _scalar(url, "SELECT count(*) FROM procrastinate_workers")


def main(args: argparse.Namespace) -> dict[str, object]:
    runs = []
    with TemporaryCluster.start(max_connections=300) as cluster:
        for workers in args.workers:
            result = run(cluster, workers, args.users, args.concurrency, args)
            runs.append(result)
            _progress(result)
        ceiling = None
        if args.ceiling_concurrency:
            ceiling = run(cluster, max(args.workers), args.users, args.ceiling_concurrency, args)
            _progress(ceiling)
    base = float(runs[0]["users_per_second"])  # type: ignore[arg-type]
    for result in runs:
        result["speedup"] = round(float(result["users_per_second"]) / base, 2)  # type: ignore[arg-type]
    by_workers = {int(r["workers"]): r for r in runs}  # type: ignore[call-overload]
    speedup_4 = float(by_workers[4]["speedup"]) if 4 in by_workers else None  # type: ignore[arg-type]
    return {
        "benchmark": "sweep_scale",
        "users": args.users,
        "latency_s": args.latency,
        "concurrency_per_worker": args.concurrency,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "runs": runs,
        "speedup_4_workers": speedup_4,
        "target_speedup": TARGET_SPEEDUP,
        "ceiling": ceiling,
        "meets_target": speedup_4 is not None and speedup_4 >= TARGET_SPEEDUP,
    }


def _progress(result: dict[str, object]) -> None:
    print(
        f"  {result['workers']} worker(s) x {result['concurrency']}:"
        f" {result['users_per_second']:8.2f} users/s ({result['seconds']} s,"
        f" {result['calls_per_sync']} calls/sync, peak {result['peak_connections']} connections,"
        f" CPU per sync {result['worker_cpu_ms_per_sync']} ms workers +"
        f" {result['server_cpu_ms_per_sync']} ms PostgreSQL)",
        flush=True,
    )


def report(figures: dict[str, object]) -> None:
    print(
        f"Sweep of {figures['users']:,} users, {figures['latency_s']} s per service call,"
        f" concurrency {figures['concurrency_per_worker']} per worker, {figures['cpus']} CPUs:"
    )
    for result in figures["runs"]:  # type: ignore[attr-defined]
        print(
            f"  {result['workers']} worker(s): {result['users_per_second']:8.2f} users/s,"
            f" speed-up {result['speedup']:.2f}x, peak {result['peak_connections']} connections"
        )
    verdict = "meets" if figures["meets_target"] else "MISSES"
    print(f"  4 workers: {figures['speedup_4_workers']}x, {verdict} the {TARGET_SPEEDUP}x target")
    ceiling = figures["ceiling"]
    if isinstance(ceiling, dict):
        cpu = float(ceiling["worker_cpu_ms_per_sync"]) + float(ceiling["server_cpu_ms_per_sync"])
        allowed = 1000 * (figures["cpus"] or 1) / cpu  # type: ignore[operator]
        print(
            f"  ceiling: {ceiling['workers']} workers x {ceiling['concurrency']} reach"
            f" {ceiling['users_per_second']} users/s; at {cpu:.1f} ms CPU per sync the"
            f" machine's {figures['cpus']} cores allow about {allowed:.0f}"
            " users/s (less when other processes share them)"
        )
    print(json.dumps(figures))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--ceiling-concurrency",
        type=int,
        default=16,
        help="one more run of the most workers at this concurrency (0: none)",
    )
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--worker", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        asyncio.run(worker(args.worker, args.latency, args.concurrency))
    else:
        report(main(args))
