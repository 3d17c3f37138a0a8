"""The reclio command as a newcomer meets it: one line per mistake, documented exit codes."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from reclio import __version__
from reclio.cli import EXIT_INTERRUPTED, EXIT_USAGE, main


def _one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert lines[0].startswith("reclio: "), text
    return lines[0]


def test_feeds_on_an_empty_file_refuses_and_writes_nothing(tmp_path, capsys):
    """A file that is not a reclio state: one line naming it, exit 2, file untouched."""
    empty = tmp_path / "empty.sqlite3"
    empty.touch()
    assert main(["feeds", "demo", "--state", str(empty)]) == EXIT_USAGE
    line = _one_line(capsys.readouterr().err)
    assert str(empty) in line
    assert "not a reclio state" in line
    assert empty.stat().st_size == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.sqlite3"]


def test_feeds_on_another_applications_database_adds_no_tables(tmp_path, capsys):
    """Another application's SQLite database is refused and left exactly as it was."""
    other = tmp_path / "other.db"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE notes (body TEXT)")
    db.commit()
    db.close()
    before = other.read_bytes()
    for command in (["feeds", "demo"], ["lists", "demo"], ["catalog", "get", "movie_1"]):
        assert main([*command, "--state", str(other)]) == EXIT_USAGE, command
        assert "not a reclio state" in _one_line(capsys.readouterr().err)
    assert other.read_bytes() == before


def test_reading_the_demo_state_writes_nothing(tmp_path, capsys):
    """`reclio feeds` and `reclio lists` on a real state leave every byte of it as it was
    (SQLite's WAL index, the -shm file, is shared memory, not data)."""
    state = tmp_path / "state.sqlite3"
    assert main(["demo", "--json", "--users", "10", "--state", str(state)]) == 0
    capsys.readouterr()
    before = state.read_bytes()
    assert main(["feeds", "demo", "--json", "--state", str(state)]) == 0
    assert main(["lists", "demo", "--json", "--state", str(state)]) == 0
    assert state.read_bytes() == before
    wal = tmp_path / "state.sqlite3-wal"
    assert not wal.exists() or wal.stat().st_size == 0


@pytest.mark.parametrize(
    "argv",
    [["demo", "--users", "0"], ["sync", "users", "--concurrency", "0"], ["demo", "--users", "x"]],
)
def test_bad_numbers_are_usage_errors(argv, capsys):
    """argparse-style: exit 2 and a usage line, no traceback."""
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == EXIT_USAGE
    err = capsys.readouterr().err
    assert "usage:" in err
    assert "Traceback" not in err


def test_version_and_python_dash_m(capsys):
    """`reclio --version` and `python -m reclio --version` print the version."""
    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out.strip() == f"reclio {__version__}"
    done = subprocess.run(
        [sys.executable, "-m", "reclio", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout.strip()) == (0, f"reclio {__version__}")


def test_verbosity_flags_after_the_command(tmp_path, capsys):
    """-v and -q work after the subcommand too."""
    state = tmp_path / "s.sqlite3"
    assert main(["demo", "--json", "--users", "5", "--state", str(state), "-q"]) == 0
    capsys.readouterr()
    assert main(["feeds", "demo", "-v", "--json", "--state", str(state)]) == 0


def test_ctrl_c_is_exit_130_and_one_line(monkeypatch, capsys):
    """Interrupted: one line, exit 130."""
    from reclio.cli import demo  # noqa: PLC0415

    def interrupted(_args):
        raise KeyboardInterrupt

    monkeypatch.setattr(demo, "_run", interrupted)
    assert main(["demo"]) == EXIT_INTERRUPTED
    assert _one_line(capsys.readouterr().err) == "reclio: interrupted"


def test_the_default_state_folder_is_created_on_a_fresh_machine(tmp_path, monkeypatch, capsys):
    """No ~/.local/share/reclio yet: a command that writes creates it."""
    home = tmp_path / "fresh"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    monkeypatch.delenv("RECLIO_STATE_PATH", raising=False)
    assert main(["sync", "content", "--json"]) == 0
    capsys.readouterr()
    assert (home / "reclio" / "state.sqlite3").is_file()


def test_a_closed_pipe_is_not_an_error(tmp_path):
    """`reclio feeds --json | head -c 1`: exit 0 and nothing on stderr."""
    state = tmp_path / "state.sqlite3"
    main(["demo", "--json", "--users", "5", "--state", str(state)])
    script = (
        f"{sys.executable} -m reclio feeds demo --explain --state {state} | head -c 1 >/dev/null;"
        " exit ${PIPESTATUS[0]}"
    )
    done = subprocess.run(  # noqa: S603 - fixed argv
        ["/bin/bash", "-c", script],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "80"},
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert Path(state).is_file()
