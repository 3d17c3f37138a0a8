"""The example ChillLink app under load in a real server: how fast is /{token}/feeds?

Setup: a SQLite state file with 10,000 users (plausible states, each with a healthy
Recommended list, so every personal body holds a ``trakt_list`` row and differs from the
non-personal layout), each with an addon token. uvicorn (uvloop, httptools, one worker,
no access log) serves the example app, pinned to CPU 0 (taskset); wrk, pinned to CPU 1,
loads it over loopback with a bounded count and time:

1. ``GET /{token}/feeds`` rotating over every user's token (the personalized path: token
   lookup, state read, ten chains, JSON), and in the same run and server ``GET
   /bench/constant``, a plain Starlette route answering a constant 10-feed body of the same
   size (the framework's own ceiling), at 16 and 64 connections. Every body is checked by
   the wrk script: a non-200, or a body without exactly ten feeds and a ``trakt_list`` row
   (the non-personal layout a failure would serve), is counted. Before the load, 200 random
   tokens are read over the socket and compared byte for byte with the body built in
   process.
2. The same load at 64 connections against a fresh server on a copy of the state, with
   bodies built afresh for every request (no reuse), for comparison.
3. The same load at 64 connections against a server on another copy that, a second into
   the load, starts a first content sync (every title of the embedded catalog: 3,000
   fetched, pushed, embedded and indexed) and a sweep of every user (all due) through its
   admin routes, in the same process; the figures say how long each job overlapped the
   load.

Acceptance (64 connections): personalized >= 0.5 of the constant route's requests/s and
>= 3,000 requests/s; p99 < 20 ms; zero non-200 and zero degraded bodies. With the jobs
running: /feeds p99 < 50 ms. Ends with one JSON line of the figures.

Needs wrk (Debian: apt-get install wrk) and taskset, and reclio[examples] with uvloop and
httptools. Other processes on the machine share its cores: run it twice.

Each run also reports how often the server's event loop was late waking a 5 ms timer by
more than 20/50/100 ms (``loop_stalls``). To name slow callbacks in the server's log, set
FEEDS_HTTP_DEBUG to a duration in seconds (asyncio debug mode; it slows the server).

Run: python benchmarks/feeds_http.py [--users 10000] [--seconds 10] [--max-requests 200000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from feeds_build import make_state  # type: ignore[import-untyped]  # noqa: E402 - a sibling

from reclio import addons, chilllink  # noqa: E402
from reclio.adapters.sqlite import SqliteStateStore  # noqa: E402
from reclio.domain import ManagedList, ManagedListKind, UserState  # noqa: E402
from reclio.feeds import FeedBuilder  # noqa: E402

CONNECTIONS = (16, 64)
ADMIN_TOKEN = "bench-admin-token-0123456789"  # noqa: S105 - a loopback benchmark's
CONSTANT_ENV = "FEEDS_HTTP_CONSTANT_BODY"
REUSE_ENV = "FEEDS_HTTP_REUSE_USERS"
PAGES_ENV = "FEEDS_HTTP_CONTENT_PAGES"
TARGET_RATIO = 0.5
TARGET_RPS = 3000.0
TARGET_P99_MS = 20.0
TARGET_P99_JOBS_MS = 50.0

_WRK_SCRIPT = """
local paths = dofile("%(paths)s")
local requests = {}
for k, path in ipairs(paths) do requests[k] = wrk.format("GET", path) end
local n, i = #requests, 0
local limit = %(limit)d
local threads = {}

function setup(thread) table.insert(threads, thread) end

function init(args)
  responses, non200, degraded = 0, 0, 0
end

function request()
  i = i + 1
  return requests[(i %% n) + 1]
end

function response(status, headers, body)
  responses = responses + 1
  if status ~= 200 then
    non200 = non200 + 1
  else
    local _, feeds = string.gsub(body, '"content_type"', "")
    if feeds ~= 10 or not string.find(body, '"trakt_list"', 1, true) then
      degraded = degraded + 1
    end
  end
  if responses >= limit then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local non, bad, seen = 0, 0, 0
  for _, t in ipairs(threads) do
    non = non + t:get("non200"); bad = bad + t:get("degraded"); seen = seen + t:get("responses")
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%%d,"duration_us":%%d,"checked":%%d,"non200":%%d,"degraded":%%d,' ..
    '"socket_errors":%%d,"timeouts":%%d,"p50_us":%%d,"p90_us":%%d,"p99_us":%%d,"max_us":%%d}\\n',
    summary.requests, summary.duration, seen, non, bad, e.connect + e.read + e.write,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max))
