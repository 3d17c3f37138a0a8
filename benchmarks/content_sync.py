"""Content sync through the TMDB adapter against a local fake TMDB: is it fast and polite?

The fake (reclio.testing.tmdb_server, in its own process so it never competes with the client
for the GIL) answers on 127.0.0.1 with 50 ms latency per request and a limit of 40 requests
in any one second, beyond which it answers 429 with Retry-After. It serves a generated catalog
of N titles (half movies, half shows) on its popular lists, plus one page of each other list
(titles already on the popular lists), and an empty change feed.

For N = 1,000 and then 10,000, a fresh client process runs ContentSync (TMDB adapter with the
default rate of 40/s, SQLite state file, LocalRecommender, hashing embedder, exact index)
twice: the first run must store every title; the second, with nothing changed upstream, must
make no detail request. Figures: achieved requests/s as a fraction of the limit (server side,
first run), requests per title, 429s, lost titles, peak RSS of the client process.

Acceptance: throughput >= 0.9 of the limit with zero lost titles; requests per title <= 1.0
plus list and changes pages; peak RSS at 10,000 within 1.5x of that at 1,000; no detail
request in the second run.

Run: python benchmarks/content_sync.py [--sizes 1000 10000] (about six minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping

LIMIT = 40.0
LATENCY = 0.05
PAGE = 20
OTHER_LISTS = ("/top_rated", "/trending/{m}/week", "/now_playing", "/on_the_air")


# -- the fake TMDB (server process) ----------------------------------------------------------


def details(media: str, tmdb_id: int) -> dict:
    rng = random.Random(f"{media}{tmdb_id}")
    cast = [
        {"id": rng.randrange(10**6), "name": f"Actor {rng.randrange(5000)}", "order": n}
        for n in range(15)
    ]
    crew = [{"name": f"Crew {rng.randrange(5000)}", "job": "Producer"} for _ in range(8)]
    crew.append({"name": f"Director {tmdb_id}", "job": "Director"})
    body = {
        "id": tmdb_id,
        "overview": " ".join(f"word{rng.randrange(3000)}" for _ in range(40)),
        "genres": [{"id": 18, "name": "Drama"}, {"id": 35, "name": "Comedy"}],
        "vote_average": round(rng.uniform(3, 9), 3),
        "vote_count": rng.randrange(10, 30000),
        "popularity": round(rng.uniform(1, 500), 3),
        "credits": {"cast": cast, "crew": crew},
    }
    if media == "movie":
        body |= {"title": f"Movie {tmdb_id}", "release_date": f"{1950 + tmdb_id % 70}-05-01"}
        body["runtime"] = 90 + tmdb_id % 60
    else:
        body |= {"name": f"Show {tmdb_id}", "first_air_date": f"{1990 + tmdb_id % 30}-09-01"}
        body |= {"episode_run_time": [45], "created_by": [{"name": f"Creator {tmdb_id}"}]}
    return body


def make_route(per_media: int):  # noqa: ANN201 - a Route
    from reclio.testing.tmdb_server import Answer  # noqa: PLC0415

    pages = -(-per_media // PAGE)

    def page_of(ids: list[int], page: int, total: int) -> dict:
        return {"page": page, "results": [{"id": i} for i in ids], "total_pages": total}

    def route(path: str, query: Mapping[str, str]) -> Answer:
        parts = path.strip("/").split("/")
        page = int(query.get("page", "1"))
        if len(parts) == 2 and parts[1].isdigit():  # details
            tmdb_id = int(parts[1])
            if 1 <= tmdb_id <= per_media:
                return Answer(200, details(parts[0], tmdb_id))
            return Answer(404, {"success": False, "status_code": 34})
        if parts[-1] == "changes":
            return Answer(200, page_of([], page, 1))
        if parts[-1] == "popular":
            first = (page - 1) * PAGE + 1
            ids = list(range(first, min(first + PAGE, per_media + 1)))
            return Answer(200, page_of(ids, page, pages))
        # The other lists: one page of titles that are also on the popular lists.
        ids = list(range(1, per_media + 1, max(1, per_media // PAGE)))[:PAGE]
        return Answer(200, page_of(ids if page == 1 else [], page, 1))

    return route


def serve(per_media: int) -> None:
    from reclio.testing.tmdb_server import FakeTmdbServer  # noqa: PLC0415

    server = FakeTmdbServer(make_route(per_media), latency=LATENCY, requests_per_second=LIMIT)
    server.start()
    print(server.base_url, flush=True)
    for line in sys.stdin:  # one command per line from the benchmark
        if line.strip() == "stats":
            stats = {
                "requests": dict(server.requests),
                "rate_limited": server.rate_limited,
                "spans": server.spans,
                "span": (server.last_at or 0) - (server.first_at or 0),
            }
            print(json.dumps(stats), flush=True)
        elif line.strip() == "reset":
            server.reset_counts()
            print("{}", flush=True)
    server.stop()


# -- the client (one process per size) -------------------------------------------------------


async def client(base_url: str, titles: int, state: str) -> dict:
    from reclio.adapters.local import LocalRecommender  # noqa: PLC0415
    from reclio.adapters.memory import ExactVectorIndex, HashingEmbedder  # noqa: PLC0415
    from reclio.adapters.shared_index import IndexSlot  # noqa: PLC0415
    from reclio.adapters.sqlite import SqliteStateStore  # noqa: PLC0415
    from reclio.adapters.tmdb import TmdbCatalogSource, TmdbConfig, tmdb_limiter  # noqa: PLC0415
    from reclio.config import HttpPolicy  # noqa: PLC0415
    from reclio.ports import CandidateList  # noqa: PLC0415
    from reclio.sync import ContentSync, ContentSyncConfig  # noqa: PLC0415

    config = TmdbConfig("benchmark-token", base_url=base_url)
    policy = HttpPolicy()
    tmdb = TmdbCatalogSource(config, policy=policy, limiter=tmdb_limiter(config, policy))
    store = SqliteStateStore(state)
    pages = dict.fromkeys(CandidateList, 1)
    pages[CandidateList.POPULAR] = -(-titles // 2 // PAGE)
    sync = ContentSync(
        catalog=tmdb,
        recommender=LocalRecommender(),
        embedder=HashingEmbedder(64),
        store=store,
        index=IndexSlot(ExactVectorIndex),
        config=ContentSyncConfig(pages=pages, max_new_per_run=titles * 2),
    )
    started = time.perf_counter()
    first = await sync.run()
    first_seconds = time.perf_counter() - started
    stored = 0
    async for batch in store.iter_titles():
        stored += len(batch)
    command("stats_first")
    second = await sync.run()
    await tmdb.aclose()
    await store.aclose()
    return {
        "first": {"fetched": first.fetched, "failed": first.failed, "seconds": first_seconds},
        "second": {"fetched": second.fetched, "failed": second.failed},
        "stored": stored,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def command(name: str) -> None:
    """Tell the parent (over stdout) that a phase ended, so it can read the server's counts."""
    print(json.dumps({"phase": name}), flush=True)
    sys.stdin.readline()


