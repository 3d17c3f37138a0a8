"""What every command group shares: the configuration, the state file, argument types."""

from __future__ import annotations

import argparse

from reclio.config import ReclioConfig

__all__ = ["Commands", "add_state", "config_of", "positive_int"]

Commands = argparse._SubParsersAction  # noqa: SLF001 - argparse's own type for subcommands


def positive_int(text: str) -> int:
    """An argparse type: a whole number of 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {value}")
    return value


def add_state(parser: argparse.ArgumentParser) -> None:
    """The ``--state FILE`` option every command that touches state has."""
    parser.add_argument(
        "--state", metavar="FILE", help="SQLite state file (default: RECLIO_STATE_PATH)"
    )


def config_of(args: argparse.Namespace) -> ReclioConfig:
    """The configuration from the environment, with ``--state`` applied."""
    config = ReclioConfig.from_env()
    state = getattr(args, "state", None)
    return config.with_state_path(state) if state else config
