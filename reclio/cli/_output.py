"""One output style for every command: data on stdout, talk and progress on stderr.

Tables are for people (rich, sized to the terminal; one line per row when piped); ``--json``
prints one document for machines. Progress bars and messages go to stderr, so a pipe reading
stdout only ever sees the data.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from reclio.domain import Feed, FeedsResponse, Progress, ProgressCallback, TmdbQuerySource

__all__ = ["emit_json", "print_feeds", "progress_bars", "say", "warn"]

PREFIX = "reclio"


def say(text: str) -> None:
    """A line of data for people, on stdout."""
    sys.stdout.write(text + "\n")


def warn(text: str) -> None:
    """A message (an error, a note) on stderr, with the one error prefix."""
    sys.stderr.write(f"{PREFIX}: {text}\n")


def emit_json(document: Any) -> None:  # noqa: ANN401 - any JSON document
    """One compact JSON document on stdout."""
    sys.stdout.write(json.dumps(document, separators=(",", ":"), ensure_ascii=False) + "\n")


def _source_text(feed: Feed) -> str:
    source = feed.source
    if isinstance(source, TmdbQuerySource):
        return f"{source.path}?{source.parameters}" if source.parameters else source.path
    return f"trakt list {source.list_id}"


def print_feeds(response: FeedsResponse, *, title: str, explain: bool = False) -> None:
    """Print feeds as a table for people, with provenance when ``explain``."""
    from rich.console import Console  # noqa: PLC0415 - keep `import reclio.cli` light
    from rich.table import Table  # noqa: PLC0415

    table = Table(title=title, title_justify="left", show_lines=explain)
    table.add_column("#", justify="right")
    table.add_column("id", overflow="fold")
    table.add_column("title")
    table.add_column("type")
    table.add_column("source", overflow="fold")
    for position, feed in enumerate(response.feeds, start=1):
        source = _source_text(feed)
        if explain:
            tried = "; ".join(
                f"{a.link}: {a.outcome.value}" + (f" ({a.detail})" if a.detail else "")
                for a in feed.provenance
            )
            source = f"{source}\n[dim]{tried}[/dim]"
        table.add_row(str(position), feed.id, feed.title, feed.content_type.value, source)
    # A pipe has no width: print wide enough for one line per feed instead of rich's 80.
    Console(width=None if sys.stdout.isatty() else 160).print(table)


@contextmanager
def progress_bars(*, enabled: bool = True) -> Iterator[ProgressCallback]:
    """A progress callback drawing one bar per stage on stderr (nothing when not a terminal)."""
    from rich.console import Console  # noqa: PLC0415
    from rich.progress import Progress as Bars  # noqa: PLC0415

    console = Console(stderr=True)
    if not enabled or not console.is_terminal:
        yield _stages_to_stderr()
        return
    with Bars(console=console, transient=True) as bars:
        tasks: dict[str, Any] = {}

        def show(step: Progress) -> None:
            if step.stage not in tasks:
                tasks[step.stage] = bars.add_task(step.stage, total=step.total)
            bars.update(tasks[step.stage], completed=step.done, total=step.total)

        yield show


def _stages_to_stderr() -> ProgressCallback:
    """Without a terminal: one stderr line when a stage starts, none per step."""
    seen: set[str] = set()

    def show(step: Progress) -> None:
        if step.stage not in seen:
            seen.add(step.stage)
            sys.stderr.write(f"{PREFIX}: {step.stage} ...\n")

    return show
