"""ReclioConfig.from_env: the one place that reads the environment."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from reclio.config import ReclioConfig
from reclio.errors import ConfigurationError


def test_empty_environment_selects_the_embedded_default(caplog: pytest.LogCaptureFixture) -> None:
    """No credentials: embedded default, said once at INFO, state under XDG_DATA_HOME."""
    with caplog.at_level(logging.INFO, logger="reclio.config"):
        config = ReclioConfig.from_env({"XDG_DATA_HOME": "/data"})
    assert config.embedded
    assert config.state_path == Path("/data/reclio/state.sqlite3")
    assert [r.levelno for r in caplog.records] == [logging.INFO]
    assert "embedded default" in caplog.text


def test_credentials_are_read_and_never_shown() -> None:
    """Secrets are read but appear in no repr."""
    env = {
        "RECLIO_TMDB_TOKEN": "tmdb-secret",
        "RECLIO_TRAKT_CLIENT_ID": "trakt-id-secret",
        "RECLIO_TRAKT_CLIENT_SECRET": "trakt-secret",
        "RECLIO_RECOMBEE_DATABASE_ID": "db-1",
        "RECLIO_RECOMBEE_TOKEN": "recombee-secret",
        "RECLIO_RECOMBEE_REGION": "eu-west",
        "RECLIO_STATE_PATH": "/srv/reclio/state.db",
    }
    config = ReclioConfig.from_env(env)
    assert not config.embedded
    assert config.recombee is not None
    assert config.recombee.region == "eu-west"
    assert config.state_path == "/srv/reclio/state.db"
    for secret in ("tmdb-secret", "trakt-id-secret", "trakt-secret", "recombee-secret"):
        assert secret not in repr(config)


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({"RECLIO_TRAKT_CLIENT_ID": "x"}, "RECLIO_TRAKT_CLIENT_SECRET"),
        ({"RECLIO_RECOMBEE_TOKEN": "x"}, "RECLIO_RECOMBEE_DATABASE_ID"),
    ],
)
def test_half_a_credential_pair_names_the_missing_variable(
    env: dict[str, str], missing: str
) -> None:
    """Half-set credentials are a configuration error that names what to set."""
    with pytest.raises(ConfigurationError, match=missing):
        ReclioConfig.from_env(env)
