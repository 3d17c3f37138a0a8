"""Fault injection for any adapter: wrappers that fail a port call on a schedule.

Wrap real adapters (in-memory or remote) in ``Flaky*`` wrappers that share one
:class:`FaultPlan`. The plan numbers every call across all wrapped ports, so a test can run
a pipeline once to learn how many calls it makes, then make each call in turn fail (with a
:class:`~reclio.errors.SourceError`) or crash (with any exception, e.g. one that stands for
the process dying) and check what the pipeline left behind::

    plan = FaultPlan()
    recommender = FlakyRecommender(LocalRecommender(), plan)
    plan.fail_call(3, SourceUnavailable("down", service="test", operation="x"))

No mocks: each wrapper implements its port by delegating to the wrapped adapter.

Stability: testing (may change between minor versions).
"""

from __future__ import annotations

import asyncio
import fnmatch
from collections.abc import AsyncIterator, Collection, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import attrs

from reclio.ports import (
    CandidateList,
    CatalogSource,
    Embedder,
    InteractionSource,
    ListSink,
    Recommender,
    StateStore,
    SupportsAclose,
    SupportsPing,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    import numpy as np
    import numpy.typing as npt

    from reclio.domain import (
        AccountLimits,
        ActivityStamp,
        CatalogRecord,
        Interaction,
        ItemRef,
        ListAccount,
        ListDiff,
        ListHandle,
        ListSnapshot,
        MediaType,
        OAuthToken,
        PlaybackProgress,
        Title,
        UserHistory,
        UserState,
        Vector,
        WriteResult,
    )

__all__ = [
    "Crash",
    "FaultPlan",
    "FlakyCatalogSource",
    "FlakyEmbedder",
    "FlakyInteractionSource",
    "FlakyListSink",
    "FlakyRecommender",
    "FlakyStateStore",
]


class Crash(BaseException):
    """Stands for the process dying mid-pipeline; no reclio code catches it."""


@attrs.define
class _Rule:
    pattern: str
    error: BaseException
    remaining: int | None


@attrs.define
class FaultPlan:
    """The schedule of failures shared by a set of ``Flaky*`` wrappers.

    Operations are named ``"<port>.<method>"``, e.g. ``"recommender.add_interactions"``.

    Attributes:
        calls: Every call made so far, in order (failed ones included).
    """

    calls: list[str] = attrs.Factory(list)
    _by_number: dict[int, BaseException] = attrs.Factory(dict)
    _rules: list[_Rule] = attrs.Factory(list)
    _delays: list[tuple[str, float]] = attrs.Factory(list)

    def delay(self, pattern: str, seconds: float) -> None:
        """Make every call whose operation matches ``pattern`` take ``seconds`` longer.

        A fixed latency per call, as a remote service has (load tests, benchmarks); the
        longest matching delay applies. :meth:`clear` keeps delays.
        """
        if seconds < 0:
            msg = f"a delay is zero or more seconds, got {seconds}"
            raise ValueError(msg)
        self._delays.append((pattern, seconds))

    async def call(self, operation: str) -> None:
        """Wait the operation's delay, then :meth:`check` it (what every wrapper calls)."""
        wait = max(
            (
                seconds
                for pattern, seconds in self._delays
                if fnmatch.fnmatchcase(operation, pattern)
            ),
            default=0.0,
        )
        if wait > 0:
            await asyncio.sleep(wait)
        self.check(operation)

    def fail_call(self, number: int, error: BaseException) -> None:
        """Make the ``number``-th call from now on (1-based, across all ports) raise ``error``."""
        if number < 1:
            msg = f"call numbers start at 1, got {number}"
            raise ValueError(msg)
        self._by_number[len(self.calls) + number] = error

    def fail(self, pattern: str, error: BaseException, *, times: int | None = 1) -> None:
        """Make calls whose operation matches ``pattern`` (fnmatch) raise ``error``.

        ``times=None`` fails every matching call until :meth:`clear`.
        """
        self._rules.append(_Rule(pattern, error, times))

    def clear(self) -> None:
        """Forget every planned failure (the call log stays)."""
        self._by_number.clear()
        self._rules.clear()

    def count(self, pattern: str = "*") -> int:
        """How many calls so far matched ``pattern``."""
        return sum(1 for call in self.calls if fnmatch.fnmatchcase(call, pattern))

    def check(self, operation: str) -> None:
        """Log a call of ``operation``; raise if the plan says this call fails."""
        self.calls.append(operation)
        error = self._by_number.pop(len(self.calls), None)
        if error is not None:
            raise error
        for rule in self._rules:
            if fnmatch.fnmatchcase(operation, rule.pattern):
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._rules.remove(rule)
                raise rule.error


class FlakyCatalogSource(CatalogSource):
    """A ``CatalogSource`` that fails on plan (operations ``catalog.*``)."""

    def __init__(self, inner: CatalogSource, plan: FaultPlan) -> None:
        self.inner = inner
        self.plan = plan

    async def get_title(self, ref: ItemRef) -> Title | None:  # noqa: D102 - the port's
        await self.plan.call("catalog.get_title")
        return await self.inner.get_title(ref)

    async def candidates(  # noqa: D102
        self, which: CandidateList, media_type: MediaType, *, page: int = 1
    ) -> Sequence[ItemRef]:
        await self.plan.call("catalog.candidates")
        return await self.inner.candidates(which, media_type, page=page)

    async def changed_since(  # noqa: D102
        self, media_type: MediaType, since: datetime
    ) -> Sequence[ItemRef]:
        await self.plan.call("catalog.changed_since")
        return await self.inner.changed_since(media_type, since)


class FlakyInteractionSource(InteractionSource):
    """An ``InteractionSource`` that fails on plan (operations ``interactions.*``)."""

    def __init__(self, inner: InteractionSource, plan: FaultPlan) -> None:
        self.inner = inner
        self.plan = plan

    async def activity(self, user_id: str) -> ActivityStamp:  # noqa: D102
        await self.plan.call("interactions.activity")
        return await self.inner.activity(user_id)

    async def history(  # noqa: D102
        self, user_id: str, *, since: datetime | None = None
    ) -> Sequence[Interaction]:
        await self.plan.call("interactions.history")
        return await self.inner.history(user_id, since=since)

    async def ratings(self, user_id: str) -> Sequence[Interaction]:  # noqa: D102
        await self.plan.call("interactions.ratings")
        return await self.inner.ratings(user_id)

    async def watchlist(self, user_id: str) -> Sequence[Interaction]:  # noqa: D102
        await self.plan.call("interactions.watchlist")
        return await self.inner.watchlist(user_id)

    async def playback(self, user_id: str) -> Sequence[PlaybackProgress]:  # noqa: D102
        await self.plan.call("interactions.playback")
        return await self.inner.playback(user_id)


class FlakyRecommender(Recommender):
    """A ``Recommender`` that fails on plan (operations ``recommender.*``)."""

    def __init__(self, inner: Recommender, plan: FaultPlan) -> None:
        self.inner = inner
        self.plan = plan

    async def upsert_items(self, titles: Sequence[Title]) -> WriteResult[ItemRef]:  # noqa: D102
        await self.plan.call("recommender.upsert_items")
        return await self.inner.upsert_items(titles)

    async def add_interactions(  # noqa: D102
        self, interactions: Sequence[Interaction]
    ) -> WriteResult[Interaction]:
        await self.plan.call("recommender.add_interactions")
        return await self.inner.add_interactions(interactions)

    async def recommend(  # noqa: D102
        self,
        user_id: str,
        *,
        media_type: MediaType,
        count: int,
        exclude: Collection[ItemRef] = (),
    ) -> Sequence[ItemRef]:
        await self.plan.call("recommender.recommend")
        return await self.inner.recommend(
            user_id, media_type=media_type, count=count, exclude=exclude
        )

    async def similar(  # noqa: D102
        self,
        ref: ItemRef,
        *,
        count: int,
        media_type: MediaType | None = None,
        target_user: str | None = None,
        exclude: Collection[ItemRef] = (),
    ) -> Sequence[ItemRef]:
        await self.plan.call("recommender.similar")
        return await self.inner.similar(
            ref, count=count, media_type=media_type, target_user=target_user, exclude=exclude
        )


class FlakyEmbedder(Embedder):
    """An ``Embedder`` that fails on plan (operation ``embedder.embed``)."""

    def __init__(self, inner: Embedder, plan: FaultPlan) -> None:
        self.inner = inner
        self.plan = plan

    @property
    def dimension(self) -> int:  # noqa: D102
        return self.inner.dimension

    @property
    def identity(self) -> str:  # noqa: D102
        return self.inner.identity

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:  # noqa: D102
        await self.plan.call("embedder.embed")
        return await self.inner.embed(texts)


class FlakyListSink(ListSink):
    """A ``ListSink`` that fails on plan (operations ``sink.*``)."""

    def __init__(self, inner: ListSink, plan: FaultPlan) -> None:
        self.inner = inner
        self.plan = plan

    async def account(self, user_id: str) -> ListAccount:  # noqa: D102
        await self.plan.call("sink.account")
        return await self.inner.account(user_id)

    async def ensure_list(  # noqa: D102
        self,
        user_id: str,
        name: str,
        *,
        description: str = "",
        account: ListAccount | None = None,
    ) -> ListHandle:
        await self.plan.call("sink.ensure_list")
        return await self.inner.ensure_list(user_id, name, description=description, account=account)

    async def snapshot(self, user_id: str, list_id: int) -> ListSnapshot:  # noqa: D102
        await self.plan.call("sink.snapshot")
        return await self.inner.snapshot(user_id, list_id)

    async def items(self, user_id: str, list_id: int) -> Sequence[ItemRef]:  # noqa: D102
        await self.plan.call("sink.items")
        return await self.inner.items(user_id, list_id)

    async def apply(  # noqa: D102
        self,
        user_id: str,
        list_id: int,
        diff: ListDiff,
        *,
        current: ListSnapshot | None = None,
    ) -> ListHandle:
        await self.plan.call("sink.apply")
        return await self.inner.apply(user_id, list_id, diff, current=current)

    async def limits(self, user_id: str) -> AccountLimits:  # noqa: D102
        await self.plan.call("sink.limits")
        return await self.inner.limits(user_id)


class FlakyStateStore(StateStore):
    """A ``StateStore`` that fails on plan (operations ``store.*``, e.g. ``store.save_user``).

    It also pings (``store.ping``) and closes (``store.aclose``) through to the wrapped
    store, when that store can.
    """

    def __init__(self, inner: StateStore, plan: FaultPlan) -> None:
        self.inner = inner
        self.plan = plan

    async def ping(self) -> None:  # noqa: D102
        await self.plan.call("store.ping")
        if isinstance(self.inner, SupportsPing):
            await self.inner.ping()

    async def aclose(self) -> None:  # noqa: D102
        await self.plan.call("store.aclose")
        if isinstance(self.inner, SupportsAclose):
            await self.inner.aclose()

    # -- users

    async def get_user(self, user_id: str) -> UserState | None:  # noqa: D102
        await self.plan.call("store.get_user")
        return await self.inner.get_user(user_id)

    async def put_user(self, state: UserState) -> None:  # noqa: D102
        await self.plan.call("store.put_user")
        await self.inner.put_user(state)

    async def user_ids(self) -> Sequence[str]:  # noqa: D102
        await self.plan.call("store.user_ids")
        return await self.inner.user_ids()

    async def due_users(self, now: datetime) -> Sequence[str]:  # noqa: D102
        await self.plan.call("store.due_users")
        return await self.inner.due_users(now)

    async def delete_user(self, user_id: str) -> bool:  # noqa: D102
        await self.plan.call("store.delete_user")
        return await self.inner.delete_user(user_id)

    # -- history

    async def get_history(self, user_id: str) -> UserHistory | None:  # noqa: D102
        await self.plan.call("store.get_history")
        return await self.inner.get_history(user_id)

    async def save_user(  # noqa: D102
        self, state: UserState, *, history: UserHistory | None = None
    ) -> None:
        await self.plan.call("store.save_user")
        await self.inner.save_user(state, history=history)

    async def iter_interactions(  # noqa: D102
        self, *, batch_size: int = 1000
    ) -> AsyncIterator[Sequence[Interaction]]:
        await self.plan.call("store.iter_interactions")
        async for batch in self.inner.iter_interactions(batch_size=batch_size):
            yield batch

    # -- credentials

    async def get_token(self, user_id: str, service: str) -> OAuthToken | None:  # noqa: D102
        await self.plan.call("store.get_token")
        return await self.inner.get_token(user_id, service)

    async def put_token(self, user_id: str, service: str, token: OAuthToken) -> None:  # noqa: D102
        await self.plan.call("store.put_token")
        await self.inner.put_token(user_id, service, token)

    async def delete_token(self, user_id: str, service: str) -> None:  # noqa: D102
        await self.plan.call("store.delete_token")
        await self.inner.delete_token(user_id, service)

    # -- addon tokens

    async def set_addon_token(self, user_id: str, token_hash: str) -> None:  # noqa: D102
        self.plan.check("store.set_addon_token")
        await self.inner.set_addon_token(user_id, token_hash)

    async def addon_token_owner(self, token_hash: str) -> str | None:  # noqa: D102
        self.plan.check("store.addon_token_owner")
        return await self.inner.addon_token_owner(token_hash)

    # -- feed log

    async def record_feed_requests(  # noqa: D102
        self, requests: Sequence[tuple[str, datetime]]
    ) -> None:
        await self.plan.call("store.record_feed_requests")
        await self.inner.record_feed_requests(requests)

    async def feed_requests_since(self, user_id: str, since: datetime) -> int:  # noqa: D102
        await self.plan.call("store.feed_requests_since")
        return await self.inner.feed_requests_since(user_id, since)

    # -- leases and cursors

    async def acquire_lease(self, key: str, owner: str, ttl: timedelta) -> bool:  # noqa: D102
        await self.plan.call("store.acquire_lease")
        return await self.inner.acquire_lease(key, owner, ttl)

    async def release_lease(self, key: str, owner: str) -> None:  # noqa: D102
        await self.plan.call("store.release_lease")
        await self.inner.release_lease(key, owner)

    async def get_cursor(self, name: str) -> str | None:  # noqa: D102
        await self.plan.call("store.get_cursor")
        return await self.inner.get_cursor(name)

    async def set_cursor(self, name: str, value: str) -> None:  # noqa: D102
        await self.plan.call("store.set_cursor")
        await self.inner.set_cursor(name, value)

    # -- catalog

    async def get_titles(self, refs: Collection[ItemRef]) -> Sequence[CatalogRecord]:  # noqa: D102
        await self.plan.call("store.get_titles")
        return await self.inner.get_titles(refs)

    async def put_titles(self, records: Sequence[CatalogRecord]) -> None:  # noqa: D102
        await self.plan.call("store.put_titles")
        await self.inner.put_titles(records)

    async def delete_titles(self, refs: Collection[ItemRef]) -> None:  # noqa: D102
        await self.plan.call("store.delete_titles")
        await self.inner.delete_titles(refs)

    async def iter_titles(  # noqa: D102
        self, *, batch_size: int = 500
    ) -> AsyncIterator[Sequence[CatalogRecord]]:
        await self.plan.call("store.iter_titles")
        async for batch in self.inner.iter_titles(batch_size=batch_size):
            yield batch

    async def mark_synced(self, confirmed: Mapping[ItemRef, str]) -> None:  # noqa: D102
        await self.plan.call("store.mark_synced")
        await self.inner.mark_synced(confirmed)

    async def titles_missing_from_catalog(self, *, limit: int) -> Sequence[ItemRef]:  # noqa: D102
        await self.plan.call("store.titles_missing_from_catalog")
        return await self.inner.titles_missing_from_catalog(limit=limit)

    # -- embeddings

    async def put_embeddings(  # noqa: D102
        self, rows: Sequence[tuple[ItemRef, str, Vector]]
    ) -> None:
        await self.plan.call("store.put_embeddings")
        await self.inner.put_embeddings(rows)

    async def iter_embeddings(  # noqa: D102
        self, *, batch_size: int = 1000
    ) -> AsyncIterator[Sequence[tuple[ItemRef, Vector]]]:
        await self.plan.call("store.iter_embeddings")
        async for batch in self.inner.iter_embeddings(batch_size=batch_size):
            yield batch
