"""An OpenID Connect redirect provider (authorization code flow) on authlib and joserfc.

Discovery from the issuer; state (checked by the core), nonce and, where the provider accepts it,
PKCE S256; the ID token verified against the provider's JWKS (RS256 only; the key set fetched
again once on an unknown key id) and its `iss`, `aud`, `exp`, `iat`, `sub` and `nonce` claims
checked by joserfc. Providers' quirks are constructor options; see the Google and LinkedIn plugins.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import httpx
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from zentropy.auth.contract import AuthorizationRequest, IdentityError, VerifiedIdentity
from zentropy.auth.tokens import new_token, same

log = logging.getLogger(__name__)
CACHE_SECONDS = 3600
LEEWAY_SECONDS = 60
ALGORITHMS = ["RS256"]


def unavailable(provider: str, what: str) -> IdentityError:
    return IdentityError("provider_unavailable", f"{provider} could not be reached ({what}); try again later.", 502)


def invalid_id_token(why: str) -> IdentityError:
    return IdentityError("invalid_id_token", f"The provider's ID token was refused: {why}.")


def as_bool(value: object) -> bool:
    """OIDC booleans, also as providers send them in strings ("true")."""
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() == "true"


class OpenIDConnectProvider:
    kind: Literal["redirect"] = "redirect"

    def __init__(
        self,
        *,
        name: str,
        display_name: str,
        issuer: str,
        client_id: str | None,
        client_secret: str | None,
        scopes: Iterable[str] = ("openid", "email", "profile"),
        accepted_issuers: Iterable[str] | None = None,
        pkce: bool = True,
        nonce_echoed: bool = True,
        token_endpoint_auth_method: str = "client_secret_basic",
        timeout: float = 10.0,
    ) -> None:
        self.name = name
        self.display_name = display_name
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = " ".join(scopes)
        self.accepted_issuers = sorted(set(accepted_issuers or [self.issuer]))
        self.pkce = pkce
        self.nonce_echoed = nonce_echoed
        self.token_endpoint_auth_method = token_endpoint_auth_method
        self.timeout = timeout
        self._metadata: tuple[float, dict[str, Any]] | None = None
        self._keys: tuple[float, KeySet] | None = None

    @property
    def configured(self) -> bool:
        return bool(self.client_id and self.client_secret)

    # -- provider documents ----------------------------------------------------------------------
    async def _get_json(self, url: str, what: str, **kwargs: Any) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.get(url, **kwargs)
                response.raise_for_status()
                body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("identity provider request failed",
                        extra={"provider": self.name, "what": what, "error": type(exc).__name__})
            raise unavailable(self.display_name, what) from None
        if not isinstance(body, dict):
            raise unavailable(self.display_name, what)
        return body

    async def metadata(self) -> dict[str, Any]:
        if self._metadata and self._metadata[0] > time.monotonic():
            return self._metadata[1]
        doc = await self._get_json(f"{self.issuer}/.well-known/openid-configuration", "discovery")
        if not all(isinstance(doc.get(k), str) for k in ("authorization_endpoint", "token_endpoint", "jwks_uri")):
            raise unavailable(self.display_name, "discovery document incomplete")
        self._metadata = (time.monotonic() + CACHE_SECONDS, doc)
        return doc

    async def keys(self, *, refresh: bool = False) -> KeySet:
        if not refresh and self._keys and self._keys[0] > time.monotonic():
            return self._keys[1]
        doc = await self._get_json((await self.metadata())["jwks_uri"], "key set")
        try:
            keyset = KeySet.import_key_set(doc)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError):
            raise unavailable(self.display_name, "key set unreadable") from None
        self._keys = (time.monotonic() + CACHE_SECONDS, keyset)
        return keyset

    # -- the flow --------------------------------------------------------------------------------
    def _client(self, redirect_uri: str) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.client_id, client_secret=self.client_secret, scope=self.scope,
            redirect_uri=redirect_uri, token_endpoint_auth_method=self.token_endpoint_auth_method,
            code_challenge_method="S256" if self.pkce else None, timeout=self.timeout,
        )

    async def authorization_request(self, *, redirect_uri: str, state: str) -> AuthorizationRequest:
        endpoint = (await self.metadata())["authorization_endpoint"]
        keep = {"nonce": new_token()}
        if self.pkce:
            keep["code_verifier"] = new_token()
        async with self._client(redirect_uri) as client:
            url, _ = client.create_authorization_url(
                endpoint, state=state, nonce=keep["nonce"], code_verifier=keep.get("code_verifier")
            )
        return AuthorizationRequest(url=url, keep=keep)

    async def complete(self, *, redirect_uri: str, params: Mapping[str, str], keep: Mapping[str, str]) -> VerifiedIdentity:
        if params.get("error"):
            raise IdentityError("provider_refused", f"{self.display_name} did not sign you in "
                                f"({params['error'][:60]}).", 400)
        code = params.get("code")
        if not code:
            raise IdentityError("missing_code", "The provider's answer carried no authorization code.")
        metadata = await self.metadata()
        token = await self._exchange(metadata["token_endpoint"], redirect_uri, code, keep)
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise invalid_id_token("none was returned")
        claims = await self.verify_id_token(id_token, keep.get("nonce", ""))
        if not claims.get("email") and metadata.get("userinfo_endpoint") and token.get("access_token"):
            claims = {**await self._userinfo(metadata["userinfo_endpoint"], token["access_token"], claims["sub"]),
                      **claims}
        self.check_claims(claims)
        return self.identity(claims)

    async def _exchange(self, endpoint: str, redirect_uri: str, code: str, keep: Mapping[str, str]) -> dict[str, Any]:
        extra = {"code_verifier": keep["code_verifier"]} if self.pkce else {}
        try:
            async with self._client(redirect_uri) as client:
                return dict(await client.fetch_token(endpoint, code=code, grant_type="authorization_code", **extra))
        except OAuthError as exc:
            raise IdentityError("code_exchange_failed",
                                f"{self.display_name} refused the authorization code ({exc.error}).") from None
        except Exception as exc:  # noqa: BLE001 - network or malformed answer: the provider is at fault
            log.warning("token exchange failed", extra={"provider": self.name, "error": type(exc).__name__})
            raise unavailable(self.display_name, "token exchange") from None

    async def verify_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        try:
            try:
                token = jwt.decode(id_token, await self.keys(), algorithms=ALGORITHMS)
            except InvalidKeyIdError:  # the provider may have rotated its keys: fetch them once more
                token = jwt.decode(id_token, await self.keys(refresh=True), algorithms=ALGORITHMS)
            claims = dict(token.claims)
            jwt.JWTClaimsRegistry(
                leeway=LEEWAY_SECONDS,
                iss={"essential": True, "values": self.accepted_issuers},
                aud={"essential": True, "value": self.client_id},
                sub={"essential": True},
                exp={"essential": True},
                iat={"essential": True},
            ).validate(claims)
        except InvalidKeyIdError:
            raise invalid_id_token("signed with an unknown key") from None
        except JoseError as exc:
            raise invalid_id_token(exc.description or exc.error) from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.client_id:
            raise invalid_id_token("issued to another party (azp)")
        echoed = claims.get("nonce")
        if self.nonce_echoed or echoed is not None:
            if not isinstance(echoed, str) or not nonce or not same(echoed, nonce):
                raise invalid_id_token("nonce mismatch")
        return claims

    async def _userinfo(self, endpoint: str, access_token: str, subject: str) -> dict[str, Any]:
        info = await self._get_json(endpoint, "userinfo", headers={"Authorization": f"Bearer {access_token}"})
        if info.get("sub") != subject:
            raise IdentityError("invalid_userinfo", "The provider's userinfo is for another subject.")
        return info

    def check_claims(self, claims: Mapping[str, Any]) -> None:
        """Further checks a provider needs (e.g. Google's hosted domain); raise `IdentityError`."""

    def identity(self, claims: Mapping[str, Any]) -> VerifiedIdentity:
        email = claims.get("email") if isinstance(claims.get("email"), str) else None
        return VerifiedIdentity(
            provider=self.name,
            subject=str(claims["sub"]),
            email=email,
            email_verified=bool(email) and as_bool(claims.get("email_verified")),
            name=claims.get("name") if isinstance(claims.get("name"), str) else None,
            picture=claims.get("picture") if isinstance(claims.get("picture"), str) else None,
        )
