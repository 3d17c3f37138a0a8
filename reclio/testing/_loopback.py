"""One HTTP server on an ephemeral 127.0.0.1 port, served from a daemon thread.

What the fake services (`FakeTmdbServer`, `FakeTraktServer`) are built on: they bring
the request handler, `LoopbackService` the lifecycle, `Loopback` the socket and thread.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self

__all__ = ["Loopback", "LoopbackService"]


class Loopback:
    """A ``ThreadingHTTPServer`` on 127.0.0.1 (a thread per connection), started and stopped."""

    def __init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port it listens on.

        Raises:
            RuntimeError: it is not started.
        """
        if self._server is None:
            msg = "the server is not started"
            raise RuntimeError(msg)
        return int(self._server.server_address[1])

    def start(self, handler: type[BaseHTTPRequestHandler]) -> None:
        """Listen on an ephemeral loopback port, serving ``handler`` from a daemon thread."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket (a no-op when not started)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


class LoopbackService:
    """A fake service's lifecycle: `start`/`stop` (or ``with``) on one `Loopback`.

    Subclasses build the request handler (`_make_handler`) and say where their API root
    is (`base_url`, from `port`).
    """

    def __init__(self) -> None:
        self._loopback = Loopback()

    @property
    def port(self) -> int:
        """The port it listens on.

        Raises:
            RuntimeError: it is not started.
        """
        return self._loopback.port

    def _make_handler(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    def start(self) -> Self:
        """Listen on an ephemeral loopback port, serving from a daemon thread."""
        self._loopback.start(self._make_handler())
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._loopback.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
