"""A throwaway PostgreSQL cluster for tests and benchmarks, from the machine's own binaries.

`TemporaryCluster` runs ``initdb`` and ``pg_ctl`` (found on ``PATH``) in a fresh temporary
folder, listens on 127.0.0.1 at an ephemeral port only, trusts local connections, and
deletes everything when stopped. PostgreSQL refuses to run as root, so when the caller is
root the cluster runs as the unprivileged ``postgres`` user (``runuser -u postgres``), and
its folder belongs to that user. Durability is switched off (``fsync=off``): the data is
thrown away anyway::

    with TemporaryCluster.start() as cluster:
        store = PostgresStateStore(PostgresConfig(cluster.url()))

`unavailable` says why no cluster can be started here (no binaries, no ``postgres`` user),
so a test suite can skip with that message.

Stability: testing (may change between minor versions).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self

import attrs

__all__ = ["TemporaryCluster", "unavailable"]

_USER = "reclio"
"""The cluster's superuser (trust authentication: any password is accepted)."""


def _binary(name: str) -> str | None:
    """A PostgreSQL program: on PATH, else in Debian's versioned folders (newest first)."""
    found = shutil.which(name)
    if found is not None:
        return found
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / name).is_file():
            return str(folder / name)
    return None


def _run_as() -> tuple[str, ...]:
    """The prefix that runs a command as the cluster's owner: none unless we are root."""
    if os.geteuid() != 0:
        return ()
    return ("runuser", "-u", "postgres", "--")


def unavailable() -> str | None:
    """Why a cluster cannot be started on this machine, or ``None`` when it can."""
    missing = [name for name in ("initdb", "pg_ctl") if _binary(name) is None]
    if missing:
        return (
            f"PostgreSQL binaries not found ({', '.join(missing)} on PATH or in"
            " /usr/lib/postgresql/*/bin): install PostgreSQL 15+"
        )
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root, and there is no 'postgres' user to run PostgreSQL as"
        if _binary("runuser") is None:
            return "running as root, and runuser (util-linux) is not on PATH"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@attrs.define
class TemporaryCluster:
    """A running throwaway cluster; `stop` (or leaving ``with``) deletes it.

    Attributes:
        folder: The temporary folder holding data, socket and log.
        port: The TCP port on 127.0.0.1.
    """

    folder: Path
    port: int
    _stopped: bool = False

    @classmethod
    def start(cls, *, max_connections: int = 200, timeout: float = 60.0) -> TemporaryCluster:
        """Create and start a cluster.

        Args:
            max_connections: The server's connection limit.
            timeout: Seconds to wait for the server to accept connections.

        Raises:
            RuntimeError: no cluster can be started here (`unavailable` says why), or
                initdb or pg_ctl failed (the message holds their output).
        """
        why = unavailable()
        if why is not None:
            raise RuntimeError(why)
        folder = Path(tempfile.mkdtemp(prefix="reclio-pg-"))
        prefix = _run_as()
        if prefix:
            owner = pwd.getpwnam("postgres")
            os.chown(folder, owner.pw_uid, owner.pw_gid)
        data = folder / "data"
        try:
            _checked(
                (
                    *prefix,
                    str(_binary("initdb")),
                    "-D",
                    str(data),
                    "-U",
                    _USER,
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-locale",
                    "--no-sync",
                ),
                timeout,
            )
            port = _free_port()
            options = " ".join(
                (
                    "-c listen_addresses=127.0.0.1",
                    f"-c port={port}",
                    f"-c unix_socket_directories={folder}",
                    f"-c max_connections={max_connections}",
                    "-c fsync=off",
                    "-c synchronous_commit=off",
                    "-c full_page_writes=off",
                )
            )
            _checked(
                (
                    *prefix,
                    str(_binary("pg_ctl")),
                    "start",
                    "-D",
                    str(data),
                    "-l",
                    str(folder / "server.log"),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    str(int(timeout)),
                ),
                timeout + 5,
            )
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        cluster = cls(folder, port)
        cluster._wait_accepting(timeout)
        return cluster

    def url(self, database: str = "postgres", *, password: str | None = None) -> str:
        """A ``postgresql://`` URL of a database in the cluster (any password is accepted)."""
        secret = f":{password}" if password else ""
        return f"postgresql://{_USER}{secret}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create a database and return its URL.

        Raises:
            RuntimeError: creation failed.
        """
        createdb = _binary("createdb") or "createdb"
        _checked((createdb, "-h", "127.0.0.1", "-p", str(self.port), "-U", _USER, name), 30.0)
        return self.url(name)

    def stop(self) -> None:
        """Stop the server at once and delete its folder (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        try:
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                _checked(
                    (
                        *_run_as(),
                        str(_binary("pg_ctl")),
                        "stop",
                        "-D",
                        str(self.folder / "data"),
                        "-m",
                        "immediate",
                        "-w",
                    ),
                    30.0,
                )
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _wait_accepting(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1.0):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    msg = f"PostgreSQL did not accept connections on port {self.port}"
                    raise RuntimeError(msg) from None
                time.sleep(0.05)


def _checked(argv: tuple[str, ...], timeout: float) -> None:
    done = subprocess.run(  # noqa: S603 - argv built from fixed parts and found binaries
        argv, capture_output=True, text=True, check=False, timeout=timeout
    )
    if done.returncode != 0:
        msg = f"{Path(argv[0]).name} failed ({done.returncode}): {done.stderr or done.stdout}"
        raise RuntimeError(msg)
