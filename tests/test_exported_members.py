"""The public API: ``reclio.__all__`` is sorted and complete, and ``import reclio`` stays light."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import reclio

ROOT = Path(__file__).resolve().parents[1]

# Optional or heavy: adapters and the embedded engine import them lazily, never `import reclio`.
HEAVY_MODULES = (
    "annoy",
    "numpy",
    "recombee_api_client",
    "scipy",
    "sentence_transformers",
    "torch",
    "voyager",
)


def _isort_style(name: str) -> tuple[int, list[int | str]]:
    """Ruff's RUF022 order: CONSTANTS, then CamelCase, then the rest; natural order within."""
    if name.isupper():
        group = 0
    elif name[:1].isupper():
        group = 1
    else:
        group = 2
    natural = [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]
    return group, natural


def test_all_is_sorted() -> None:
    """__all__ is kept in ruff's isort-style order, so diffs stay small."""
    assert reclio.__all__ == sorted(reclio.__all__, key=_isort_style)


def test_all_has_no_duplicates() -> None:
    """Each name is exported once."""
    assert len(reclio.__all__) == len(set(reclio.__all__))


def test_all_matches_the_public_names() -> None:
    """__all__ lists exactly the public names the package root defines (submodules aside)."""
    public = {
        name
        for name, value in vars(reclio).items()
        if not name.startswith("_") and not isinstance(value, ModuleType)
    }
    assert set(reclio.__all__) == public | {"__version__"}


def test_every_export_exists() -> None:
    """Every name in __all__ is importable from the package root."""
    missing = [name for name in reclio.__all__ if not hasattr(reclio, name)]
    assert missing == []


def test_import_reclio_stays_light() -> None:
    """A fresh `import reclio` imports none of the heavy optional dependencies."""
    code = f"import sys, reclio; print(' '.join(m for m in {HEAVY_MODULES!r} if m in sys.modules))"
    result = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == [], "`import reclio` imported these; import them lazily"
