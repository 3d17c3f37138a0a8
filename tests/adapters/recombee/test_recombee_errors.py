"""Every failure the SDK can meet reaches callers as a SourceError, mapped at one point.

Each fault is real: the local Recombee answers with the status, hangs, sends a body that is
not JSON, or does not listen at all; the SDK raises what it raises, and the adapter maps it.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest

from reclio.adapters.recombee import RecombeeRecommender, UnknownDatabase
from reclio.domain import Interaction, ItemRef, MediaType, Title
from reclio.errors import (
    AuthenticationError,
    DecodeError,
    RateLimited,
    SourceError,
    SourceTimeout,
    SourceUnavailable,
)

TITLES = [Title(ItemRef.movie(n), f"T{n}") for n in (1, 2)]
VIEWS = [Interaction.view("u1", ItemRef.movie(1), datetime(2026, 1, 1, tzinfo=UTC))]

OPERATIONS = {
    "ping": lambda r: r.ping(),
    "upsert_items": lambda r: r.upsert_items(TITLES),
    "add_interactions": lambda r: r.add_interactions(VIEWS),
    "recommend": lambda r: r.recommend("u1", media_type=MediaType.MOVIE, count=3),
    "similar": lambda r: r.similar(ItemRef.movie(1), count=3, target_user="u1"),
    "missing_items": lambda r: r.missing_items([ItemRef.movie(1)]),
}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


FAULTS = {
    "http 500": (lambda s: s.fail_requests(500), SourceUnavailable),
    "http 503": (lambda s: s.fail_requests(503), SourceUnavailable),
    "http 429": (lambda s: s.fail_requests(429), RateLimited),
    "http 403": (lambda s: s.fail_requests(403), AuthenticationError),
    "http 400": (lambda s: s.fail_requests(400), SourceError),
    "not json": (lambda s: s.malformed(times=10), DecodeError),
    "hung": (lambda s: s.delay(3), SourceTimeout),
}


@pytest.mark.anyio
@pytest.mark.parametrize("operation", sorted(OPERATIONS))
@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_every_fault_of_every_call_is_mapped(make_config, server, operation, fault):
    """Each operation under each fault raises the expected SourceError, chained, clean."""
    inject, expected = FAULTS[fault]
    recombee = RecombeeRecommender(make_config(timeout=0.3))
    if operation == "upsert_items":
        await recombee.ensure_schema()
    inject(server)
    with pytest.raises(SourceError) as caught:
        await OPERATIONS[operation](recombee)
    server.clear_faults()
    error = caught.value
    assert isinstance(error, expected), repr(error)
    assert error.service == "recombee"
    assert error.operation in {operation, "ensure_schema"}
    assert error.__cause__ is not None
    assert make_config().token not in str(error)
    assert "hmac_sign" not in str(error)
    await recombee.aclose()


@pytest.mark.anyio
@pytest.mark.parametrize("operation", sorted(OPERATIONS))
async def test_nobody_listening_is_unavailable(make_config, operation):
    """A refused connection is SourceUnavailable naming the host, not a requests error."""
    recombee = RecombeeRecommender(make_config(base_uri=f"http://127.0.0.1:{closed_port()}"))
    with pytest.raises(SourceUnavailable, match=r"cannot reach Recombee at http://127\.0\.0\.1"):
        await OPERATIONS[operation](recombee)
    await recombee.aclose()


@pytest.mark.anyio
async def test_a_wrong_token_is_an_authentication_error(make_config):
    """A signature made with another token is refused: AuthenticationError with the fix."""
    wrong = "not-the-token"
    recombee = RecombeeRecommender(make_config(token=wrong))
    with pytest.raises(AuthenticationError, match="RECLIO_RECOMBEE_TOKEN") as caught:
        await recombee.ping()
    assert not isinstance(caught.value, UnknownDatabase)
    assert wrong not in str(caught.value)
    await recombee.aclose()


@pytest.mark.anyio
async def test_an_unknown_database_says_so(make_config):
    """Recombee's "database does not exist" (a wrong id or region) is UnknownDatabase."""
    recombee = RecombeeRecommender(make_config(database_id="elsewhere"))
    for call in OPERATIONS.values():
        with pytest.raises(UnknownDatabase, match="RECLIO_RECOMBEE_REGION"):
            await call(recombee)
    await recombee.aclose()
