"""mkdocs hooks: render tables that live in the code's own data into the docs pages.

* ``<!-- reclio:default-layout -->`` (docs/feeds.md): the default feed layout.
* ``<!-- reclio:recombee-verdicts -->`` (docs/troubleshooting.md): the diagnose verdicts.
"""

from __future__ import annotations

from typing import Any

from reclio.diagnostics import verdicts_markdown
from reclio.feeds import DEFAULT_LAYOUT, layout_markdown

PLACEHOLDER = "<!-- reclio:default-layout -->"
VERDICTS_PLACEHOLDER = "<!-- reclio:recombee-verdicts -->"


def on_page_markdown(markdown: str, **_kwargs: Any) -> str:  # noqa: ANN401 - mkdocs hook API
    """Replace each placeholder with the table rendered from the code."""
    markdown = markdown.replace(PLACEHOLDER, layout_markdown(DEFAULT_LAYOUT))
    return markdown.replace(VERDICTS_PLACEHOLDER, verdicts_markdown())
