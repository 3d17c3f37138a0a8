"""The example app under uvicorn: a configuration mistake is one line and exit 2, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("uvicorn")
ROOT = Path(__file__).resolve().parents[2]


def test_a_bad_variable_stops_the_app_with_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECLIO_")}
    env |= {"RECLIO_HTTP_TIMEOUT": "soon", "RECLIO_STATE_PATH": str(tmp_path / "s.sqlite3")}
    done = subprocess.run(
        [sys.executable, "-m", "uvicorn", "examples.chilllink_app:app", "--port", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("reclio:")]
    assert len(lines) == 1
    assert "RECLIO_HTTP_TIMEOUT" in lines[0]
