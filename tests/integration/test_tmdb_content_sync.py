"""ContentSync end to end over real HTTP: the TMDB adapter against a local replay of TMDB.

The replay server (``reclio.testing.tmdb_server``) runs on 127.0.0.1 and answers from the
committed cassette of real TMDB bodies (tests/adapters/tmdb/cassettes/tmdb_catalog.yaml):
the real ranked lists and change pages, the real details of Fight Club, Game of Thrones and
Rock Crystal, and TMDB's 404 for every other id (the samples hold no other details).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from vcr.serialize import deserialize
from vcr.serializers import yamlserializer

from reclio.adapters.local import LocalRecommender
from reclio.adapters.memory import ExactVectorIndex, HashingEmbedder, InMemoryStateStore
from reclio.adapters.shared_index import IndexSlot
from reclio.adapters.tmdb import TmdbCatalogSource, TmdbConfig
from reclio.config import HttpPolicy
from reclio.domain import Interaction, InteractionKind, ItemRef, UserHistory, UserState
from reclio.ports import CandidateList
from reclio.sync import ContentSync, ContentSyncConfig
from reclio.testing.tmdb_server import Answer, FakeTmdbServer

CASSETTE = Path(__file__).resolve().parents[1] / "adapters/tmdb/cassettes/tmdb_catalog.yaml"
NOT_FOUND = {"success": False, "status_code": 34, "status_message": "not found"}
KNOWN = (ItemRef.movie(550), ItemRef.tv(1399), ItemRef.movie(12313))
START = datetime(2026, 5, 1, 6, 0, tzinfo=UTC)


class Replay:
    """Routes requests to the cassette's bodies by path; counts every path asked."""

    def __init__(self) -> None:
        requests, responses = deserialize(CASSETTE.read_text(encoding="utf-8"), yamlserializer)
        self.bodies = {
            urlsplit(r.uri).path.removeprefix("/3"): (a["status"]["code"], a["body"]["string"])
            for r, a in zip(requests, responses, strict=True)
        }
        self.asked: Counter[str] = Counter()

    def __call__(self, path: str, query: dict[str, str]) -> Answer:
        self.asked[path] += 1
        found = self.bodies.get(path)
        if found is None:
            return Answer(404, NOT_FOUND)
        status, text = found
        body = json.loads(text)
        if query.get("page", "1") != "1":  # the samples are page 1 of each list
            body = {**body, "page": int(query["page"]), "results": []}
        return Answer(status, body)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


async def watched(store: InMemoryStateStore, user_id: str, refs) -> None:
    """A user whose history (what user sync keeps) holds these views."""
    views = [Interaction(user_id, ref, InteractionKind.VIEW, START) for ref in refs]
    await store.save_user(UserState(user_id), history=UserHistory().with_views(views))


@pytest.mark.anyio
async def test_content_sync_over_http_stores_pushes_and_embeds_the_real_titles():
    """Real titles are fetched once each, stored, pushed, embedded; a 404 is never retried."""
    replay = Replay()
    clock = Clock()
    store = InMemoryStateStore(clock=clock)
    await watched(store, "u1", [*KNOWN, ItemRef.movie(777)])
    recommender = LocalRecommender()
    slot = IndexSlot(ExactVectorIndex)
    with FakeTmdbServer(replay) as server:
        tmdb = TmdbCatalogSource(
            TmdbConfig("replay-token", base_url=server.base_url, requests_per_second=500),
            policy=HttpPolicy(max_attempts=3, backoff_initial=0.01),
        )
        sync = ContentSync(
            catalog=tmdb,
            recommender=recommender,
            embedder=HashingEmbedder(64),
            store=store,
            index=slot,
            config=ContentSyncConfig(pages={CandidateList.POPULAR: 2, CandidateList.TRENDING: 1}),
            clock=clock,
        )
        report = await sync.run()
        first_asks = Counter(replay.asked)

        clock.now += timedelta(days=1)
        second = await sync.run()
        await tmdb.aclose()

    stored = {r.title.ref: r for r in await store.get_titles(list(KNOWN))}
    assert set(stored) == set(KNOWN)
    fight_club = stored[ItemRef.movie(550)].title
    assert (fight_club.title, fight_club.year, fight_club.director) == (
        "Fight Club",
        1999,
        "David Fincher",
    )
    assert fight_club.cast[:2] == ("Edward Norton", "Brad Pitt")
    assert stored[ItemRef.tv(1399)].title.director == "David Benioff"
    for record in stored.values():
        assert record.content_hash == record.title.content_hash()
        assert record.synced_hash == record.content_hash
        assert record.embedded_hash == record.title.text_hash(HashingEmbedder(64).identity)
    assert (report.fetched, report.pushed, report.embedded) == (3, 3, 3)
    assert report.failed == 0
    assert len(slot) == 3

    # One request per candidate: every 404 (list titles the samples lack, movie 777) once.
    details = {p: n for p, n in first_asks.items() if p.rsplit("/", 1)[-1].isdigit()}
    assert details, first_asks
    assert set(details.values()) == {1}
    assert "/movie/777" in details
    assert first_asks["/movie/popular"] == 2  # page 1, then page 2 came back empty
    assert server.rate_limited == 0

    # The second run reads the change feed; stored, unchanged titles are not fetched again.
    asks = replay.asked - first_asks
    assert asks["/movie/changes"] >= 1
    assert asks["/tv/changes"] >= 1
    assert all(asks[f"/{r.media_type.value}/{r.tmdb_id}"] == 0 for r in KNOWN)
    assert second.pushed == 0
    assert second.embedded == 0
