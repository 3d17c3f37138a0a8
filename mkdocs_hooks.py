"""mkdocs hooks: render the default feed layout into docs/feeds.md from the code's own data."""

from __future__ import annotations

from typing import Any

from reclio.feeds import DEFAULT_LAYOUT, layout_markdown

PLACEHOLDER = "<!-- reclio:default-layout -->"


def on_page_markdown(markdown: str, **_kwargs: Any) -> str:  # noqa: ANN401 - mkdocs hook API
    """Replace the placeholder with the table of ``DEFAULT_LAYOUT``."""
    return markdown.replace(PLACEHOLDER, layout_markdown(DEFAULT_LAYOUT))
