"""Every Python block in README.md and docs/ runs as written, or says it is a fragment.

A block is a fragment when the line before its fence is ``<!-- fragment -->`` (a signature,
a shape, an excerpt that needs a service). Every other block runs in a fresh interpreter,
in a folder where ``make demo``'s state file (``demo.sqlite3``) exists, so the docs cannot
drift from the code.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"(?P<before>[^\n]*)\n```python\n(?P<code>.*?)\n```", re.DOTALL)
FRAGMENT = "<!-- fragment -->"


def _blocks() -> list[tuple[str, str, bool]]:
    found = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        for number, match in enumerate(FENCE.finditer("\n" + text), start=1):
            name = f"{page.relative_to(ROOT)}#{number}"
            found.append((name, match["code"], match["before"].strip() == FRAGMENT))
    return found


BLOCKS = _blocks()


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("docs-run")
    subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "reclio", "demo", "--users", "30", "--state", "demo.sqlite3"],
        cwd=folder,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return folder


def test_every_page_with_code_has_runnable_blocks() -> None:
    """Fragments are the exception: most blocks run."""
    runnable = [name for name, _code, fragment in BLOCKS if not fragment]
    assert len(runnable) >= len(BLOCKS) // 2, [name for name, _c, f in BLOCKS if f]


@pytest.mark.parametrize(
    ("name", "code"),
    [(name, code) for name, code, fragment in BLOCKS if not fragment],
    ids=[name for name, _code, fragment in BLOCKS if not fragment],
)
def test_block_runs(name: str, code: str, demo_folder: Path) -> None:
    """The block exits 0 in a fresh interpreter."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECLIO_")}
    env |= {"XDG_DATA_HOME": str(demo_folder / "xdg"), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(  # noqa: S603 - the docs' own code
        [sys.executable, "-c", code],
        cwd=demo_folder,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, f"{name} failed:\n{done.stderr[-3000:]}"
