"""User sync through the Trakt adapters against a local fake Trakt: calls and time per sync.

The fake (reclio.testing.trakt_server, on 127.0.0.1) answers every request after a fixed
latency (default 100 ms), accepts one write per second per user (a faster one is answered
429), holds a free account's 2026 limits (5 lists of 250 items), and answers list reads as
they were ``--lag`` seconds earlier (Trakt's lists are not read-your-writes).

One user with 3,000 plays (movies and episodes), 20 ratings, 5 watchlist entries and 3
paused titles is synced through the composition root (Trakt source and sink, in-memory
store, local recommender, hashing embedder, exact index over a generated catalog):

1. **new**: the first sync (every category, every page, every managed list created);
2. **unchanged**: an immediate second sync;
3. **lightly changed**: one new play (of the top Recommended movie, which must then leave
   that list), after the list reads have caught up with the writes.

Figures per sync: Trakt GETs and writes (server side), 429s, wall time, and the write
spacing seen by the server. Acceptance: the 3,000 plays are all pushed (12 history pages);
the unchanged sync is exactly one GET; the lightly changed sync reads no ratings, watchlist
or playback; no write is refused (no 429, no 420) and no two writes of the user arrive less
than a second apart.

Run: python benchmarks/trakt_sync.py [--latency 0.1] [--lag 2] (about 40 seconds).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from reclio import bootstrap
from reclio.adapters.local import LocalRecommender, LocalRecommenderConfig
from reclio.adapters.memory import (
    ExactVectorIndex,
    HashingEmbedder,
    InMemoryCatalogSource,
    InMemoryStateStore,
)
from reclio.adapters.trakt import (
    TraktConfig,
    TraktInteractionSource,
    TraktListSink,
    TraktSession,
    TraktWritePacer,
)
from reclio.config import ReclioConfig
from reclio.domain import Genre, ItemRef, ManagedListKind, MediaType, Title, genre_name
from reclio.sync import UserSyncConfig
from reclio.testing.trakt_server import FakeTraktServer

USER = "nora"
PLAYS = 3000
GENRES = {MediaType.MOVIE: (28, 18, 35, 878, 27), MediaType.TV: (18, 35, 80, 10765, 9648)}


def catalog(movies: int = 600, shows: int = 400) -> list[Title]:
    rng = random.Random(11)
    titles = []
    for media, count in ((MediaType.MOVIE, movies), (MediaType.TV, shows)):
        for n in range(1, count + 1):
            ids = rng.sample(GENRES[media], 2)
            titles.append(
                Title(
                    ref=ItemRef(media, n),
                    title=f"{media.noun} {n}",
                    overview=" ".join(f"w{rng.randrange(400)}" for _ in range(20)),
                    genres=[Genre(i, genre_name(media, i) or str(i)) for i in ids],
                    year=1980 + n % 45,
                    vote_average=5 + n % 5,
                    vote_count=50 * n,
                    popularity=1000 / n,
                )
            )
    return titles


def seed(trakt: FakeTraktServer) -> None:
    trakt.add_user(USER)
    rng = random.Random(5)
    start = datetime.now(UTC) - timedelta(days=900)
    trakt.add_history(
        USER,
        [
            (
                "movie" if n % 3 else "episode",
                rng.randrange(1, 150) if n % 3 else rng.randrange(1, 100),
                start + timedelta(minutes=400 * n + rng.randrange(300)),
            )
            for n in range(PLAYS)
        ],
    )
    recent = datetime.now(UTC) - timedelta(days=2)
    for n in range(20):
        kind = "movie" if n % 2 else "show"
        trakt.add_rating(USER, kind, 1 + n * 7, 3 + n % 8, recent - timedelta(hours=n))
    for n in range(5):
        trakt.add_watchlist(USER, "movie", 250 + n, recent)
    for n in range(3):
        trakt.add_playback(USER, "movie" if n else "episode", 10 + n, 30.0 + n, recent)


async def run(latency: float, lag: float) -> dict[str, Any]:
    with FakeTraktServer(write_interval=1.0, read_lag=lag, latency=latency) as trakt:
        seed(trakt)
        store = InMemoryStateStore()
        await store.put_token(USER, "trakt", trakt.oauth_token(USER))
        config = TraktConfig(trakt.client_id, trakt.client_secret, base_url=trakt.base_url)
        session = TraktSession(config, store=store, pacer=TraktWritePacer(config.writes_per_second))
        runtime = bootstrap.build(
            ReclioConfig.embedded_default(),
            store=store,
            catalog=InMemoryCatalogSource(catalog()),
            interactions=TraktInteractionSource(session),
            recommender=LocalRecommender(LocalRecommenderConfig()),
            sink=TraktListSink(session),
            embedder=HashingEmbedder(64),
            index=ExactVectorIndex,
            user_sync=UserSyncConfig(worker_id="bench"),
        )
        await runtime.content_sync.run()
        figures: dict[str, Any] = {}

        async def measure(name: str) -> None:
            before = len(trakt.requests)
            writes_before = len(trakt.account(USER).write_times)
            began = time.perf_counter()
            report = await runtime.user_sync.sync(USER)
            seconds = time.perf_counter() - began
            made = trakt.requests[before:]
            gaps = trakt.write_gaps(USER)[max(writes_before - 1, 0) :]
            figures[name] = {
                "gets": sum(1 for m, _, _ in made if m == "GET"),
                "writes": sum(1 for m, p, _ in made if m == "POST" and not p.startswith("/oauth")),
                "history_pages": sum(1 for _, p, _ in made if p == "/sync/history"),
                "other_category_reads": sum(
                    1
                    for _, p, _ in made
                    if p.startswith(("/sync/ratings", "/sync/watchlist", "/sync/playback"))
                ),
                "refused": sum(1 for _, _, s in made if s in (420, 429)),
                "seconds": round(seconds, 2),
                "min_write_gap": round(min(gaps), 3) if gaps else None,
                "pushed": report.pushed,
                "ok": report.ok,
            }

        await measure("new")
        await measure("unchanged")
        await asyncio.sleep(lag + 0.5)  # the list reads catch up with the writes
        # The new play is the top Recommended movie: watched, it leaves the list (a diff).
        top = trakt.list_titles(USER, ManagedListKind.RECOMMENDED_MOVIES.list_name)
        watched = int(top[0].split(":")[1]) if top else 42
        trakt.add_history(USER, [("movie", watched, datetime.now(UTC) - timedelta(minutes=3))])
        await measure("lightly_changed")
        figures["lists"] = len(trakt.list_names(USER))
        figures["rate_limited_writes"] = trakt.rate_limited_writes
        figures["limit_refusals"] = trakt.limit_refusals
        await session.aclose()
        return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per request")
    parser.add_argument("--lag", type=float, default=2.0, help="seconds list reads lag writes")
    args = parser.parse_args()
    figures = asyncio.run(run(args.latency, args.lag))
    print(
        f"fake Trakt: {args.latency * 1000:.0f} ms per request, 1 write/s per user,"
        f" list reads {args.lag:g} s behind writes; {PLAYS} plays"
    )
    print(
        f"{'sync':<16} {'GETs':>5} {'writes':>6} {'history pages':>13} {'429/420':>7}"
        f" {'wall s':>7} {'min gap s':>9}"
    )
    for name in ("new", "unchanged", "lightly_changed"):
        row = figures[name]
        print(
            f"{name:<16} {row['gets']:>5} {row['writes']:>6} {row['history_pages']:>13}"
            f" {row['refused']:>7} {row['seconds']:>7} {row['min_write_gap'] or '-':>9}"
        )
    new, unchanged, light = (figures[k] for k in ("new", "unchanged", "lightly_changed"))
    checks = {
        "all 3,000 plays pushed on 12 pages": new["history_pages"] == 12
        and int(new["pushed"]) >= PLAYS,
        "unchanged costs exactly one GET": (unchanged["gets"], unchanged["writes"]) == (1, 0),
        "lightly changed reads only history": light["history_pages"] == 1
        and light["other_category_reads"] == 0,
        "no write refused": figures["rate_limited_writes"] == 0 and figures["limit_refusals"] == 0,
        "writes at least 1 s apart": all(
            r["min_write_gap"] is None or r["min_write_gap"] >= 1.0 for r in (new, light)
        ),
    }
    for name, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'} {name}")
    figures["pass"] = all(checks.values())
    print(json.dumps(figures))
    return 0 if figures["pass"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
