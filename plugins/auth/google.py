"""Sign in with Google (OpenID Connect): PKCE S256, state and nonce, optional hosted-domain allowlist."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import msgspec

from zentropy.auth.contract import IdentityError
from zentropy.auth.oidc import OpenIDConnectProvider
from zentropy.hookspecs import hookimpl
from zentropy.settings import SettingsError, env, read_settings


DEFAULT_ISSUER = "https://accounts.google.com"


class GoogleSettings(msgspec.Struct, frozen=True, kw_only=True):
    issuer: Annotated[str, env("GOOGLE_ISSUER", doc="OpenID Connect issuer (discovery is fetched from it).")] = (
        DEFAULT_ISSUER
    )
    client_id: Annotated[str, env("GOOGLE_CLIENT_ID", doc="OAuth client id (Google Cloud console).")]
    client_secret: Annotated[str, env("GOOGLE_CLIENT_SECRET", secret=True, doc="OAuth client secret.")]
    allowed_domains: Annotated[
        str, env("GOOGLE_ALLOWED_DOMAINS", doc="Comma-separated Google Workspace domains (`hd`) allowed "
                 "to sign in; empty: any Google account.")
    ] = ""


def scheme_less(issuer: str) -> str:
    return issuer.split("://", 1)[-1]


class GoogleProvider(OpenIDConnectProvider):
    def __init__(self, settings: GoogleSettings | None) -> None:
        issuer = (settings.issuer if settings else DEFAULT_ISSUER).rstrip("/")
        super().__init__(
            name="google", display_name="Google", issuer=issuer,
            client_id=settings.client_id if settings else None,
            client_secret=settings.client_secret if settings else None,
            scopes=("openid", "email", "profile"),
            # Google's ID tokens carry either form of its issuer.
            accepted_issuers=(issuer, scheme_less(issuer)),
            pkce=True, nonce_echoed=True, token_endpoint_auth_method="client_secret_basic",
        )
        self.allowed_domains = {
            d.strip().lower() for d in (settings.allowed_domains if settings else "").split(",") if d.strip()
        }

    def check_claims(self, claims: Mapping[str, Any]) -> None:
        if self.allowed_domains and str(claims.get("hd", "")).lower() not in self.allowed_domains:
            raise IdentityError("domain_not_allowed",
                                "This Google account is not in a domain allowed to sign in here.", 403)


def load() -> GoogleProvider:
    try:
        return GoogleProvider(read_settings(GoogleSettings))
    except SettingsError:
        return GoogleProvider(None)  # listed as not configured; not offered at sign-in


@hookimpl
def register_settings(register):
    register(GoogleSettings)


@hookimpl
def register_identity_providers(register):
    register(load())
