"""Sign In with LinkedIn using OpenID Connect.

LinkedIn's quirks: no PKCE (it rejects it for web apps); the client secret goes in the token
request body; ID tokens name the issuer `https://www.linkedin.com` or `https://www.linkedin.com/oauth`;
the nonce is not echoed; `email_verified` may be a string.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

import msgspec

from zentropy.auth.oidc import OpenIDConnectProvider
from zentropy.hookspecs import hookimpl
from zentropy.settings import SettingsError, env, read_settings

DEFAULT_ISSUER = "https://www.linkedin.com/oauth"


class LinkedInSettings(msgspec.Struct, frozen=True, kw_only=True):
    issuer: Annotated[str, env("LINKEDIN_ISSUER", doc="OpenID Connect issuer (discovery is fetched from it).")] = (
        DEFAULT_ISSUER
    )
    client_id: Annotated[str, env("LINKEDIN_CLIENT_ID", doc="Client id of the LinkedIn app.")]
    client_secret: Annotated[str, env("LINKEDIN_CLIENT_SECRET", secret=True, doc="Client secret of the LinkedIn app.")]


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class LinkedInProvider(OpenIDConnectProvider):
    def __init__(self, settings: LinkedInSettings | None) -> None:
        issuer = (settings.issuer if settings else DEFAULT_ISSUER).rstrip("/")
        super().__init__(
            name="linkedin", display_name="LinkedIn", issuer=issuer,
            client_id=settings.client_id if settings else None,
            client_secret=settings.client_secret if settings else None,
            scopes=("openid", "profile", "email"),
            accepted_issuers=(issuer, origin(issuer)),
            pkce=False, nonce_echoed=False, token_endpoint_auth_method="client_secret_post",
        )


def load() -> LinkedInProvider:
    try:
        return LinkedInProvider(read_settings(LinkedInSettings))
    except SettingsError:
        return LinkedInProvider(None)


@hookimpl
def register_settings(register):
    register(LinkedInSettings)


@hookimpl
def register_identity_providers(register):
    register(load())
