"""Per-user OAuth tokens (Trakt). Kept apart from `UserState`, which feeds read on every request."""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from reclio.domain._validators import aware

__all__ = ["OAuthToken"]


@attrs.frozen
class OAuthToken:
    """An access token with the refresh token that renews it.

    Secrets never appear in repr.

    Attributes:
        access_token: Sent as ``Authorization: Bearer``.
        refresh_token: Exchanged for a new pair; single use (store the new one every time).
        created_at: When the service issued the pair.
        expires_in: Lifetime of the access token.
        scope: What the token may do, as the service said.
    """

    access_token: str = attrs.field(repr=False)
    refresh_token: str = attrs.field(repr=False)
    created_at: datetime = attrs.field(validator=aware)
    expires_in: timedelta = attrs.field(validator=attrs.validators.gt(timedelta(0)))
    scope: str = "public"

    @property
    def expires_at(self) -> datetime:
        """When the access token stops working."""
        return self.created_at + self.expires_in

    def expires_within(self, now: datetime, margin: timedelta) -> bool:
        """True when the access token expires before ``now + margin`` (refresh it first)."""
        return self.expires_at <= now + margin
