"""How many requests, and how long, does reclio spend on Recombee? Against a local Recombee.

The real SDK talks to reclio.testing.recombee_server.LocalRecombee over loopback (plain HTTP,
HMAC-signed like production), so the figures count what reclio sends; wall times leave out
Recombee's own processing and the internet. Measured:

* a content push of 10,000 titles: RecombeeRecommender.upsert_items alone (batch 500), and
  a whole ContentSync (in-memory catalog and state, hashing embedder) with its default
  batch of 100 titles per recommender write and with 500;
* HTTP requests per 1,000 titles pushed, next to one request per title (the SDK without
  Batch) and the original service's chunk of 500;
* requests of a first and of an incremental user sync (200 views, 30 ratings, 10 bookmarks);
* requests and time of ``diagnose_recombee`` on the 10,000 synced titles.

Ends with one JSON line of the figures.

Run: python benchmarks/recombee_push.py [--titles 10000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import statistics
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from reclio.adapters.memory import (
    ExactVectorIndex,
    HashingEmbedder,
    InMemoryCatalogSource,
    InMemoryInteractionSource,
    InMemoryListSink,
    InMemoryStateStore,
)
from reclio.adapters.recombee import RecombeeConfig, RecombeeRecommender, sdk_version
from reclio.adapters.shared_index import IndexSlot
from reclio.diagnostics import diagnose_recombee
from reclio.domain import Genre, ItemRef, MediaType, Title
from reclio.ports import CandidateList
from reclio.sync import ContentSync, ContentSyncConfig, UserSync, UserSyncConfig
from reclio.testing.recombee_server import LocalRecombee

TOKEN = "benchmark-token-0123456789abcdefghijklmnopqrstuvwxyz"  # noqa: S105 - local server
NOW = datetime(2026, 6, 1, tzinfo=UTC)
WORDS = ("space", "crime", "love", "war", "town", "family", "ship", "city")


def make_titles(count: int) -> list[Title]:
    rng = random.Random(7)
    genres = [Genre(18, "Drama"), Genre(35, "Comedy"), Genre(28, "Action"), Genre(878, "Sci-Fi")]
    return [
        Title(
            ItemRef(MediaType.MOVIE if n % 3 else MediaType.TV, n),
            f"Title {n}",
            overview=" ".join(rng.choice(WORDS) for _ in range(25)),
            genres=rng.sample(genres, 2),
            year=1970 + n % 55,
            vote_average=round(rng.uniform(4, 9), 1),
            vote_count=rng.randint(10, 20_000),
            popularity=rng.uniform(1, 500),
            cast=tuple(f"Actor {rng.randint(1, 5000)}" for _ in range(5)),
            director=f"Director {rng.randint(1, 800)}",
        )
        for n in range(1, count + 1)
    ]


def config(server: LocalRecombee, database: str, batch_size: int = 500) -> RecombeeConfig:
    return RecombeeConfig(database, TOKEN, base_uri=server.base_uri, batch_size=batch_size)


def fresh(server: LocalRecombee, name: str) -> str:
    server.add_database(name, TOKEN)
    server.reset_counters()
    return name


async def adapter_push(server: LocalRecombee, titles: list[Title], run: int) -> dict[str, float]:
    database = fresh(server, f"adapter-{run}")
    recommender = RecombeeRecommender(config(server, database))
    await recommender.ensure_schema()
    server.reset_counters()
    started = time.perf_counter()
    result = await recommender.upsert_items(titles)
    elapsed = time.perf_counter() - started
    await recommender.aclose()
    if result.failed:
        raise RuntimeError(f"push failed: {result.failed[:3]}")
    return {"seconds": elapsed, "requests": len(server.requests)}


def content_sync(
    recommender: RecombeeRecommender,
    store: InMemoryStateStore,
    titles: list[Title],
    batch_size: int,
) -> ContentSync:
    return ContentSync(
        catalog=InMemoryCatalogSource(titles, page_size=len(titles)),
        recommender=recommender,
        embedder=HashingEmbedder(64),
        store=store,
        index=IndexSlot(ExactVectorIndex),
        config=ContentSyncConfig(
            pages={CandidateList.POPULAR: 1},
            batch_size=batch_size,
            max_new_per_run=len(titles),
            include_history=False,
            worker_id="bench",
        ),
    )


async def full_content_sync(
    server: LocalRecombee, titles: list[Title], run: int, batch_size: int
) -> dict[str, object]:
    database = fresh(server, f"content-{batch_size}-{run}")
    recommender = RecombeeRecommender(config(server, database))
    store = InMemoryStateStore()
    started = time.perf_counter()
    report = await content_sync(recommender, store, titles, batch_size).run()
    elapsed = time.perf_counter() - started
    if report.pushed != len(titles):
        raise RuntimeError(f"content sync failed: {report.errors[:3]}")
    requests = len(server.requests)
    started = time.perf_counter()
    diagnosis = await diagnose_recombee(config(server, database), store)
    diagnose_s = time.perf_counter() - started
    await recommender.aclose()
    return {
        "seconds": elapsed,
        "requests": requests,
        "diagnose": diagnosis.verdict.value,
        "diagnose_requests": len(server.requests) - requests,
        "diagnose_ms": 1000 * diagnose_s,
    }


async def user_syncs(server: LocalRecombee, titles: list[Title]) -> dict[str, object]:
    database = fresh(server, "users")
    recommender = RecombeeRecommender(config(server, database))
    store = InMemoryStateStore(clock=lambda: NOW)
    await content_sync(recommender, store, titles, 500).run()
    source = InMemoryInteractionSource(clock=lambda: NOW)
    rng = random.Random(3)
    picked = rng.sample(titles, 240)
    for k, title in enumerate(picked[:200]):
        source.add_view("bench-user", title.ref, NOW - timedelta(days=400 - 2 * k))
    for k, title in enumerate(picked[:30]):
        source.add_rating("bench-user", title.ref, 1 + k % 10, NOW - timedelta(days=100 - k))
    for k, title in enumerate(picked[200:210]):
        source.add_bookmark("bench-user", title.ref, NOW - timedelta(days=10 - k))
    clock = [NOW]
    sync = UserSync(
        interactions=source,
        recommender=recommender,
        sink=InMemoryListSink(),
        store=store,
        index=IndexSlot(ExactVectorIndex),
        config=UserSyncConfig(worker_id="bench"),
        clock=lambda: clock[0],
    )
    figures: dict[str, object] = {}
    for name, step in (("first", None), ("incremental", 5), ("unchanged", 0)):
        if step:
            clock[0] += timedelta(hours=6)
            for title in picked[210 : 210 + step]:
                source.add_view("bench-user", title.ref, clock[0] - timedelta(hours=1))
        elif step == 0:
            clock[0] += timedelta(hours=1)
        server.reset_counters()
        started = time.perf_counter()
        report = await sync.sync("bench-user")
        elapsed = time.perf_counter() - started
        kinds = Counter(
            "batch" if r.path == "/batch/" else r.path.split("/")[1] + "/" + r.path.split("/")[2]
            for r in server.requests
        )
        figures[name] = {
            "requests": len(server.requests),
            "by_kind": dict(sorted(kinds.items())),
            "batch_members": server.batch_members,
            "pushed": report.pushed,
            "ms": round(1000 * elapsed, 1),
        }
    await recommender.aclose()
    return figures


async def main(count: int, repeats: int) -> dict[str, object]:
    titles = make_titles(count)
    with LocalRecombee() as server:
        adapter = [await adapter_push(server, titles, run) for run in range(repeats)]
        sync100 = [await full_content_sync(server, titles, run, 100) for run in range(repeats)]
        sync500 = [await full_content_sync(server, titles, run, 500) for run in range(repeats)]
        users = await user_syncs(server, titles[:2000])

    def median(rows: list[dict[str, object]], key: str) -> float:
        return round(statistics.median(float(row[key]) for row in rows), 3)  # type: ignore[arg-type]

    per_thousand = 1000 / count
    return {
        "benchmark": "recombee_push",
        "sdk": sdk_version(),
        "python": platform.python_version(),
        "titles": count,
        "repeats": repeats,
        "adapter_push_s": median(adapter, "seconds"),
        "adapter_requests_per_1000": round(median(adapter, "requests") * per_thousand, 2),
        "content_sync_s": median(sync100, "seconds"),
        "content_sync_requests_per_1000": round(median(sync100, "requests") * per_thousand, 2),
        "content_sync_batch500_s": median(sync500, "seconds"),
        "content_sync_batch500_requests_per_1000": round(
            median(sync500, "requests") * per_thousand, 2
        ),
        "unbatched_requests_per_1000": 1000,
        "diagnose_verdict": sync100[0]["diagnose"],
        "diagnose_requests": sync100[0]["diagnose_requests"],
        "diagnose_ms": median(sync100, "diagnose_ms"),
        "user_sync": users,
    }


def report(figures: dict[str, object]) -> None:
    count = figures["titles"]
    print(f"Recombee pushes against a local Recombee (SDK {figures['sdk']}), {count:,} titles,")
    print(f"median of {figures['repeats']} runs each:")
    print(
        f"  upsert_items alone (batch 500):        {figures['adapter_push_s']:>7.2f} s   "
        f"{figures['adapter_requests_per_1000']:>6} requests / 1,000 titles"
    )
    print(
        f"  ContentSync, default batch 100:        {figures['content_sync_s']:>7.2f} s   "
        f"{figures['content_sync_requests_per_1000']:>6} requests / 1,000 titles"
    )
    batch500 = figures["content_sync_batch500_s"]
    print(
        f"  ContentSync, batch 500:                {batch500:>7.2f} s   "
        f"{figures['content_sync_batch500_requests_per_1000']:>6} requests / 1,000 titles"
    )
    print(
        f"  compare: one request per title = {figures['unbatched_requests_per_1000']} per 1,000;"
        " the original service's chunk of 500 = 2 per 1,000"
    )
    print(
        f"  diagnose on {count:,} synced titles: {figures['diagnose_verdict']} in "
        f"{figures['diagnose_requests']} requests, {figures['diagnose_ms']:.0f} ms"
    )
    print("User sync (200 views, 30 ratings, 10 bookmarks):")
    for name, row in figures["user_sync"].items():  # type: ignore[union-attr]
        print(
            f"  {name:12} {row['requests']:>3} requests ({row['batch_members']} batch members,"
            f" {row['pushed']} pushed) {row['by_kind']}"
        )
    print(json.dumps(figures))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--titles", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    report(asyncio.run(main(args.titles, args.repeats)))
