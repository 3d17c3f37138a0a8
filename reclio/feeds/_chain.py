"""Feed specs as data, and the one chain runner that turns a spec into a feed."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from types import MappingProxyType
from typing import Final

import attrs

from reclio.domain import (
    Anchor,
    Attempt,
    ContentType,
    Feed,
    FeedSource,
    MediaType,
    Outcome,
    Preferences,
    UserState,
    genre_table,
)
from reclio.errors import SourceError


@attrs.frozen
class Serve:
    """A link can serve the row: from ``source``, optionally renaming or re-typing it.

    Attributes:
        source: Where the app fetches the row's titles.
        title: Replaces the spec's title (e.g. "Because You Watched Heat").
        feed_id: Replaces the spec's id (e.g. one that embeds the anchor's TMDB id).
        content_type: Replaces the spec's content type.
    """

    source: FeedSource
    title: str | None = None
    feed_id: str | None = None
    content_type: ContentType | None = None


@attrs.frozen
class Pass:
    """A link cannot serve the row; ``reason`` goes into the feed's provenance."""

    reason: str


def _read_only(anchors: Mapping[MediaType, Anchor]) -> Mapping[MediaType, Anchor]:
    return MappingProxyType(dict(anchors))


def _keyed_by_media_type(
    _inst: object, _attribute: object, anchors: Mapping[MediaType, Anchor]
) -> None:
    for media_type, anchor in anchors.items():
        if anchor.ref.media_type is not media_type:
            noun = "a movie" if media_type is MediaType.MOVIE else "a show"
            msg = (
                f"FeedContext.anchors[{media_type.value}] must anchor {noun}"
                f" (a title of that media type), got {anchor.ref}"
            )
            raise ValueError(msg)


@attrs.frozen
class FeedContext:
    """What every link reads: the user's state, preferences and anchors, for one request.

    Built once per request from state already in memory; links do no I/O.

    Attributes:
        user_id: Who asked.
        state: The stored state; ``None`` for an unknown user or when the store failed.
        today: The request's date (era preferences are relative to it).
        anchors: The "Because You Watched" anchor per media type, after the ``last_watched``
            hint is applied; each anchor is a title of the media type it is keyed by.
        notes: Why the context is degraded (store error, ignored hint); they open every
            feed's provenance.
    """

    user_id: str
    state: UserState | None
    today: date
    anchors: Mapping[MediaType, Anchor] = attrs.field(
        factory=dict, converter=_read_only, validator=_keyed_by_media_type
    )
    notes: tuple[str, ...] = ()

    @property
    def preferences(self) -> Preferences:
        """The user's preferences; defaults when there is no state."""
        return self.state.preferences if self.state is not None else Preferences()

    def top_genres(self, media_type: MediaType, k: int = 3) -> tuple[int, ...]:
        """The user's ``k`` best genre ids: never one they excluded, nor one TMDB does not list."""
        if self.state is None:
            return ()
        excluded = self.preferences.excluded_genres(media_type)
        known = genre_table(media_type)
        best = (s.genre_id for s in self.state.taste.genres(media_type) if s.score > 0)
        return tuple(g for g in best if g in known and g not in excluded)[:k]


LinkFn = Callable[[FeedContext], Serve | Pass]
TerminalFn = Callable[[FeedContext], Serve]


@attrs.frozen
class Link:
    """One step of a fallback chain.

    Attributes:
        name: Short stable name, recorded in provenance (e.g. ``managed_list``).
        describe: One line for people (rendered into the docs).
        fn: Reads the context and serves or passes. It may raise ``SourceError`` (recorded,
            and the chain moves on); any other exception is a bug and propagates.
    """

    name: str
    describe: str
    fn: LinkFn = attrs.field(repr=False, eq=False)


@attrs.frozen
class Terminal:
    """The last step of every chain: non-personal, never passes, so every feed is served.

    Attributes:
        name: Short stable name, recorded in provenance.
        describe: One line for people.
        fn: Reads the context (preferences only) and serves.
    """

    name: str
    describe: str
    fn: TerminalFn = attrs.field(repr=False, eq=False)


@attrs.frozen
class FeedSpec:
    """One row of the layout, as data: its id, title, content type and fallback chain.

    Stability: caller-stable; applications build their own specs and layouts.

    Attributes:
        id: The feed id (the id a link may replace, e.g. to embed an anchor, is documented
            in ``id_template``).
        title: The row's title unless the serving link renames it.
        content_type: Movies, shows or all, unless the serving link says otherwise.
        chain: Links tried in order; the first that serves wins.
        terminal: Serves when no link in the chain did.
        id_template: How the id looks when a link embeds something (docs only).
        title_template: How the title looks when a link renames the row (docs only).
    """

    id: str
    title: str
    content_type: ContentType
    chain: tuple[Link, ...]
    terminal: Terminal
    id_template: str | None = None
    title_template: str | None = None


_CONTEXT: Final = "context"
"""The name under which the context's notes open every feed's provenance."""


def run_chain(spec: FeedSpec, ctx: FeedContext) -> Feed:
    """Serve one feed: the first link that can serve wins; later links are not called.

    The provenance opens with the context's notes (``noted``, named ``context``): every
    link reads the same degraded context. A link that passes or raises ``SourceError`` is
    recorded and the chain moves on; the terminal serves when nothing else did. Any other
    exception is a bug and propagates.
    """
    attempts = [Attempt(_CONTEXT, Outcome.NOTED, note) for note in ctx.notes]
    for link in spec.chain:
        try:
            result = link.fn(ctx)
        except SourceError as exc:
            attempts.append(Attempt(link.name, Outcome.ERROR, str(exc)))
            continue
        if isinstance(result, Serve):
            return _feed(spec, result, (*attempts, Attempt(link.name, Outcome.SERVED)))
        attempts.append(Attempt(link.name, Outcome.PASSED, result.reason))
    served = spec.terminal.fn(ctx)
    return _feed(spec, served, (*attempts, Attempt(spec.terminal.name, Outcome.SERVED)))


def _feed(spec: FeedSpec, served: Serve, provenance: tuple[Attempt, ...]) -> Feed:
    return Feed(
        id=served.feed_id or spec.id,
        title=served.title or spec.title,
        source=served.source,
        content_type=served.content_type or spec.content_type,
        provenance=provenance,
    )
