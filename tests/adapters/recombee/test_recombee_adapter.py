"""RecombeeRecommender against a local Recombee: schema, batches, codes, reads, deadlines."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from reclio.adapters.recombee import SCHEMA, RecombeeRecommender
from reclio.domain import Genre, Interaction, ItemRef, MediaType, Title
from reclio.errors import ConfigurationError, DecodeError, SourceError, SourceUnavailable

sdk = pytest.importorskip("recombee_api_client.api_client")
rq = pytest.importorskip("recombee_api_client.api_requests")

START = datetime(2026, 1, 1, tzinfo=UTC)


def raw_client(config, server):
    """The SDK's own client on the test database, for setting things up behind reclio."""
    host = server.base_uri.removeprefix("http://")
    return sdk.RecombeeClient(
        config.database_id, config.token, protocol="http", options={"base_uri": host}
    )


def titles(count: int, media_type: MediaType = MediaType.MOVIE) -> list[Title]:
    return [
        Title(
            ItemRef(media_type, n),
            f"Title {n}",
            overview="A story.",
            genres=[Genre(18, "Drama"), Genre(35, "Comedy")],
            year=2000 + n % 20,
            vote_average=7.5,
            popularity=float(n),
            cast=("Ann", "Bob"),
            director=None if n % 2 else "Dee",
        )
        for n in range(1, count + 1)
    ]


def batches(server) -> list[int]:
    """Members of each batch request served so far."""
    return [r.members for r in server.requests if r.path == "/batch/"]


# -- schema ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_first_write_creates_the_nine_properties(recombee, server, database):
    """The schema is created before the first item write, with DESIGN's types."""
    await recombee.upsert_items(titles(2))
    assert server.properties(database) == dict(SCHEMA)


@pytest.mark.anyio
async def test_schema_is_checked_once_per_instance(recombee, server):
    """Later writes do not list the properties again."""
    await recombee.upsert_items(titles(2))
    server.reset_counters()
    await recombee.upsert_items(titles(3))
    assert [r.path for r in server.requests] == ["/batch/"]


@pytest.mark.anyio
async def test_existing_schema_is_left_alone(recombee, make_config, server):
    """A second recommender finds every property and creates none."""
    await recombee.upsert_items(titles(1))
    other = RecombeeRecommender(make_config())
    server.reset_counters()
    assert await other.ensure_schema() == []
    assert [r.path for r in server.requests] == ["/items/properties/list/"]
    await other.aclose()


@pytest.mark.anyio
async def test_a_deleted_property_is_recreated_and_the_write_retried(recombee, server, database):
    """A property removed in the web UI is repaired; the refused titles are written again."""
    await recombee.upsert_items(titles(2))
    server.delete_property(database, "director")
    result = await recombee.upsert_items(titles(4))
    assert not result.failed
    assert set(result.ok) == {t.ref for t in titles(4)}
    assert server.properties(database)["director"] == "string"
    assert server.item_values(database, "movie_4")["director"] == "Dee"


@pytest.mark.anyio
async def test_a_property_of_the_wrong_type_is_refused_by_name(make_config, server, database):
    """A property with another type stops the write with a DecodeError naming it."""
    client = raw_client(make_config(), server)
    client.send(rq.AddItemProperty("year", "string"))
    recombee = RecombeeRecommender(make_config())
    with pytest.raises(DecodeError) as caught:
        await recombee.upsert_items(titles(1))
    assert any(line.startswith("year: string") for line in caught.value.errors)
    assert server.item_ids(database) == set()
    await recombee.aclose()


# -- item writes ----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_item_values_are_the_catalog_properties(recombee, server, database):
    """Each item holds exactly the nine properties, sets as lists, missing ones as null."""
    await recombee.upsert_items(titles(2))
    values = server.item_values(database, "movie_1")
    assert values == {
        "title": "Title 1",
        "overview": "A story.",
        "genres": ["Comedy", "Drama"],
        "year": 2001,
        "vote_average": 7.5,
        "popularity": 1.0,
        "media_type": "movie",
        "cast": ["Ann", "Bob"],
        "director": None,
    }


