"""reclio's exceptions. Every failure of a backing service reaches callers as a ``SourceError``.

The tree::

    ReclioError                         base; never raised directly
    ├── ConfigurationError              bad or missing configuration (also a ValueError)
    ├── SourceError                     a backing service failed (.service, .operation)
    │   ├── SourceUnavailable           network, 5xx, a broken store: transient
    │   │   ├── SourceTimeout           the call ran past its deadline
    │   │   └── RateLimited             429 (.retry_after: seconds, if the service said)
    │   ├── AuthenticationError         401/403, expired or revoked token: not retryable
    │   │   ├── ReconnectNeeded         a user's authorization is gone: connect again
    │   │   └── AppRejected             the service refuses the app itself (its key)
    │   ├── AccountLimitExceeded        the account may not hold more (Trakt 420)
    │   │   └── UpgradeRequired         needs a paid account (Trakt 426 "VIP only")
    │   └── DecodeError                 a payload did not match its schema (.errors)
    ├── LeaseHeld                       another worker holds the user's lease
    └── SyncError                       a sync pipeline could not complete (.report)

    ReclioWarning(UserWarning)
    └── ConfigWarning                   usable but suspicious configuration

Absence is not an error: ports return ``None`` or an empty sequence for "nothing there".
"""

from __future__ import annotations

from collections.abc import Sequence

from reclio.domain.reports import SyncReport

__all__ = [
    "AccountLimitExceeded",
    "AppRejected",
    "AuthenticationError",
    "ConfigWarning",
    "ConfigurationError",
    "DecodeError",
    "LeaseHeld",
    "RateLimited",
    "ReclioError",
    "ReclioWarning",
    "ReconnectNeeded",
    "SourceError",
    "SourceTimeout",
    "SourceUnavailable",
    "SyncError",
    "UpgradeRequired",
]


class ReclioError(Exception):
    """Base of every reclio exception; never raised directly."""


class ConfigurationError(ReclioError, ValueError):
    """Configuration is missing or invalid; raised at construction, never mid-request."""


class SourceError(ReclioError):
    """A backing service (catalog, interactions, recommender, list sink, store) failed.

    Args:
        message: What went wrong, for people.
        service: Which service, e.g. ``"tmdb"``, ``"sqlite"``.
        operation: What reclio was doing, e.g. ``"get_title"``.
    """

    def __init__(self, message: str, *, service: str, operation: str) -> None:
        super().__init__(message)
        self.service = service
        self.operation = operation

    def __str__(self) -> str:
        return f"{self.service} {self.operation}: {self.args[0]}"


class SourceUnavailable(SourceError):
    """The service could not be reached or failed on its side; trying later may work."""


class SourceTimeout(SourceUnavailable):
    """The call ran past its deadline."""


class RateLimited(SourceUnavailable):
    """The service asked reclio to slow down.

    Args:
        retry_after: Seconds the service asked to wait, when it said.
    """

    def __init__(
        self, message: str, *, service: str, operation: str, retry_after: float | None = None
    ) -> None:
        super().__init__(message, service=service, operation=operation)
        self.retry_after = retry_after


class AuthenticationError(SourceError):
    """Credentials were refused (401/403, expired or revoked token); retrying will not help."""


class ReconnectNeeded(AuthenticationError):
    """One user's authorization is gone (revoked, refused on refresh): they must connect again.

    Raised by the Trakt adapters when a refresh token is refused (``invalid_grant``) or a
    request is still refused after one refresh. Never retried: user sync records it on the
    user (`UserState.reconnect_needed`) and keeps serving their last good lists.
    """


class AppRejected(AuthenticationError):
    """The service refuses the app itself (a deleted app, a wrong client id or key).

    Every user is affected; the host's operator must fix the app's credentials.
    """


class AccountLimitExceeded(SourceError):
    """The account may not hold more lists or items (Trakt 420); never retried."""


class UpgradeRequired(AccountLimitExceeded):
    """The service answers that this needs a paid membership (Trakt 426 "VIP only")."""


class DecodeError(SourceError):
    """A payload did not match what reclio expects from the service.

    Args:
        errors: One line per mismatch, e.g. ``"results[0].id: missing"``.
    """

    def __init__(
        self, message: str, *, service: str, operation: str, errors: Sequence[str] = ()
    ) -> None:
        super().__init__(message, service=service, operation=operation)
        self.errors = tuple(errors)


class LeaseHeld(ReclioError):
    """Another worker holds the lease (e.g. is syncing this user); try again later."""


class SyncError(ReclioError):
    """A sync pipeline could not complete; ``report`` says what it did get done."""

    def __init__(self, message: str, *, report: SyncReport) -> None:
        super().__init__(message)
        self.report = report


class ReclioWarning(UserWarning):
    """Base of reclio's warnings."""


class ConfigWarning(ReclioWarning):
    """Configuration that works but is probably not what was meant."""
