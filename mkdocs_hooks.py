"""mkdocs hooks: render tables from the code's own data (the feed layout, the variables)."""

from __future__ import annotations

from typing import Any

from reclio.config import variables_markdown
from reclio.feeds import DEFAULT_LAYOUT, layout_markdown

PLACEHOLDER = "<!-- reclio:default-layout -->"
VARIABLES = "<!-- reclio:env-vars -->"


def on_page_markdown(markdown: str, **_kwargs: Any) -> str:  # noqa: ANN401 - mkdocs hook API
    """Replace the placeholders with the tables of ``DEFAULT_LAYOUT`` and ``VARIABLES``."""
    markdown = markdown.replace(PLACEHOLDER, layout_markdown(DEFAULT_LAYOUT))
    return markdown.replace(VARIABLES, variables_markdown())
