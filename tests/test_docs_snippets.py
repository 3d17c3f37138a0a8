"""Every Python block in README.md and docs/ runs as written, or says it is a fragment.

A block is a fragment when the line before its fence is ``<!-- fragment -->`` (an excerpt
that needs a service or an API key; the prose beside it says so). A block after
``<!-- pytest -->`` is a test module: it is saved as a file and run by pytest, which must
collect and pass its tests. Every other block runs in a fresh interpreter, in a folder
where ``make demo``'s state file (``demo.sqlite3``) exists, so the docs cannot drift from
the code. Fences indented under a list item count too.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(
    r"(?P<before>[^\n]*)\n(?P<indent>[ ]*)```python\n(?P<code>.*?)\n(?P=indent)```",
    re.DOTALL,
)
FRAGMENT = "<!-- fragment -->"
PYTEST = "<!-- pytest -->"


def _blocks() -> list[tuple[str, str, str]]:
    """Every block as (name, code, kind): kind is "fragment", "pytest" or "script"."""
    found = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        for number, match in enumerate(FENCE.finditer("\n" + text), start=1):
            name = f"{page.relative_to(ROOT)}#{number}"
            marker = match["before"].strip()
            kind = {FRAGMENT: "fragment", PYTEST: "pytest"}.get(marker, "script")
            found.append((name, textwrap.dedent(match["code"]), kind))
    return found


BLOCKS = _blocks()


def _python(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run this interpreter in ``cwd``, reclio first on the path, no RECLIO_* variable set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECLIO_")}
    env |= {"XDG_DATA_HOME": str(cwd / "xdg"), "PYTHONPATH": str(ROOT)}
    return subprocess.run(  # noqa: S603 - this interpreter, on the docs' own code
        [sys.executable, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env=env,
    )


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding what `make demo` leaves: the state file demo.sqlite3."""
    folder = tmp_path_factory.mktemp("docs-run")
    done = _python("-m", "reclio", "demo", "--users", "30", "--state", "demo.sqlite3", cwd=folder)
    assert done.returncode == 0, done.stderr[-3000:]
    return folder


def test_blocks_are_found() -> None:
    """The scan sees the blocks it must (a regex that matched nothing would pass vacuously)."""
    kinds = [kind for _name, _code, kind in BLOCKS]
    assert kinds.count("script") >= 15
    assert kinds.count("pytest") >= 2
    # The conftest.py block of writing-an-adapter.md is indented under a list item.
    assert any("register_assert_rewrite" in code for _n, code, _k in BLOCKS)


def test_every_page_with_code_has_runnable_blocks() -> None:
    """Fragments are the exception: most blocks run."""
    runnable = [name for name, _code, kind in BLOCKS if kind != "fragment"]
    assert len(runnable) >= len(BLOCKS) // 2, [n for n, _c, k in BLOCKS if k == "fragment"]


@pytest.mark.parametrize(
    ("name", "code"),
    [(name, code) for name, code, kind in BLOCKS if kind == "script"],
    ids=[name for name, _code, kind in BLOCKS if kind == "script"],
)
def test_block_runs(name: str, code: str, demo_folder: Path) -> None:
    """The block exits 0 in a fresh interpreter."""
    done = _python("-c", code, cwd=demo_folder)
    assert done.returncode == 0, f"{name} failed:\n{done.stderr[-3000:]}"


@pytest.mark.parametrize(
    ("name", "code"),
    [(name, code) for name, code, kind in BLOCKS if kind == "pytest"],
    ids=[name for name, _code, kind in BLOCKS if kind == "pytest"],
)
def test_test_module_passes(name: str, code: str, tmp_path: Path) -> None:
    """The block, saved as a test module, is collected and passes under pytest."""
    (tmp_path / "test_docs_block.py").write_text(code, encoding="utf-8")
    done = _python(
        "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_docs_block.py", cwd=tmp_path
    )
    # pytest exits 5 when it collects nothing, so 0 means tests ran and passed.
    assert done.returncode == 0, f"{name} failed:\n{done.stdout[-3000:]}{done.stderr[-1000:]}"
