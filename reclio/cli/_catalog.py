"""The logic of ``reclio catalog get``: show one title as the catalog holds it.

`run_catalog_get` takes the two ports it needs (a catalog source and the catalog store)
and returns what to print and the exit code, so the command module only parses flags.
"""

from __future__ import annotations

import json

from reclio.domain import CatalogRecord, ItemRef, Title
from reclio.ports import CatalogSource, CatalogStore

__all__ = ["PROPERTY_NAMES", "render_title", "run_catalog_get"]

PROPERTY_NAMES = (
    "title",
    "overview",
    "genres",
    "year",
    "vote_average",
    "popularity",
    "media_type",
    "cast",
    "director",
)
"""The nine catalog properties of DESIGN section 3, in its order."""


def render_title(title: Title, *, as_json: bool = False) -> str:
    """``item_id`` and the nine catalog properties: one JSON object, or aligned lines."""
    properties = {"item_id": title.ref.item_id, **title.properties()}
    if as_json:
        return json.dumps(properties, ensure_ascii=False)
    width = max(map(len, properties))
    lines = []
    for name, value in properties.items():
        if isinstance(value, list):
            text = ", ".join(map(str, value))
        else:
            text = "" if value is None else str(value)
        lines.append(f"{name:<{width}}  {text}".rstrip())
    return "\n".join(lines)


async def run_catalog_get(
    item_id: str,
    *,
    source: CatalogSource | None,
    store: CatalogStore,
    refresh: bool = False,
    as_json: bool = False,
) -> tuple[str, int]:
    """``reclio catalog get ITEM_ID [--refresh] [--json]``.

    Args:
        item_id: ``movie_603`` or ``tv_1399``.
        source: The catalog source (``--refresh`` reads the title from it; ``None`` when
            not refreshing).
        store: The catalog store the title is read from (and written to on refresh).
        refresh: Fetch the title first and store it as content sync does (a record with its
            content hash; hashes already pushed and embedded are kept).
        as_json: One JSON object whose keys are ``item_id`` and the nine properties.

    Returns:
        The text to print and the exit code: 0 found, 1 unknown title (one line), 2 an
        item id that is not one (one line).

    Raises:
        SourceError: the source or the store failed.
    """
    try:
        ref = ItemRef.parse(item_id)
    except ValueError as exc:
        return f"reclio catalog get: {exc}", 2
    if refresh:
        if source is None:
            msg = "--refresh needs a catalog source"
            raise ValueError(msg)
        title = await source.get_title(ref)
        if title is None:
            return f"reclio catalog get: {ref} is not in the catalog source", 1
        old = await store.get_titles([ref])
        record = old[0].updated(title) if old else CatalogRecord.of(title)
        if not old or record is not old[0]:
            await store.put_titles([record])
        return render_title(title, as_json=as_json), 0
    stored = await store.get_titles([ref])
    if not stored:
        hint = "run `reclio sync content`, or add --refresh to fetch it"
        return f"reclio catalog get: {ref} is not in the catalog; {hint}", 1
    return render_title(stored[0].title, as_json=as_json), 0
