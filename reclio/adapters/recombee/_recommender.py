"""RecombeeRecommender: the Recommender port on a Recombee database, through the official SDK."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final, Generic, TypeVar

import attrs

from reclio.adapters.recombee._sdk import (
    BATCH_MAX,
    SERVICE,
    Endpoint,
    load_sdk,
    make_client,
    resolve_endpoint,
    translate,
)
from reclio.adapters.recombee._wire import (
    SCHEMA,
    BatchAnswer,
    PropertyInfo,
    Recommendations,
    decode,
    item_values,
    make_converter,
)
from reclio.domain import (
    Interaction,
    InteractionKind,
    ItemRef,
    MediaType,
    Title,
    WriteResult,
)
from reclio.errors import ConfigurationError, DecodeError, SourceError, SourceUnavailable
from reclio.ports import Recommender
from reclio.settings import RecombeeConfig

__all__ = ["RecombeeRecommender"]

_log = logging.getLogger("reclio.adapters.recombee")

T = TypeVar("T")

_WORKERS: Final = 8
"""SDK calls in flight at once per recommender (each blocks one thread)."""
_WRITTEN: Final = frozenset({200, 201, 409})
"""Member codes that mean "stored": 409 is a duplicate of something already stored."""
_GONE: Final = frozenset({200, 404})
"""Codes of a delete that leaves nothing behind (404: there was nothing to delete)."""
_INVALID: Final = 400
_MISSING: Final = 404


@attrs.frozen
class _Step:
    """One SDK request of a member's write, and the member codes that mean it worked."""

    request: Any
    ok: frozenset[int] = _WRITTEN


@attrs.frozen
class _Member(Generic[T]):
    """What one written member (a title, an interaction) takes: its requests, in order."""

    member: T
    steps: tuple[_Step, ...]


@attrs.frozen
class _Outcome(Generic[T]):
    member: T
    reason: str | None = None
    code: int | None = None


