"""The identity provider contract: what a plugin registers with `register_identity_providers`.

Two kinds:
- a *redirect* provider (OAuth 2 / OpenID Connect) turns a sign-in into an authorization URL, and
  the provider's callback into a `VerifiedIdentity`;
- an *email* provider sends a sign-in link and, when it comes back, verifies its token.

The core owns everything around them: the state cookie, sessions, account linking, token storage
(`EmailSignIn` hands an email provider the core's token store and link builder).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

import msgspec


class VerifiedIdentity(msgspec.Struct, frozen=True, kw_only=True):
    """Who the provider says signed in. `subject` is stable and unique at that provider."""

    provider: str
    subject: str
    email: str | None = None
    email_verified: bool = False
    name: str | None = None
    picture: str | None = None


class AuthorizationRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Where to send the browser, and what to keep (server side) until the callback."""

    url: str
    keep: dict[str, str] = {}


class IdentityError(Exception):
    """A sign-in refused: `code` is stable (problem details), `detail` says why to a person."""

    def __init__(self, code: str, detail: str, status: int = 400) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.status = status


@runtime_checkable
class RedirectProvider(Protocol):
    kind: Literal["redirect"]
    name: str  # also the path segment: /api/v1/auth/{name}/login
    display_name: str
    configured: bool

    async def authorization_request(self, *, redirect_uri: str, state: str) -> AuthorizationRequest:
        """The authorization URL for `state` (which the core generated and checks on return)."""
        ...

    async def complete(self, *, redirect_uri: str, params: Mapping[str, str], keep: Mapping[str, str]) -> VerifiedIdentity:
        """Exchange the callback's `params` (state already checked) for a verified identity, or
        raise `IdentityError`. `keep` is what `authorization_request` asked to keep."""
        ...


class TokenStore(Protocol):
    async def issue(self, address: str) -> str:
        """A new single-use token bound to `address`; only its keyed hash is stored."""
        ...

    async def consume(self, address: str, token: str) -> bool:
        """True once for a live token issued to `address`; false for anything else."""
        ...


@dataclass(frozen=True, kw_only=True)
class EmailSignIn:
    """What the core hands an email provider: its token store and how to build the link."""

    tokens: TokenStore
    public_url: str
    expires_minutes: int

    def confirmation_link(self, address: str, token: str, next_path: str | None = None) -> str:
        from urllib.parse import urlencode

        query = {"email": address, "token": token}
        if next_path:
            query["next"] = next_path
        return f"{self.public_url.rstrip('/')}/signin/magic?{urlencode(query)}"


@runtime_checkable
class EmailProvider(Protocol):
    kind: Literal["email"]
    name: str
    display_name: str
    configured: bool

    async def send_link(self, ctx: EmailSignIn, *, address: str, next_path: str | None) -> None:
        """Issue a token for `address` and deliver the confirmation link to it."""
        ...

    async def verify(self, ctx: EmailSignIn, *, address: str, token: str) -> VerifiedIdentity:
        """Consume `token` for `address`; raise `IdentityError` unless it is live and bound to it."""
        ...


IdentityProvider = RedirectProvider | EmailProvider
