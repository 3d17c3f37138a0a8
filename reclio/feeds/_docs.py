"""The layout in words: a Markdown table rendered from the ``FeedSpec`` data itself."""

from __future__ import annotations

from collections.abc import Sequence

from reclio.feeds._chain import FeedSpec


def layout_markdown(layout: Sequence[FeedSpec]) -> str:
    """A Markdown table of a layout: position, id, title, content type and the chain.

    The docs render the default layout through this function, so they cannot drift from
    the code.
    """
    rows = [
        "| # | id | title | content | chain: the first link that can serve wins |",
        "|---|---|---|---|---|",
    ]
    for position, spec in enumerate(layout, start=1):
        feed_id = f"`{spec.id}`"
        if spec.id_template:
            feed_id = f"`{spec.id_template}`, else {feed_id}"
        title = spec.title
        if spec.title_template:
            title = f"{spec.title_template}, else {title}"
        steps = [link.describe for link in spec.chain] + [spec.terminal.describe]
        chain = " → ".join(step.replace("|", "\\|") for step in steps)
        rows.append(
            f"| {position} | {feed_id} | {title} | {spec.content_type.value} | {chain} |"
        )
    return "\n".join(rows)
