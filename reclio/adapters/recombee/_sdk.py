"""The one place reclio touches ``recombee-api-client``: load it, build it, map its errors.

Every exception the SDK (or ``requests`` under it) raises becomes a ``SourceError`` here.

The SDK is imported when a recommender is built, not when this package is imported, so a
missing SDK is one clear `ConfigurationError` (and ``reclio diagnose recombee`` can say
``sdk_missing``) rather than an ``ImportError`` somewhere in a composition root.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final, Literal
from urllib.parse import urlsplit

import attrs

from reclio.errors import (
    AuthenticationError,
    ConfigurationError,
    DecodeError,
    RateLimited,
    SourceError,
    SourceTimeout,
    SourceUnavailable,
)
from reclio.settings import RecombeeConfig

__all__ = [
    "BATCH_MAX",
    "SDK_DISTRIBUTION",
    "SERVICE",
    "Endpoint",
    "Sdk",
    "UnknownDatabase",
    "load_sdk",
    "make_client",
    "resolve_endpoint",
    "sdk_version",
    "translate",
]

SERVICE: Final = "recombee"
SDK_DISTRIBUTION: Final = "recombee-api-client"
BATCH_MAX: Final = 10_000
"""Requests per ``Batch`` the SDK sends in one call (it splits bigger ones, over https only)."""

_REGIONS: Final = ("AP_SE", "CA_EAST", "EU_WEST", "US_WEST")
_INSTALL: Final = "install it with: pip install 'reclio[recombee]'"
_SIGNATURE: Final = re.compile(r"hmac_(sign|timestamp)=[0-9a-fA-F]+")
_DATABASE_MISSING: Final = re.compile(r"database\b.*\bdoes not exist", re.IGNORECASE)


class UnknownDatabase(AuthenticationError):
    """Recombee says the database does not exist at the host reclio asked.

    Either the database id is wrong, or the database lives in another region than the one
    configured (each region is its own cluster). Retrying will not help.
    """


@attrs.frozen
class Sdk:
    """The parts of ``recombee-api-client`` reclio uses, loaded once per recommender."""

    client_class: Any
    region_enum: Any
    requests: Any
    response_error: type[Exception]
    timeout_error: type[Exception]
    api_error: type[Exception]
    transport_error: type[Exception]
    json_error: type[Exception]


def load_sdk() -> Sdk:
    """Import the SDK.

    Raises:
        ConfigurationError: it is not installed.
    """
    try:
        api_client = importlib.import_module("recombee_api_client.api_client")
        api_requests = importlib.import_module("recombee_api_client.api_requests")
        exceptions = importlib.import_module("recombee_api_client.exceptions")
        requests_exceptions = importlib.import_module("requests.exceptions")
    except ImportError as exc:
        msg = f"{SDK_DISTRIBUTION} is not installed: {_INSTALL}"
        raise ConfigurationError(msg) from exc
    return Sdk(
        client_class=api_client.RecombeeClient,
        region_enum=api_client.Region,
        requests=api_requests,
        response_error=exceptions.ResponseException,
        timeout_error=exceptions.ApiTimeoutException,
        api_error=exceptions.APIException,
        transport_error=requests_exceptions.RequestException,
        json_error=requests_exceptions.JSONDecodeError,
    )


def sdk_version() -> str | None:
    """The installed SDK's version, or ``None`` when it is not installed."""
    try:
        return importlib.metadata.version(SDK_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return None


@attrs.frozen
class Endpoint:
    """Where a database is reached.

    Attributes:
        host: ``host[:port]``, as the SDK wants it (no scheme).
        protocol: ``https``, or ``http`` for a local server.
        region: The SDK's region name (``EU_WEST``), or ``None`` when ``base_uri`` is set.
    """

    host: str
    protocol: Literal["http", "https"]
    region: str | None = None

    @property
    def url(self) -> str:
        """``protocol://host``."""
        return f"{self.protocol}://{self.host}"


def resolve_endpoint(config: RecombeeConfig) -> Endpoint:
    """The host, protocol and region of ``config``: ``base_uri`` wins over ``region``.

    Raises:
        ConfigurationError: ``base_uri`` is not ``[http[s]://]host[:port]``, or the region
            is not one of Recombee's.
    """
    if config.base_uri:
        raw = config.base_uri.strip()
        parts = urlsplit(raw if "://" in raw else f"https://{raw}")
        if parts.scheme not in {"http", "https"} or not parts.netloc or parts.path not in {"", "/"}:
            msg = (
                f"RECLIO_RECOMBEE_BASE_URI={raw!r} is not valid: expected host[:port],"
                " https://host[:port] or http://host:port (a local server)"
            )
            raise ConfigurationError(msg)
        protocol: Literal["http", "https"] = "http" if parts.scheme == "http" else "https"
        return Endpoint(parts.netloc, protocol)
    name = config.region.strip().upper().replace("-", "_")
    if name not in _REGIONS:
        valid = ", ".join(r.lower().replace("_", "-") for r in _REGIONS)
        msg = (
            f"RECLIO_RECOMBEE_REGION={config.region!r} is not a Recombee region: use one of {valid}"
        )
        raise ConfigurationError(msg)
    host = f"rapi-{name.lower().replace('_', '-')}.recombee.com"
    return Endpoint(host, "https", name)


def make_client(sdk: Sdk, config: RecombeeConfig, endpoint: Endpoint) -> Any:  # noqa: ANN401 - the SDK is untyped
    """Build the SDK's client for ``endpoint``.

    Raises:
        ConfigurationError: the SDK refused the arguments, or the ``RAPI_URI`` environment
            variable (which the SDK reads itself) would send requests elsewhere.
    """
    try:
        if endpoint.region is not None:
            client = sdk.client_class(
                config.database_id,
                config.token,
                protocol=endpoint.protocol,
                region=sdk.region_enum[endpoint.region],
            )
        else:
            client = sdk.client_class(
                config.database_id,
                config.token,
                protocol=endpoint.protocol,
                options={"base_uri": endpoint.host},
            )
    except (ValueError, TypeError, KeyError) as exc:
        hint = ""
        if "base_uri" in str(exc):
            hint = (
                " (the RAPI_URI environment variable sets one: unset it, or set"
                " RECLIO_RECOMBEE_BASE_URI instead)"
            )
        msg = f"the Recombee client could not be built: {exc}{hint}"
        raise ConfigurationError(msg) from exc
    if getattr(client, "base_uri", endpoint.host) != endpoint.host:
        msg = (
            f"the RAPI_URI environment variable sends Recombee requests to {client.base_uri!r},"
            f" not {endpoint.host!r}: unset it (set RECLIO_RECOMBEE_BASE_URI instead)"
        )
        raise ConfigurationError(msg)
    return client


def _redact(text: str) -> str:
    """The text without request signatures (short-lived, but credentials all the same)."""
    return _SIGNATURE.sub(r"hmac_\1=<redacted>", text)


def _service_message(description: str) -> str:
    """Recombee's ``message`` from an error body, else the body itself, shortened."""
    try:
        body = json.loads(description)
    except ValueError:
        body = None
    message = body.get("message") if isinstance(body, dict) else None
    text = str(message) if message else description.strip()
    return _redact(text)[:300] or "(empty body)"


def status_error(status: int, description: str, *, operation: str, database_id: str) -> SourceError:
    """The reclio error for an HTTP status Recombee answered (a whole request, or a member)."""
    message = _service_message(description)
    if _DATABASE_MISSING.search(message):
        return UnknownDatabase(
            f"Recombee has no database {database_id!r} at this host ({message}): check the"
            " database id and RECLIO_RECOMBEE_REGION",
            service=SERVICE,
            operation=operation,
        )
    if status in {401, 403}:
        return AuthenticationError(
            f"Recombee refused the request (HTTP {status}: {message}): check that"
            " RECLIO_RECOMBEE_TOKEN is the database's private token",
            service=SERVICE,
            operation=operation,
        )
    if status == 429:  # noqa: PLR2004 - HTTP's own number
        return RateLimited(
            f"Recombee asked to slow down (HTTP 429: {message})",
            service=SERVICE,
            operation=operation,
        )
    if status >= 500:  # noqa: PLR2004
        return SourceUnavailable(
            f"Recombee failed (HTTP {status}: {message})", service=SERVICE, operation=operation
        )
    return SourceError(
        f"Recombee refused the request (HTTP {status}: {message})",
        service=SERVICE,
        operation=operation,
    )


@contextmanager
def translate(sdk: Sdk, *, operation: str, endpoint: Endpoint, database_id: str) -> Iterator[None]:
    """Map every SDK, ``requests`` and deadline exception to reclio's tree, chained.

    The one choke point: each call to Recombee runs inside it.
    """
    try:
        yield
    except sdk.response_error as exc:
        status = int(getattr(exc, "status_code", 0))
        description = str(getattr(exc, "description", ""))
        raise status_error(
            status, description, operation=operation, database_id=database_id
        ) from exc
    except (sdk.timeout_error, TimeoutError) as exc:
        msg = f"Recombee at {endpoint.url} did not answer in time"
        raise SourceTimeout(msg, service=SERVICE, operation=operation) from exc
    except sdk.json_error as exc:
        msg = f"Recombee at {endpoint.url} answered with a body that is not JSON"
        raise DecodeError(
            msg, service=SERVICE, operation=operation, errors=[_redact(str(exc))]
        ) from exc
    except sdk.transport_error as exc:
        msg = f"cannot reach Recombee at {endpoint.url}: {type(exc).__name__}"
        raise SourceUnavailable(msg, service=SERVICE, operation=operation) from exc
    except sdk.api_error as exc:
        msg = f"the Recombee client failed: {_redact(str(exc))[:300]}"
        raise SourceUnavailable(msg, service=SERVICE, operation=operation) from exc