# -- the benchmark ---------------------------------------------------------------------------


def run_size(titles: int) -> dict:
    per_media = titles // 2
    server = subprocess.Popen(  # noqa: S603 - this very script
        [sys.executable, __file__, "--serve", str(per_media)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdin is not None  # noqa: S101
    assert server.stdout is not None  # noqa: S101
    base_url = server.stdout.readline().strip()

    def stats() -> dict:
        server.stdin.write("stats\n")  # type: ignore[union-attr]
        server.stdin.flush()  # type: ignore[union-attr]
        return json.loads(server.stdout.readline())  # type: ignore[union-attr]

    with tempfile.TemporaryDirectory() as folder:
        child = subprocess.Popen(  # noqa: S603 - this very script
            [sys.executable, __file__, "--client", base_url, str(titles), f"{folder}/s.sqlite3"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdin is not None  # noqa: S101
        assert child.stdout is not None  # noqa: S101
        first_stats = None
        result = None
        for line in child.stdout:
            message = json.loads(line)
            if message.get("phase") == "stats_first":
                first_stats = stats()
                server.stdin.write("reset\n")
                server.stdin.flush()
                server.stdout.readline()
                child.stdin.write("\n")
                child.stdin.flush()
            else:
                result = message
        child.wait()
    second_stats = stats()
    server.stdin.close()
    server.wait(timeout=10)
    assert first_stats is not None  # noqa: S101
    assert result is not None  # noqa: S101
    return summarize(titles, result, first_stats, second_stats)


def summarize(titles: int, result: dict, first: dict, second: dict) -> dict:
    requests = first["requests"]
    detail = requests.get("movie", 0) + requests.get("tv", 0)
    total = sum(requests.values())
    rate = (total - 1) / first["span"] if first["span"] > 0 else 0.0
    second_detail = second["requests"].get("movie", 0) + second["requests"].get("tv", 0)
    spans = [first["spans"][k] for k in ("movie", "tv") if k in first["spans"]]
    detail_span = max(e for _, e in spans) - min(b for b, _ in spans) if spans else 0.0
    detail_rate = (detail - 1) / detail_span if detail_span > 0 else 0.0
    return {
        "titles": titles,
        "seconds": round(result["first"]["seconds"], 1),
        "requests": total,
        "detail_requests": detail,
        "list_and_change_pages": total - detail,
        "requests_per_title": round(total / titles, 4),
        "detail_requests_per_title": round(detail / titles, 4),
        "throughput_fraction": round(rate / LIMIT, 3),
        "detail_phase_throughput_fraction": round(detail_rate / LIMIT, 3),
        "rate_limited_429": first["rate_limited"] + second["rate_limited"],
        "lost_titles": titles - result["stored"],
        "failed": result["first"]["failed"],
        "second_run_detail_requests": second_detail,
        "peak_rss_mb": round(result["peak_rss_mb"], 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--client", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve)
        return 0
    if args.client is not None:
        base_url, titles, state = args.client
        print(json.dumps(asyncio.run(client(base_url, int(titles), state))), flush=True)
        return 0

    print(f"fake TMDB: {LATENCY * 1000:.0f} ms per request, {LIMIT:.0f} requests/s, 429 beyond")
    runs = []
    for titles in args.sizes:
        run = run_size(titles)
        runs.append(run)
        print(
            f"{titles:>6} titles: {run['seconds']:>6.1f} s, {run['requests']} requests"
            f" ({run['detail_requests']} details + {run['list_and_change_pages']} list/change"
            f" pages), {run['throughput_fraction']:.3f} of the limit overall"
            f" ({run['detail_phase_throughput_fraction']:.3f} while fetching details),"
            f" {run['rate_limited_429']} 429s, {run['lost_titles']} lost,"
            f" second run {run['second_run_detail_requests']} detail requests,"
            f" peak RSS {run['peak_rss_mb']:.1f} MB"
        )
    small, large = runs[0], runs[-1]
    memory_ratio = large["peak_rss_mb"] / small["peak_rss_mb"]
    checks = {
        "throughput_at_least_0.9": all(r["throughput_fraction"] >= 0.9 for r in runs),
        "no_lost_titles": all(r["lost_titles"] == 0 for r in runs),
        "one_detail_request_per_title": all(r["detail_requests_per_title"] <= 1.0 for r in runs),
        "memory_within_1.5x": memory_ratio <= 1.5,
        "second_run_no_detail_request": all(r["second_run_detail_requests"] == 0 for r in runs),
    }
    for name, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'} {name}")
    print(f"peak RSS {large['titles']} / {small['titles']} titles: {memory_ratio:.2f}x")
    figures = {
        "benchmark": "content_sync",
        "limit_rps": LIMIT,
        "latency_ms": LATENCY * 1000,
        "runs": runs,
        "memory_ratio": round(memory_ratio, 3),
        "checks": checks,
    }
    print(json.dumps(figures))
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