@pytest.mark.anyio
async def test_writes_go_in_batches_of_bounded_size(make_config, server, database):
    """35 titles with batch_size 10 are four batches of at most 10 members."""
    recombee = RecombeeRecommender(make_config(batch_size=10))
    await recombee.ensure_schema()
    server.reset_counters()
    result = await recombee.upsert_items(titles(35))
    assert batches(server) == [10, 10, 10, 5]
    assert len(result.ok) == 35
    assert len(server.item_ids(database)) == 35
    await recombee.aclose()


@pytest.mark.anyio
async def test_each_member_code_is_checked(recombee, server, database):
    """Members the service refused are failed with their code; the rest are confirmed."""
    await recombee.ensure_schema()
    server.fail_members(500, every=3)
    result = await recombee.upsert_items(titles(9))
    assert len(result.ok) == 6
    assert [ref for ref, _ in result.failed] == [ItemRef.movie(n) for n in (3, 6, 9)]
    assert all(reason == "HTTP 500: injected member failure" for _, reason in result.failed)
    assert server.item_ids(database) == {str(ref) for ref in result.ok}


@pytest.mark.anyio
async def test_a_failed_batch_fails_its_members_and_stops(make_config, server, database):
    """After a confirmed batch, a failing one fails the rest, which are not sent at all."""
    recombee = RecombeeRecommender(make_config(batch_size=5))
    await recombee.ensure_schema()
    server.reset_counters()
    server.fail_requests(503, after=1)
    result = await recombee.upsert_items(titles(15))
    assert len(result.ok) == 5
    assert len(result.failed) == 10
    assert all("batch failed" in reason for _, reason in result.failed)
    assert len(batches(server)) == 2
    assert server.item_ids(database) == {f"movie_{n}" for n in range(1, 6)}
    await recombee.aclose()


@pytest.mark.anyio
async def test_a_write_that_confirms_nothing_raises(recombee, server):
    """The first batch failing as a whole is a SourceError, not a result."""
    await recombee.ensure_schema()
    server.fail_requests(503)
    with pytest.raises(SourceUnavailable, match="HTTP 503"):
        await recombee.upsert_items(titles(3))


@pytest.mark.anyio
async def test_nothing_to_write_sends_nothing(recombee, server):
    """Empty writes are empty results without a request."""
    server.reset_counters()
    assert not (await recombee.upsert_items([])).ok
    assert not (await recombee.add_interactions([])).ok
    assert server.requests == []


# -- interactions ---------------------------------------------------------------------------


def activity(user: str = "u1") -> list[Interaction]:
    return [
        Interaction.view(user, ItemRef.movie(1), START),
        Interaction.view(user, ItemRef.movie(1), START + timedelta(days=1)),
        Interaction.rating(user, ItemRef.movie(2), 10, START),
        Interaction.bookmark(user, ItemRef.tv(3), START + timedelta(hours=2)),
    ]


@pytest.mark.anyio
async def test_interactions_map_to_their_requests_with_timestamps(recombee, server, database):
    """Views are detail views, ratings normalized ratings, bookmarks bookmarks, each timed."""
    result = await recombee.add_interactions(activity())
    assert len(result.ok) == 4
    assert server.interactions(database, "detailviews") == {
        ("u1", "movie_1", START.timestamp()): None,
        ("u1", "movie_1", (START + timedelta(days=1)).timestamp()): None,
    }
    assert server.interactions(database, "ratings") == {("u1", "movie_2", START.timestamp()): 1.0}
    assert server.interactions(database, "bookmarks") == {
        ("u1", "tv_3", (START + timedelta(hours=2)).timestamp()): None
    }