class RecombeeRecommender(Recommender):
    """The :class:`~reclio.ports.Recommender` port on a Recombee database.

    Install the extra: ``pip install 'reclio[recombee]'`` (the official
    ``recombee-api-client`` 6.x). The SDK is blocking, so every call runs in this
    recommender's own small thread pool, never on the event loop, under a deadline of
    ``config.timeout`` seconds. Also implements ``SupportsPing`` and ``SupportsAclose``.

    * **Schema.** Before the first item write it reads the item properties and creates any
      of the nine catalog properties that is missing (once per instance; again when a write
      is refused as invalid, so a property deleted in the web UI is recreated). A property
      of the wrong type raises `DecodeError` naming it: only a person may drop its values.
    * **Writes** go in ``Batch`` requests of at most ``config.batch_size`` requests, and
      every member's code is checked: 200/201 and 409 (a duplicate) confirm it, anything
      else lands in ``WriteResult.failed`` with the code and Recombee's message. Items are
      ``SetItemValues`` with ``cascadeCreate``; views are ``AddDetailView``, bookmarks
      ``AddBookmark``, ratings ``AddRating`` with the normalized value, each with its
      timestamp. A rating first deletes the user's earlier ratings of that title
      (``DeleteRating`` in the same batch), so a changed rating replaces the old one.
    * **Durable:** a confirmed write is stored by Recombee; a later process (or another
      worker) sees it. Recombee's own processing is asynchronous, so recommendations may
      take a moment to reflect it.
    * **Reads.** ``recommend`` is ``RecommendItemsToUser`` filtered by media type (unknown
      users are created and get popular titles); ``similar`` is ``RecommendItemsToItem``
      with the target user, so Recombee leaves out what they interacted with. ``exclude``
      goes into the ReQL filter and is applied again locally, as are media type and count.
    * **Errors.** Every SDK, ``requests`` and deadline exception is mapped at one choke point
      (``_sdk.translate``): 401/403 `AuthenticationError`, an unknown database
      `UnknownDatabase`, 429 `RateLimited`, 5xx and transport errors `SourceUnavailable`,
      timeouts `SourceTimeout`, a body that is not JSON `DecodeError`. Messages never carry
      the token or a request signature.

    Stability: caller-stable; implementer-internal.

    Args:
        config: The database, its token, region or base URI, batch size and deadline.
            A ``base_uri`` starting with ``http://`` selects plain HTTP (local servers).
        client: An already built ``RecombeeClient`` (default: built from ``config``).

    Raises:
        ConfigurationError: the SDK is not installed, the region or base URI is invalid,
            the batch size exceeds Recombee's 10,000, or the SDK refused to build a client.
    """

    def __init__(self, config: RecombeeConfig, *, client: object | None = None) -> None:
        if config.batch_size > BATCH_MAX:
            msg = f"batch_size is at most {BATCH_MAX} for Recombee, got {config.batch_size}"
            raise ConfigurationError(msg)
        self.config = config
        self._sdk = load_sdk()
        self._endpoint = resolve_endpoint(config)
        self._client: Any = client
        if client is None:
            self._client = make_client(self._sdk, config, self._endpoint)
        self._converter = make_converter()
        self._executor = ThreadPoolExecutor(_WORKERS, thread_name_prefix="reclio-recombee")
        self._schema_ready = False
        self._schema_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"RecombeeRecommender({self.config.database_id!r} at {self._endpoint.url})"

    @property
    def endpoint(self) -> Endpoint:
        """Where requests go: host, protocol and region."""
        return self._endpoint

    # -- the one way out -----------------------------------------------------------------

    def _prepare(self, request: Any) -> Any:  # noqa: ANN401 - SDK requests are untyped
        request.timeout = int(self.config.timeout * 1000)
        if self._endpoint.protocol == "http":
            # Batch forces https whatever the client's protocol; a local server speaks http.
            request.ensure_https = False
        return request

    async def _send(self, operation: str, request: Any, *, missing_ok: bool = False) -> Any:  # noqa: ANN401
        """Send one request off the event loop, under the deadline; every error mapped.

        With ``missing_ok``, a plain 404 (not an unknown database) returns ``None``.
        """
        loop = asyncio.get_running_loop()
        call = loop.run_in_executor(self._executor, self._client.send, self._prepare(request))
        with translate(
            self._sdk,
            operation=operation,
            endpoint=self._endpoint,
            database_id=self.config.database_id,
        ):
            try:
                return await asyncio.wait_for(call, timeout=self.config.timeout)
            except self._sdk.response_error as exc:
                description = str(getattr(exc, "description", ""))
                plain_404 = getattr(exc, "status_code", None) == _MISSING
                if missing_ok and plain_404 and "database" not in description.lower():
                    return None
                raise

    async def _batch(self, operation: str, requests: Sequence[Any]) -> list[BatchAnswer]:
        """One ``Batch`` call; its answers, one per request, in order."""
        started = time.perf_counter()
        data = await self._send(operation, self._sdk.requests.Batch(list(requests)))
        answers = decode(self._converter, data, list[BatchAnswer], operation=operation)
        if len(answers) != len(requests):
            msg = f"Recombee answered {len(answers)} members to a batch of {len(requests)}"
            raise DecodeError(msg, service=SERVICE, operation=operation)
        elapsed = 1000 * (time.perf_counter() - started)
        _log.debug("%s: batch of %d in %.0f ms", operation, len(requests), elapsed)
        return answers

    def _chunks(self, members: Sequence[_Member[T]]) -> Iterable[list[_Member[T]]]:
        """Members grouped so no batch holds more than ``batch_size`` requests."""
        chunk: list[_Member[T]] = []
        size = 0
        for member in members:
            if chunk and size + len(member.steps) > self.config.batch_size:
                yield chunk
                chunk, size = [], 0
            chunk.append(member)
            size += len(member.steps)
        if chunk:
            yield chunk

    async def _write(self, operation: str, members: Sequence[_Member[T]]) -> list[_Outcome[T]]:
        """Write members in batches; each member's outcome from its own codes.

        A batch that fails as a whole fails its members and stops the write (the rest are
        not sent). When no member was confirmed, that error is raised instead.
        """
        outcomes: list[_Outcome[T]] = []
        chunks = list(self._chunks(members))
        for number, chunk in enumerate(chunks):
            steps = [step for member in chunk for step in member.steps]
            try:
                answers = await self._batch(operation, [step.request for step in steps])
            except SourceError as exc:
                if not any(o.reason is None for o in outcomes):
                    raise
                unsent = [m for later in chunks[number:] for m in later]
                outcomes += [_Outcome(m.member, f"batch failed: {exc}") for m in unsent]
                return outcomes
            position = 0
            for member in chunk:
                mine = answers[position : position + len(member.steps)]
                position += len(member.steps)
                bad = next(
                    (a for a, s in zip(mine, member.steps, strict=True) if a.code not in s.ok),
                    None,
                )
                if bad is None:
                    outcomes.append(_Outcome(member.member))
                else:
                    outcomes.append(_Outcome(member.member, bad.reason(), bad.code))
        return outcomes

    # -- schema --------------------------------------------------------------------------

    async def ensure_schema(self) -> list[str]:
        """Make sure the nine item properties exist (once per instance); returns those created.

        Raises:
            DecodeError: a property exists with another type (the message names it).
            SourceError: Recombee failed, or refused to create a property.
        """
        async with self._schema_lock:
            if self._schema_ready:
                return []
            data = await self._send("ensure_schema", self._sdk.requests.ListItemProperties())
            found = decode(self._converter, data, list[PropertyInfo], operation="ensure_schema")
            existing = {p.name: p.type for p in found}
            wrong = [
                f"{name}: {existing[name]}, reclio needs {kind}"
                for name, kind in SCHEMA.items()
                if name in existing and existing[name] != kind
            ]
            if wrong:
                msg = (
                    "item properties have the wrong type; delete them in the Recombee web UI"
                    " (their values are lost) and sync content again"
                )
                raise DecodeError(msg, service=SERVICE, operation="ensure_schema", errors=wrong)
            missing = [name for name in SCHEMA if name not in existing]
            if missing:
                add = self._sdk.requests.AddItemProperty
                answers = await self._batch(
                    "ensure_schema", [add(name, SCHEMA[name]) for name in missing]
                )
                refused = [
                    f"{name}: {a.reason()}"
                    for name, a in zip(missing, answers, strict=True)
                    if a.code not in _WRITTEN
                ]
                if refused:
                    msg = f"Recombee refused to create item properties: {'; '.join(refused)}"
                    raise SourceError(msg, service=SERVICE, operation="ensure_schema")
                _log.info("created Recombee item properties: %s", ", ".join(missing))
            self._schema_ready = True
            return missing

    # -- writes --------------------------------------------------------------------------

    async def upsert_items(self, titles: Sequence[Title]) -> WriteResult[ItemRef]:
        """Create or update titles with the nine catalog properties, in batches.

        Raises:
            SourceError: the first batch failed as a whole (nothing was confirmed), or the
                schema could not be ensured. Per-title failures are in the result.
        """
        unique = list({title.ref: title for title in titles}.values())
        if not unique:
            return WriteResult()
        await self.ensure_schema()
        outcomes = await self._write("upsert_items", [self._item(t) for t in unique])
        invalid = {o.member for o in outcomes if o.code == _INVALID}
        if invalid:
            # Refused as invalid: a property may have been deleted since the schema check.
            self._schema_ready = False
            if await self.ensure_schema():
                retry = [self._item(t) for t in unique if t.ref in invalid]
                again = {o.member: o for o in await self._write("upsert_items", retry)}
                outcomes = [again.get(o.member, o) for o in outcomes]
        return _result(outcomes)

    def _item(self, title: Title) -> _Member[ItemRef]:
        request = self._sdk.requests.SetItemValues(
            title.ref.item_id, item_values(title), cascade_create=True
        )
        return _Member(title.ref, (_Step(request),))

    async def add_interactions(
        self, interactions: Sequence[Interaction]
    ) -> WriteResult[Interaction]:
        """Record views, ratings and bookmarks with their timestamps, in batches.

        Re-sending one already recorded is confirmed (Recombee answers 409). A rating
        replaces the user's earlier ratings of the title.

        Raises:
            SourceError: the first batch failed as a whole (nothing was confirmed).
                Per-interaction failures are in the result.
        """
        unique = list({i.key: i for i in interactions}.values())
        if not unique:
            return WriteResult()
        members = [self._interaction(i) for i in unique]
        return _result(await self._write("add_interactions", members))

    def _interaction(self, interaction: Interaction) -> _Member[Interaction]:
        rq = self._sdk.requests
        user, item = interaction.user_id, interaction.ref.item_id
        at = interaction.at.timestamp()
        if interaction.kind is InteractionKind.VIEW:
            steps: tuple[_Step, ...] = (
                _Step(rq.AddDetailView(user, item, timestamp=at, cascade_create=True)),
            )
        elif interaction.kind is InteractionKind.BOOKMARK:
            steps = (_Step(rq.AddBookmark(user, item, timestamp=at, cascade_create=True)),)
        else:
            steps = (
                _Step(rq.DeleteRating(user, item), ok=_GONE),
                _Step(
                    rq.AddRating(user, item, interaction.value, timestamp=at, cascade_create=True)
                ),
            )
        return _Member(interaction, steps)

    # -- reads ---------------------------------------------------------------------------

    async def recommend(
        self,
        user_id: str,
        *,
        media_type: MediaType,
        count: int,
        exclude: Collection[ItemRef] = (),
    ) -> Sequence[ItemRef]:
        """Up to ``count`` titles of ``media_type`` for the user (``RecommendItemsToUser``).

        Raises:
            SourceError: Recombee failed.
        """
        if count <= 0:
            return []
        request = self._sdk.requests.RecommendItemsToUser(
            user_id, count, cascade_create=True, **_filter(media_type, exclude)
        )
        data = await self._send("recommend", request)
        return self._picks(data, "recommend", count, media_type, set(exclude))

    async def similar(
        self,
        ref: ItemRef,
        *,
        count: int,
        media_type: MediaType | None = None,
        target_user: str | None = None,
        exclude: Collection[ItemRef] = (),
    ) -> Sequence[ItemRef]:
        """Up to ``count`` titles like ``ref`` (``RecommendItemsToItem``), never ``ref``.

        An anchor (or target user) Recombee does not know yields an empty result.

        Raises:
            SourceError: Recombee failed.
        """
        if count <= 0:
            return []
        banned = {*exclude, ref}
        request = self._sdk.requests.RecommendItemsToItem(
            ref.item_id, target_user, count, **_filter(media_type, banned)
        )
        data = await self._send("similar", request, missing_ok=True)
        if data is None:
            return []
        return self._picks(data, "similar", count, media_type, banned)

    def _picks(
        self,
        data: object,
        operation: str,
        count: int,
        media_type: MediaType | None,
        banned: Collection[ItemRef],
    ) -> list[ItemRef]:
        answer = decode(self._converter, data, Recommendations, operation=operation)
        picks: list[ItemRef] = []
        for recomm in answer.recomms:
            try:
                ref = ItemRef.parse(recomm.id)
            except ValueError:
                continue  # an item reclio did not write (a probe, another app's item)
            if ref in banned or ref in picks:
                continue
            if media_type is not None and ref.media_type is not media_type:
                continue
            picks.append(ref)
        return picks[:count]

    async def missing_items(self, refs: Collection[ItemRef]) -> frozenset[ItemRef]:
        """Which of ``refs`` Recombee does not hold (``GetItemValues`` in batches).

        Raises:
            SourceError: Recombee failed, or a lookup failed with anything but "not found".
        """
        ordered = sorted(set(refs))
        missing: set[ItemRef] = set()
        size = self.config.batch_size
        for start in range(0, len(ordered), size):
            chunk = ordered[start : start + size]
            lookups = [self._sdk.requests.GetItemValues(ref.item_id) for ref in chunk]
            answers = await self._batch("missing_items", lookups)
            for ref, answer in zip(chunk, answers, strict=True):
                if answer.code == _MISSING:
                    missing.add(ref)
                elif answer.code != 200:  # noqa: PLR2004 - HTTP's own number
                    msg = f"looking up {ref} failed ({answer.reason()})"
                    raise SourceUnavailable(msg, service=SERVICE, operation="missing_items")
        return frozenset(missing)

    async def ping(self) -> None:
        """Return if Recombee answers a cheap signed read (``ListItemProperties``).

        Raises:
            UnknownDatabase: the database does not exist at this host (wrong id or region).
            AuthenticationError: the token was refused.
            SourceUnavailable: Recombee could not be reached, failed, or ran past the deadline.
        """
        data = await self._send("ping", self._sdk.requests.ListItemProperties())
        decode(self._converter, data, list[PropertyInfo], operation="ping")

    async def aclose(self) -> None:
        """Stop the worker threads (a call still in flight finishes in the background)."""
        self._executor.shutdown(wait=False, cancel_futures=True)


def _result(outcomes: Iterable[_Outcome[T]]) -> WriteResult[T]:
    ok: list[T] = []
    failed: list[tuple[T, str]] = []
    for outcome in outcomes:
        if outcome.reason is None:
            ok.append(outcome.member)
        else:
            failed.append((outcome.member, outcome.reason))
    return WriteResult(tuple(ok), tuple(failed))


def _filter(media_type: MediaType | None, banned: Collection[ItemRef]) -> dict[str, str]:
    """The ReQL ``filter`` argument: the media type, and no banned item; none when empty.

    Item ids are safe inside a ReQL string: `ItemRef` allows only ``movie_123``/``tv_123``.
    """
    clauses = []
    if media_type is not None:
        clauses.append(f"'media_type' == \"{media_type.value}\"")
    if banned:
        ids = ",".join(f'"{ref.item_id}"' for ref in sorted(banned))
        clauses.append(f"'itemId' not in {{{ids}}}")
    return {"filter": " and ".join(clauses)} if clauses else {}
