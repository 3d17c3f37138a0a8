"""Shared test configuration: anyio on asyncio, hypothesis profiles, shared data, the docs site."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

pytest.register_assert_rewrite("reclio.testing")

from reclio.testing.postgres import TemporaryCluster  # noqa: E402 - after the rewrite hook
from reclio.testing.postgres import unavailable as postgres_unavailable  # noqa: E402

# CI runs every property with at least 1,000 examples; local runs stay quick.
settings.register_profile(
    "ci",
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def anyio_backend() -> str:
    """reclio targets asyncio."""
    return "asyncio"


@pytest.fixture
def shared_data() -> Path:
    """The real data beside the repository (../shared/data); skips the test when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def docs_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The documentation site, built as ``make docs`` builds it (strict), in a temporary folder."""
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(out)],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[TemporaryCluster]:
    """A throwaway PostgreSQL cluster for the whole session (skips where none can start)."""
    why = postgres_unavailable()
    if why is not None:
        pytest.skip(f"PostgreSQL tests skipped: {why}")
    pytest.importorskip("psycopg", reason="PostgreSQL tests need the extra reclio[postgres]")
    with TemporaryCluster.start() as cluster:
        yield cluster


@pytest.fixture
def postgres_url(postgres_cluster: TemporaryCluster) -> str:
    """The URL of a fresh, empty database in the session's cluster."""
    return postgres_cluster.create_database(f"t_{uuid.uuid4().hex[:16]}")