@pytest.mark.anyio
async def test_resending_interactions_is_success(recombee, server, database):
    """A duplicate (Recombee's 409) is confirmed and stores nothing twice."""
    await recombee.add_interactions(activity())
    again = await recombee.add_interactions(activity())
    assert len(again.ok) == 4
    assert not again.failed
    assert len(server.interactions(database, "detailviews")) == 2


@pytest.mark.anyio
async def test_a_changed_rating_replaces_the_old_one(recombee, server, database):
    """Re-rating a title leaves one rating, the new one."""
    ref = ItemRef.movie(7)
    await recombee.add_interactions([Interaction.rating("u1", ref, 9, START)])
    later = START + timedelta(days=3)
    await recombee.add_interactions([Interaction.rating("u1", ref, 1, later)])
    assert server.interactions(database, "ratings") == {("u1", "movie_7", later.timestamp()): -1.0}


@pytest.mark.anyio
async def test_a_rating_never_straddles_two_batches(make_config, server):
    """A rating's delete and add travel together, so no batch exceeds the bound."""
    recombee = RecombeeRecommender(make_config(batch_size=3))
    ratings = [Interaction.rating("u1", ItemRef.movie(n), 8, START) for n in range(1, 4)]
    server.reset_counters()
    result = await recombee.add_interactions(ratings)
    assert len(result.ok) == 3
    assert batches(server) == [2, 2, 2]
    await recombee.aclose()


# -- reads ----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_recommend_keeps_to_the_media_type_and_skips_foreign_items(
    recombee, make_config, server, database
):
    """Only titles of the asked type come back; an item reclio did not write never does."""
    await recombee.upsert_items(titles(5) + titles(5, MediaType.TV))
    client = raw_client(make_config(), server)
    client.send(
        rq.SetItemValues(
            "reclio_health_probe", {"media_type": "movie", "popularity": 1e9}, cascade_create=True
        )
    )
    picks = await recombee.recommend("nobody", media_type=MediaType.MOVIE, count=10)
    assert set(picks) == {t.ref for t in titles(5)}
    shows = await recombee.recommend("nobody", media_type=MediaType.TV, count=3)
    assert len(shows) == 3
    assert all(ref.media_type is MediaType.TV for ref in shows)


@pytest.mark.anyio
async def test_similar_for_an_unknown_anchor_is_empty(recombee):
    """An anchor Recombee has never seen yields no titles, not an error."""
    assert await recombee.similar(ItemRef.movie(404), count=5, target_user="u1") == []


@pytest.mark.anyio
async def test_counts_of_zero_send_nothing(recombee, server):
    """Asking for nothing is answered locally."""
    server.reset_counters()
    assert await recombee.recommend("u1", media_type=MediaType.MOVIE, count=0) == []
    assert await recombee.similar(ItemRef.movie(1), count=0) == []
    assert server.requests == []


@pytest.mark.anyio
async def test_missing_items_names_what_recombee_lacks(recombee):
    """Lookups tell present from missing titles."""
    await recombee.upsert_items(titles(3))
    wanted = [ItemRef.movie(1), ItemRef.movie(3), ItemRef.movie(50), ItemRef.tv(1)]
    assert await recombee.missing_items(wanted) == {ItemRef.movie(50), ItemRef.tv(1)}


@pytest.mark.anyio
async def test_calls_run_off_the_event_loop(recombee, server):
    """While a slow call is in flight, other tasks keep running."""
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    server.delay(0.4)
    await recombee.ping()
    task.cancel()
    assert ticks >= 10


@pytest.mark.anyio
async def test_every_call_has_a_deadline(make_config, server):
    """A hung service raises SourceTimeout at the deadline, long before it answers."""
    recombee = RecombeeRecommender(make_config(timeout=0.3))
    server.delay(5)
    started = time.perf_counter()
    with pytest.raises(SourceError) as caught:
        await recombee.recommend("u1", media_type=MediaType.MOVIE, count=5)
    assert type(caught.value).__name__ == "SourceTimeout"
    assert time.perf_counter() - started < 4
    server.clear_faults()
    await recombee.aclose()