end
"""


def bench_app() -> Any:  # noqa: ANN401 - uvicorn's --factory: the Starlette app
    """The example app plus ``/bench/constant`` (a plain Starlette route, constant body)."""
    from starlette.requests import Request  # noqa: PLC0415
    from starlette.responses import Response  # noqa: PLC0415
    from starlette.routing import Route  # noqa: PLC0415

    from examples.chilllink_app import create_app  # noqa: PLC0415
    from reclio import bootstrap  # noqa: PLC0415
    from reclio.config import ReclioConfig  # noqa: PLC0415
    from reclio.ports import CandidateList  # noqa: PLC0415
    from reclio.sync import ContentSyncConfig  # noqa: PLC0415

    body = Path(os.environ[CONSTANT_ENV]).read_bytes()

    async def constant(_request: Request) -> Response:
        return Response(body, media_type="application/json")

    pages = int(os.environ.get(PAGES_ENV, "0"))

    def runtime(config: ReclioConfig) -> bootstrap.Runtime:
        # The jobs run reads every page of the embedded catalog's lists: a first content
        # sync of all its titles (fetch, push, embed, index), not the few default pages.
        content = ContentSyncConfig(pages=dict.fromkeys(CandidateList, pages)) if pages else None
        jobs = config.app.admin_token is not None
        return bootstrap.build(config, jobs=jobs, content_sync=content)

    app = create_app(build=runtime, reuse_users=int(os.environ.get(REUSE_ENV, "10000")))
    stalls = Stalls()

    async def stalls_route(request: Request) -> Response:
        body = stalls.figures()
        if "reset" in request.query_params:
            stalls.reset()
        return Response(json.dumps(body), media_type="application/json")

    app.router.routes.insert(0, Route("/bench/constant", constant, methods=["GET"]))
    app.router.routes.insert(0, Route("/bench/stalls", stalls_route, methods=["GET"]))
    serve = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:  # noqa: ANN401 - the Starlette app
        async with serve(app):
            if "FEEDS_HTTP_DEBUG" in os.environ:  # name the slow callbacks in the server log
                loop = asyncio.get_running_loop()
                loop.set_debug(True)
                loop.slow_callback_duration = float(os.environ["FEEDS_HTTP_DEBUG"])
            watch = asyncio.create_task(stalls.watch())
            try:
                yield
            finally:
                watch.cancel()

    app.router.lifespan_context = lifespan
    return app


class Stalls:
    """How late the server's event loop wakes a 5 ms timer: its stalls, in the server."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._late: list[float] = []
        self._ticks = 0

    async def watch(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(0.005)
            self._ticks += 1
            late = time.perf_counter() - started - 0.005
            if late > 0.02:
                self._late.append(late)

    def figures(self) -> dict[str, Any]:
        late = self._late
        return {
            "ticks": self._ticks,
            "over_20ms": len(late),
            "over_50ms": sum(x > 0.05 for x in late),
            "over_100ms": sum(x > 0.1 for x in late),
            "max_ms": round(max(late, default=0.0) * 1000, 1),
            "stalled_s": round(sum(late), 2),
        }


def healthy_state(rng: random.Random, n: int) -> UserState:
    """A plausible user (feeds_build's generator) whose Recommended list always serves."""
    state: UserState = make_state(rng, f"user-{n:05d}")
    lists = [m for m in state.lists if m.kind is not ManagedListKind.RECOMMENDED_MOVIES]
    healthy = ManagedList(
        ManagedListKind.RECOMMENDED_MOVIES,
        50_000_000 + n,
        50,
        synced_ok=True,
        synced_at=datetime.now(UTC) - timedelta(hours=2),
    )
    return attrs.evolve(state, lists=[healthy, *lists], next_sync_at=None)


async def prepare(folder: Path, users: int) -> dict[str, Any]:
    """Write the state (users and tokens); return tokens and expected bodies of a sample."""
    rng = random.Random(7)
    path = folder / "state.sqlite3"
    store = SqliteStateStore(path)
    started = time.perf_counter()
    tokens: list[str] = []
    try:
        for n in range(users):
            state = healthy_state(rng, n)
            await store.put_user(state)
            tokens.append(await addons.issue_addon_token(store, state.user_id))
        builder = FeedBuilder(store)
        sample = rng.sample(range(users), min(200, users))
        expected = {
            tokens[n]: chilllink.dumps(await builder.build(f"user-{n:05d}")) for n in sample
        }
        sizes = [len(body.encode()) for body in expected.values()]
    finally:
        await store.aclose()
    constant = next(iter(expected.values())).encode()
    (folder / "constant.json").write_bytes(constant)
    paths = [f"/{token}/feeds" for token in tokens]
    for name, rows in (("personal", paths), ("constant", ["/bench/constant"])):
        lua = "return {" + ",".join(json.dumps(p) for p in rows) + "}\n"
        (folder / f"{name}_paths.lua").write_text(lua, encoding="utf-8")
    return {
        "path": path,
        "tokens": tokens,
        "expected": expected,
        "setup_s": round(time.perf_counter() - started, 1),
        "body_bytes_mean": round(sum(sizes) / len(sizes)),
        "constant_bytes": len(constant),
    }


def free_port() -> int:
    """An ephemeral port that was free a moment ago.

    (uvicorn's ``--fd`` would avoid the race, but it takes the socket for a Unix one and
    leaves Nagle's algorithm on: every response then waits for a delayed ACK, 40 ms.)
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """uvicorn with the bench app on CPU 0, on an ephemeral loopback port."""

    def __init__(
        self, state: Path, folder: Path, *, jobs: bool, reuse: bool = True, admin: bool = False
    ) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("RECLIO_")}
        env |= {
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "benchmarks")]),
            "RECLIO_STATE_PATH": str(state),
            "RECLIO_APP_SCHEDULER": "on" if jobs else "off",
            "RECLIO_USER_SWEEP_CONCURRENCY": "4",
            CONSTANT_ENV: str(folder / "constant.json"),
            REUSE_ENV: "10000" if reuse else "0",
        }
        if admin:
            env["RECLIO_ADMIN_TOKEN"] = ADMIN_TOKEN  # and with it, the sync side
            env[PAGES_ENV] = "200"
        argv = ["taskset", "-c", "0", sys.executable, "-m", "uvicorn", "--factory"]
        argv += ["feeds_http:bench_app", "--host", "127.0.0.1", "--port", str(self.port)]
        argv += ["--loop", "uvloop", "--http", "httptools", "--no-access-log"]
        argv += ["--log-level", "warning", "--timeout-graceful-shutdown", "5"]
        self._log = (folder / f"server-{self.port}.log").open("wb")
        self.process = subprocess.Popen(  # noqa: S603 - fixed argv
            argv, env=env, stdout=self._log, stderr=self._log
        )
        self.base = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                msg = f"the server exited with {self.process.returncode}"
                raise RuntimeError(msg)
            try:
                if httpx.get(f"{self.base}/manifest", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        msg = "the server did not start in time"
        raise RuntimeError(msg)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


@attrs.frozen
class Load:
    """One wrk run: where, which paths, how many connections, for how long, how many."""

    base: str
    folder: Path
    name: str
    conns: int
    seconds: float
    limit: int

    def start(self) -> subprocess.Popen[str]:
        """Start wrk on CPU 1 (the script's figures come out on its stdout)."""
        script = self.folder / f"{self.name}.lua"
        paths = self.folder / f"{self.name}_paths.lua"
        script.write_text(_WRK_SCRIPT % {"paths": paths, "limit": self.limit}, encoding="utf-8")
        argv = ["taskset", "-c", "1", "wrk", "-t1", f"-c{self.conns}", f"-d{self.seconds:g}s"]
        argv += ["--timeout", "5s", "-s", str(script), self.base]
        return subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)  # noqa: S603

    def figures(self, process: subprocess.Popen[str]) -> dict[str, Any]:
        """Wait for wrk; its figures, with requests/s."""
        out, _ = process.communicate(timeout=self.seconds + 60)
        if process.returncode != 0:
            msg = f"wrk exited with {process.returncode}"
            raise RuntimeError(msg)
        line = next(x for x in out.splitlines() if x.startswith("WRKJSON "))
        raw = json.loads(line.removeprefix("WRKJSON "))
        return {
            "connections": self.conns,
            "requests": raw["requests"],
            "rps": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
            "p50_ms": raw["p50_us"] / 1000,
            "p90_ms": raw["p90_us"] / 1000,
            "p99_ms": raw["p99_us"] / 1000,
            "max_ms": raw["max_us"] / 1000,
            "non200": raw["non200"],
            "degraded": raw["degraded"],
            "checked": raw["checked"],
            "socket_errors": raw["socket_errors"] + raw["timeouts"],
        }

    def run(self) -> dict[str, Any]:
        """Run wrk to the end."""
        return self.figures(self.start())


def check_sample(base: str, expected: dict[str, str]) -> int:
    """Bodies over the socket that differ from the in-process build (should be 0)."""
    with httpx.Client(base_url=base, timeout=10.0) as client:
        return sum(
            client.get(f"/{token}/feeds").text != body for token, body in expected.items()
        )


def _overlap(job: dict[str, Any], start: datetime, end: datetime) -> float:
    began = datetime.fromisoformat(job["started_at"])
    finished = datetime.fromisoformat(job["finished_at"]) if job["finished_at"] else end
    return round(max(0.0, (min(finished, end) - max(began, start)).total_seconds()), 1)


def with_jobs(
    setup: dict[str, Any], folder: Path, seconds: float, limit: int
) -> dict[str, Any]:
    """Load at 64 connections while a first content sync and a sweep of every user run.

    Both are started through the admin routes a second into the load (the server's
    scheduler is off, so nothing ran before), after the same warm-up as the other runs.
    """
    copy = folder / "jobs.sqlite3"
    shutil.copyfile(setup["path"], copy)
    server = Server(copy, folder, jobs=False, admin=True)
    headers = {"x-admin-token": ADMIN_TOKEN}
    try:
        server.wait_ready()
        # Warm up as for the other runs: every user's first body is built, not reused.
        Load(server.base, folder, "personal", 16, seconds, len(setup["tokens"])).run()
        load = Load(server.base, folder, "personal", 64, seconds, limit)
        httpx.get(f"{server.base}/bench/stalls?reset", timeout=10)
        start = datetime.now(UTC)
        process = load.start()
        time.sleep(1.0)
        for what in ("content", "users"):
            httpx.post(f"{server.base}/admin/sync/{what}", headers=headers, timeout=30)
        run = load.figures(process)
        end = datetime.now(UTC)
        run["loop_stalls"] = httpx.get(f"{server.base}/bench/stalls", timeout=10).json()
        jobs = httpx.get(f"{server.base}/admin/jobs", headers=headers, timeout=30).json()["jobs"]
    finally:
        server.stop()
    run["jobs"] = {
        job["kind"]: {
            "state": job["state"],
            "overlap_s": _overlap(job, start, end),
            "progress": job["progress"],
        }
        for job in jobs
    }
    return run


def main(users: int, seconds: float, limit: int) -> dict[str, Any]:
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (Debian: apt-get install {tool})")
    with tempfile.TemporaryDirectory(prefix="feeds-http-") as tmp:
        folder = Path(tmp)
        setup = asyncio.run(prepare(folder, users))
        server = Server(setup["path"], folder, jobs=False)
        runs: dict[str, dict[int, dict[str, Any]]] = {"personal": {}, "constant": {}}
        try:
            server.wait_ready()
            mismatched = check_sample(server.base, setup["expected"])
            # Warm up: every token once (the first body of each user is built, not reused).
            Load(server.base, folder, "personal", 16, seconds, len(setup["tokens"])).run()
            for conns in CONNECTIONS:
                for name in ("constant", "personal"):
                    httpx.get(f"{server.base}/bench/stalls?reset", timeout=10)
                    run = Load(server.base, folder, name, conns, seconds, limit).run()
                    run["loop_stalls"] = httpx.get(f"{server.base}/bench/stalls", timeout=10).json()
                    runs[name][conns] = run
        finally:
            server.stop()
        fresh = Server(setup["path"], folder, jobs=False, reuse=False)
        try:
            fresh.wait_ready()
            mismatched += check_sample(fresh.base, setup["expected"])
            built = Load(fresh.base, folder, "personal", CONNECTIONS[-1], seconds, limit).run()
        finally:
            fresh.stop()
        loaded = with_jobs(setup, folder, seconds * 2, limit * 2)
    top = CONNECTIONS[-1]
    personal, constant = runs["personal"][top], runs["constant"][top]
    ratio = round(personal["rps"] / constant["rps"], 3)
    figures: dict[str, Any] = {
        "benchmark": "feeds_http",
        "users": users,
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "setup_s": setup["setup_s"],
        "body_bytes_mean": setup["body_bytes_mean"],
        "constant_bytes": setup["constant_bytes"],
        "sample_mismatches": mismatched,
        "personal": {str(c): r for c, r in runs["personal"].items()},
        "constant": {str(c): r for c, r in runs["constant"].items()},
        "ratio_64": ratio,
        "personal_no_reuse_64": built,
        "with_jobs_64": loaded,
    }
    figures["meets_target"] = (
        ratio >= TARGET_RATIO
        and personal["rps"] >= TARGET_RPS
        and personal["p99_ms"] < TARGET_P99_MS
        and personal["non200"] == personal["degraded"] == personal["socket_errors"] == 0
        and mismatched == 0
        and loaded["p99_ms"] < TARGET_P99_JOBS_MS
        and loaded["non200"] == loaded["degraded"] == 0
    )
    return figures


def report(figures: dict[str, Any]) -> None:
    print(
        f"/feeds over HTTP: uvicorn + the example app on CPU 0, wrk on CPU 1, SQLite state of"
        f" {figures['users']:,} users (load average {figures['load_average']})"
    )
    print(f"  {'path':26}{'conns':>6}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'non200':>8}"
          f"{'degraded':>10}")
    rows = [("/{token}/feeds", figures["personal"]), ("/bench/constant", figures["constant"])]
    for label, by_conns in rows:
        for conns, run in by_conns.items():
            print(f"  {label:26}{conns:>6}{run['rps']:>10.0f}{run['p50_ms']:>9.2f}"
                  f"{run['p99_ms']:>9.2f}{run['non200']:>8}{run['degraded']:>10}")
    built = figures["personal_no_reuse_64"]
    print(f"  {'/{token}/feeds, no reuse':26}{64:>6}{built['rps']:>10.0f}{built['p50_ms']:>9.2f}"
          f"{built['p99_ms']:>9.2f}{built['non200']:>8}{built['degraded']:>10}")
    jobs = figures["with_jobs_64"]
    print(f"  {'/{token}/feeds + jobs':26}{64:>6}{jobs['rps']:>10.0f}{jobs['p50_ms']:>9.2f}"
          f"{jobs['p99_ms']:>9.2f}{jobs['non200']:>8}{jobs['degraded']:>10}")
    print(f"    the server's loop stalled > 50 ms {jobs['loop_stalls']['over_50ms']} times"
          f" (max {jobs['loop_stalls']['max_ms']} ms) during that run")
    for kind, job in jobs["jobs"].items():
        print(f"    {kind}: {job['state']}, overlapped the load for {job['overlap_s']} s,"
              f" progress {job['progress']}")
    print(f"  personalized / constant at 64 connections: {figures['ratio_64']:.2f}"
          f" (target >= {TARGET_RATIO}); >= {TARGET_RPS:.0f} req/s, p99 < {TARGET_P99_MS} ms,"
          f" with jobs p99 < {TARGET_P99_JOBS_MS} ms; sample bodies differing from the"
          f" in-process build: {figures['sample_mismatches']}")
    print(f"  {'meets' if figures['meets_target'] else 'MISSES'} the acceptance targets")
    print(json.dumps(figures))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--max-requests", type=int, default=200_000)
    args = parser.parse_args()
    report(main(args.users, args.seconds, args.max_requests))
