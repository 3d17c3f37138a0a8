"""The documentation site: the nav matches the pages, and the reference covers the public API."""

from __future__ import annotations

import importlib
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

import reclio
import reclio.errors

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
MKDOCS_YML = ROOT / "mkdocs.yml"

# `::: reclio.domain.ItemRef` at the start of a line, as mkdocstrings reads it.
DIRECTIVE = re.compile(r"^:::\s+(\S+)", re.MULTILINE)


class _Loader(yaml.SafeLoader):
    """Safe YAML that reads mkdocs-only tags (``!ENV``, ``!!python/name:``) as None."""


_Loader.add_multi_constructor("", lambda _loader, _suffix, _node: None)


def _config() -> dict[str, Any]:
    return yaml.load(MKDOCS_YML.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - safe loader subclass


def _nav_pages(entries: list[Any]) -> list[str]:
    pages: list[str] = []
    for entry in entries:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        if isinstance(value, list):
            pages.extend(_nav_pages(value))
        elif isinstance(value, str) and not re.match(r"[a-z]+://", value):
            pages.append(value)
    return pages


def _doc_pages() -> set[str]:
    return {path.relative_to(DOCS).as_posix() for path in DOCS.rglob("*.md")}


def test_nav_pages_exist() -> None:
    """Every page in the nav has a file under docs/."""
    missing = [page for page in _nav_pages(_config()["nav"]) if not (DOCS / page).is_file()]
    assert missing == []


def test_nav_has_no_duplicates() -> None:
    """A page appears once in the nav."""
    pages = _nav_pages(_config()["nav"])
    assert len(pages) == len(set(pages))


def test_every_page_is_in_the_nav() -> None:
    """No orphan pages: a page under docs/ that is not in the nav is unreachable from the menu."""
    orphans = sorted(_doc_pages() - set(_nav_pages(_config()["nav"])))
    assert orphans == [], f"add these pages to the nav in mkdocs.yml: {orphans}"


def _resolve(identifier: str) -> object:
    """Import ``a.b.C`` as the longest importable module plus attribute lookups."""
    parts = identifier.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[split:]:
            obj = getattr(obj, attribute)
        return obj
    raise ModuleNotFoundError(identifier)


@pytest.mark.parametrize(
    "identifier",
    sorted(
        {
            match
            for page in sorted(DOCS.rglob("*.md"))
            for match in DIRECTIVE.findall(page.read_text(encoding="utf-8"))
        }
    ),
)
def test_directive_targets_exist(identifier: str) -> None:
    """Each ``:::`` directive names an object that imports (a rename shows up here first)."""
    _resolve(identifier)


def _tree_in_docstring() -> list[str]:
    doc = reclio.errors.__doc__ or ""
    block = doc.split("The tree::", 1)[1].split("\n\n", 1)[1]
    # The tree ends at the first unindented paragraph after it.
    lines: list[str] = []
    for line in block.splitlines():
        if line and not line.startswith(" "):
            break
        lines.append(line)
    return textwrap.dedent("\n".join(lines)).strip().splitlines()


def _tree_on_page() -> list[str]:
    page = (DOCS / "errors.md").read_text(encoding="utf-8")
    section = page.split("## The tree", 1)[1]
    return section.split("```", 2)[1].strip().splitlines()


def test_errors_page_draws_the_tree_of_errors_py() -> None:
    """docs/errors.md shows the same exception tree as the reclio.errors docstring."""
    assert _tree_on_page() == _tree_in_docstring()


def test_errors_tree_names_every_exception() -> None:
    """Every class in reclio.errors.__all__ is in the tree on the errors page."""
    drawn = {match for line in _tree_on_page() for match in re.findall(r"\b[A-Z]\w+", line)}
    assert set(reclio.errors.__all__) <= drawn


def test_reference_documents_every_export(docs_site: Path) -> None:
    """Every name in reclio.__all__ has its own rendered entry (an anchor) in the site."""
    # Module-level entries only: `reclio.domain.ItemRef`, not a member like `...ItemRef.movie`.
    entry = re.compile(r'id="reclio(?:\.[a-z_][a-z0-9_]*)*\.(\w+)"')
    pages = docs_site.rglob("*.html")
    documented = {name for page in pages for name in entry.findall(page.read_text("utf-8"))}
    # __version__ is a plain string: there is no docstring to render.
    undocumented = sorted(set(reclio.__all__) - documented - {"__version__"})
    assert undocumented == [], f"no reference entry for: {undocumented}"


# What fits: 85 characters of code beside both sidebars at 1280 px, in DejaVu Sans Mono
# (as wide as Menlo, wider than SF Mono or Consolas); tests/test_docs_render.py measures it.
CODE_LINE_LIMIT = 84
_CODE_BLOCK = re.compile(
    r"^(?P<indent>[ ]*)```[^\n]*\n(?P<code>.*?)^(?P=indent)```", re.MULTILINE | re.DOTALL
)


def test_code_lines_fit_a_1280_px_page() -> None:
    """No line of a code block in README.md or docs/ is cut (scrolls sideways) at 1280 px."""
    long = [
        f"{page.relative_to(ROOT)}: {len(line)} chars: {line.strip()[:60]}"
        for page in [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
        for block in _CODE_BLOCK.finditer(page.read_text(encoding="utf-8"))
        for line in block["code"].splitlines()
        if len(line) - len(block["indent"]) > CODE_LINE_LIMIT
    ]
    assert long == [], "shorten these lines (or narrow the diagram)"


def test_readme_links_are_absolute() -> None:
    """PyPI shows README.md without the repository: a relative link there is broken."""
    links = re.findall(r"\]\(([^)\s]+)", (ROOT / "README.md").read_text(encoding="utf-8"))
    assert links, "the README links to the docs"
    assert [link for link in links if not link.startswith("https://")] == []


def test_readme_links_to_docs_pages_that_exist() -> None:
    """Each reclio.readthedocs.io link of the README names a page of the nav."""
    site = _config()["site_url"].rstrip("/")
    nav = _nav_pages(_config()["nav"])
    pages = {page.removesuffix(".md").removesuffix("index").rstrip("/") for page in nav}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    linked = [path.rstrip("/") for path in re.findall(re.escape(site) + r"/([^)\s#]*)", readme)]
    assert linked
    assert [path for path in linked if path not in pages] == []