# -- construction ---------------------------------------------------------------------------


def test_http_base_uri_selects_plain_http(make_config, server):
    """``http://`` in base_uri is plain HTTP to that host; anything else is https."""
    recombee = RecombeeRecommender(make_config())
    assert recombee.endpoint.protocol == "http"
    assert recombee.endpoint.host == server.base_uri.removeprefix("http://")
    assert RecombeeRecommender(make_config(base_uri="rapi.example.com")).endpoint.url == (
        "https://rapi.example.com"
    )


@pytest.mark.parametrize(
    ("region", "host"),
    [
        ("eu-west", "rapi-eu-west.recombee.com"),
        ("US_WEST", "rapi-us-west.recombee.com"),
        ("ap-se", "rapi-ap-se.recombee.com"),
        (" Ca-East ", "rapi-ca-east.recombee.com"),
    ],
)
def test_regions_select_their_hosts(make_config, region, host):
    """Each Recombee region, however spelled, reaches its own cluster over https."""
    recombee = RecombeeRecommender(make_config(base_uri=None, region=region))
    assert recombee.endpoint.url == f"https://{host}"
    assert recombee._client.base_uri == host


@pytest.mark.parametrize(
    ("options", "names"),
    [
        ({"base_uri": None, "region": "mars-north"}, "RECLIO_RECOMBEE_REGION"),
        ({"base_uri": "ftp://host"}, "RECLIO_RECOMBEE_BASE_URI"),
        ({"base_uri": "http://host:1/some/path"}, "RECLIO_RECOMBEE_BASE_URI"),
        ({"batch_size": 10_001}, "batch_size"),
    ],
)
def test_bad_settings_are_refused_by_name(make_config, options, names):
    """A bad region, base URI or batch size is a ConfigurationError naming the setting."""
    with pytest.raises(ConfigurationError, match=names):
        RecombeeRecommender(make_config(**options))


@pytest.mark.parametrize("base_uri", [None, "http://127.0.0.1:9"])
def test_rapi_uri_in_the_environment_is_refused(make_config, monkeypatch, base_uri):
    """The SDK's own RAPI_URI override is caught at construction, with the fix."""
    monkeypatch.setenv("RAPI_URI", "elsewhere.example.com")
    with pytest.raises(ConfigurationError, match="RAPI_URI"):
        RecombeeRecommender(make_config(base_uri=base_uri))


def test_a_missing_sdk_is_one_clear_error(make_config, monkeypatch):
    """Without the SDK, construction says which extra to install."""
    for name in [m for m in sys.modules if m.startswith("recombee_api_client")]:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ConfigurationError, match=r"pip install 'reclio\[recombee\]'"):
        RecombeeRecommender(make_config())


def test_repr_names_the_database_not_the_token(make_config):
    """The token is in no repr."""
    config = make_config()
    recombee = RecombeeRecommender(config)
    assert config.database_id in repr(recombee)
    assert config.token not in repr(recombee)
    assert config.token not in repr(config)


@pytest.mark.anyio
async def test_secrets_never_reach_the_logs(make_config, server, caplog):
    """Debug logging carries no token anywhere, and reclio's own lines no signature either."""
    caplog.set_level(logging.DEBUG)
    recombee = RecombeeRecommender(make_config())
    await recombee.upsert_items(titles(3))
    server.fail_requests(500, times=1)
    with pytest.raises(SourceUnavailable):
        await recombee.ping()
    assert make_config().token not in caplog.text
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("reclio")]
    assert ours
    assert not [line for line in ours if "hmac_sign=" in line]
    await recombee.aclose()


def test_importing_the_adapter_and_diagnostics_does_not_import_the_sdk():
    """Only building a recommender imports the SDK (and requests under it)."""
    code = (
        "import sys, reclio.adapters.recombee, reclio.diagnostics; "
        "print(sorted(m for m in ('recombee_api_client', 'requests') if m in sys.modules))"
    )
    out = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
