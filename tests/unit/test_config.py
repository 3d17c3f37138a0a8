"""ReclioConfig.from_env: the one place that reads the environment."""

from __future__ import annotations

import re
from pathlib import Path

import attrs
import pytest

from reclio import config as config_module
from reclio.config import VARIABLES, ReclioConfig, variables_markdown
from reclio.errors import ConfigurationError

SECRETS = {
    "RECLIO_TMDB_TOKEN": "tmdb-secret",
    "RECLIO_TRAKT_CLIENT_ID": "trakt-id-secret",
    "RECLIO_TRAKT_CLIENT_SECRET": "trakt-secret",
    "RECLIO_RECOMBEE_DATABASE_ID": "db-1",
    "RECLIO_RECOMBEE_TOKEN": "recombee-secret",
    "RECLIO_STATE_URL": "postgresql://reclio:pg-secret@127.0.0.1/reclio",
}


def test_empty_environment_selects_the_embedded_default() -> None:
    """No credentials: every service is None, state under XDG_DATA_HOME."""
    config = ReclioConfig.from_env({"XDG_DATA_HOME": "/data"})
    assert config.embedded
    assert config.state.path == Path("/data/reclio/state.sqlite3")
    assert config.state.url is None
    assert config.vectors.backend == "exact"
    assert config.embedding.model is None


def test_credentials_are_read_and_never_shown() -> None:
    """Secrets are read but appear in no repr."""
    env = {**SECRETS, "RECLIO_RECOMBEE_REGION": "eu-west", "RECLIO_STATE_PATH": "/srv/s.db"}
    config = ReclioConfig.from_env(env)
    assert not config.embedded
    assert config.recombee is not None
    assert config.recombee.region == "eu-west"
    assert config.tmdb is not None
    assert config.tmdb.token == SECRETS["RECLIO_TMDB_TOKEN"]
    assert config.state.path == "/srv/s.db"
    shown = repr(config)
    for name, secret in SECRETS.items():
        if name != "RECLIO_RECOMBEE_DATABASE_ID":
            assert secret not in shown, name
    assert "pg-secret" not in shown


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


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RECLIO_VECTOR_INDEX", "faiss"),
        ("RECLIO_HTTP_TIMEOUT", "soon"),
        ("RECLIO_HTTP_TIMEOUT", "-1"),
        ("RECLIO_HTTP_MAX_ATTEMPTS", "0"),
        ("RECLIO_TMDB_RATE_LIMIT", "0"),
        ("RECLIO_APP_SCHEDULER", "sometimes"),
        ("RECLIO_USER_SWEEP_CONCURRENCY", "0"),
        ("RECLIO_ADMIN_TOKEN", "short"),
    ],
)
def test_a_bad_value_names_its_variable(name: str, value: str) -> None:
    """One line that names the variable and the value, never a traceback from deep inside."""
    env = {name: value, "RECLIO_TMDB_TOKEN": "t"}
    with pytest.raises(ConfigurationError, match=name) as caught:
        ReclioConfig.from_env(env)
    assert "\n" not in str(caught.value)


def _leaves(value: object) -> list[object]:
    if attrs.has(type(value)):
        return [leaf for f in attrs.fields(type(value)) for leaf in _leaves(getattr(value, f.name))]
    return [value]


@pytest.mark.parametrize("var", VARIABLES, ids=lambda v: v.name)
def test_every_listed_variable_changes_the_config(var: config_module.EnvVar) -> None:
    """A variable in the docs table that nothing reads would be a lie: each one is read."""
    base = {"RECLIO_TMDB_TOKEN": "t", "RECLIO_TRAKT_CLIENT_ID": "i"}
    base |= {"RECLIO_TRAKT_CLIENT_SECRET": "s", "RECLIO_RECOMBEE_DATABASE_ID": "d"}
    base |= {"RECLIO_RECOMBEE_TOKEN": "r"}
    samples = {"RECLIO_VECTOR_INDEX": "annoy", "RECLIO_LOG_LEVEL": "DEBUG"}
    samples |= {"RECLIO_ADMIN_TOKEN": "an-admin-token-of-some-length"}
    samples |= {"RECLIO_APP_USER_ID_PARAM": "on", "RECLIO_APP_SCHEDULER": "off"}
    numeric = ("TIMEOUT", "ATTEMPTS", "RATE_LIMIT", "THREADS", "INTERVAL", "CONCURRENCY")
    value = samples.get(var.name, "7" if var.name.endswith(numeric) else "/x/changed")
    before = ReclioConfig.from_env(base)
    after = ReclioConfig.from_env({**base, var.name: value})
    assert _leaves(after) != _leaves(before)


def test_the_module_reads_no_variable_the_table_leaves_out() -> None:
    """Every RECLIO_* name in config.py is in VARIABLES, and the docs table lists them all."""
    source = Path(config_module.__file__).read_text(encoding="utf-8")
    named = set(re.findall(r"RECLIO_[A-Z_]+[A-Z]", source))
    listed = {var.name for var in VARIABLES}
    assert named <= listed
    table = variables_markdown()
    assert all(f"`{name}`" in table for name in listed)


def test_every_variable_is_spelled_reclio_underscore() -> None:
    """Each variable is ``RECLIO_<WORD>_...``: a name like RECLIOTMDB_BASE_URL is a typo."""
    spelled = re.compile(r"RECLIO_[A-Z0-9]+(_[A-Z0-9]+)*")
    assert [var.name for var in VARIABLES if not spelled.fullmatch(var.name)] == []


def test_the_tmdb_and_trakt_roots_are_read_from_their_documented_names() -> None:
    """docs/adapters/tmdb.md names RECLIO_TMDB_BASE_URL: that is the variable read."""
    env = {"RECLIO_TMDB_TOKEN": "t", "RECLIO_TMDB_BASE_URL": "http://127.0.0.1:9/3"}
    env |= {"RECLIO_TRAKT_CLIENT_ID": "i", "RECLIO_TRAKT_CLIENT_SECRET": "s"}
    env |= {"RECLIO_TRAKT_BASE_URL": "http://127.0.0.1:9"}
    config = ReclioConfig.from_env(env)
    assert config.tmdb is not None
    assert config.tmdb.base_url == "http://127.0.0.1:9/3"
    assert config.trakt is not None
    assert config.trakt.base_url == "http://127.0.0.1:9"
def test_app_settings_default_to_the_safe_choices() -> None:
    """No admin token (admin answers 503), no /feeds?user_id= lookups, the scheduler on."""
    app = ReclioConfig.from_env({}).app
    assert app.admin_token is None
    assert not app.user_id_param
    assert app.scheduler
    assert app.public_url == "http://127.0.0.1:8000"


@pytest.mark.parametrize(("raw", "value"), [("ON", True), ("1", True), ("no", False)])
def test_app_flags_read_on_and_off(raw: str, value: bool) -> None:
    """Flags accept on/off and their usual spellings, in any case."""
    assert ReclioConfig.from_env({"RECLIO_APP_USER_ID_PARAM": raw}).app.user_id_param is value


def test_the_admin_token_is_read_and_never_shown() -> None:
    """The admin token is kept whole and never appears in a repr; a short one is refused
    without quoting it."""
    token = "k3y-" * 8
    config = ReclioConfig.from_env({"RECLIO_ADMIN_TOKEN": token})
    assert config.app.admin_token == token
    assert token not in repr(config)
    with pytest.raises(ConfigurationError, match="too short") as caught:
        ReclioConfig.from_env({"RECLIO_ADMIN_TOKEN": "hunter2"})
    assert "hunter2" not in str(caught.value)
