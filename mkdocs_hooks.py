"""mkdocs hooks: render tables that live in the code's own data into the docs pages.

* ``<!-- reclio:default-layout -->`` (docs/feeds.md): the default feed layout.
* ``<!-- reclio:env-vars -->`` (docs/configuration.md): every ``RECLIO_*`` variable.
* ``<!-- reclio:recombee-verdicts -->`` (docs/troubleshooting.md): the diagnose verdicts.
"""

from __future__ import annotations

from typing import Any

from reclio.config import variables_markdown
from reclio.diagnostics import verdicts_markdown
from reclio.feeds import DEFAULT_LAYOUT, layout_markdown

TABLES = {
    "<!-- reclio:default-layout -->": lambda: layout_markdown(DEFAULT_LAYOUT),
    "<!-- reclio:env-vars -->": variables_markdown,
    "<!-- reclio:recombee-verdicts -->": verdicts_markdown,
}


def on_page_markdown(markdown: str, **_kwargs: Any) -> str:  # noqa: ANN401 - mkdocs hook API
    """Replace each placeholder with the table rendered from the code."""
    for placeholder, render in TABLES.items():
        if placeholder in markdown:
            markdown = markdown.replace(placeholder, render())
    return markdown
