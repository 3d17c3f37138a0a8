"""Feeds: the ChillLink rows of one user, as data (``FeedSpec``) run by one chain runner.

A layout is a sequence of `FeedSpec`; each spec has a chain of `Link` values
tried in order and a `Terminal` that always serves. `FeedBuilder` runs the
layout against a user's stored state.
"""

from reclio.feeds import links, queries
from reclio.feeds._builder import FeedBuilder, FeedStore, parse_last_watched
from reclio.feeds._chain import FeedContext, FeedSpec, Link, Pass, Serve, Terminal, run_chain
from reclio.feeds._counter import FeedRequestCounter
from reclio.feeds._docs import layout_markdown
from reclio.feeds.defaults import DEFAULT_LAYOUT, default_layout

__all__ = [
    "DEFAULT_LAYOUT",
    "FeedBuilder",
    "FeedContext",
    "FeedRequestCounter",
    "FeedSpec",
    "FeedStore",
    "Link",
    "Pass",
    "Serve",
    "Terminal",
    "default_layout",
    "layout_markdown",
    "links",
    "parse_last_watched",
    "queries",
    "run_chain",
]
