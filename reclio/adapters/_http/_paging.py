"""Pagination helpers: page-number paging (TMDB's body) and header paging (Trakt's)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from reclio.adapters._http._client import Reply

__all__ = ["PageCount", "body_page_count", "header_page_count", "iter_pages"]

PageCount = Callable[[Reply], int | None]
"""Reads how many pages a list has from one of its replies (``None``: unknown)."""


def header_page_count(reply: Reply) -> int | None:
    """``X-Pagination-Page-Count`` (Trakt), or ``None`` when absent or unreadable."""
    raw = reply.headers.get("X-Pagination-Page-Count")
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def body_page_count(reply: Reply) -> int | None:
    """``total_pages`` of a JSON body (TMDB), or ``None`` when absent or not a number."""
    body = reply.body
    count = body.get("total_pages") if isinstance(body, dict) else None
    return count if isinstance(count, int) and not isinstance(count, bool) else None


async def iter_pages(
    fetch: Callable[[int], Awaitable[Reply | None]],
    page_count: PageCount,
    *,
    first: int = 1,
    last: int | None = None,
) -> AsyncIterator[Reply]:
    """Yield page ``first``, ``first + 1``, ... until the last page.

    Paging stops after the page whose number reaches ``page_count`` (read from each reply,
    since a list may grow or shrink while it is read), at an empty page (a JSON list or a
    ``results`` list with nothing in it: a short last page), at ``last``, or when ``fetch``
    returns ``None``. Without a page count, only the first page is read: reclio never
    guesses how long a list is.

    Args:
        fetch: Gets one page by number.
        page_count: Reads the number of pages from a reply.
        first: The first page to read.
        last: The last page to read at most (the service's own cap, e.g. TMDB's 500).
    """
    page = first
    while last is None or page <= last:
        reply = await fetch(page)
        if reply is None or _is_empty(reply):
            return
        yield reply
        count = page_count(reply)
        if count is None or page >= count:
            return
        page += 1


def _is_empty(reply: Reply) -> bool:
    body = reply.body
    if isinstance(body, dict):
        body = body.get("results", body)
    return isinstance(body, list) and not body
