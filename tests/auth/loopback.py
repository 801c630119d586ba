"""Loopback stand-ins for the outside world of sign-in, speaking the real wire formats on 127.0.0.1:
- `OpenIDProvider`: an OpenID Connect provider (discovery, authorize, token, JWKS, userinfo, RS256
  ID tokens signed with joserfc) in the shape of Google's or LinkedIn's, quirks included;
- `Inbox`: an SMTP server (aiosmtpd) that keeps what it receives;
- `serve`: any ASGI app on a real uvicorn server, in the test's event loop.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import secrets
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email import message_from_bytes, policy
from typing import Any, Literal
from urllib.parse import urlencode

import uvicorn
from aiosmtpd.smtp import SMTP, Envelope
from joserfc import jwt
from joserfc.jwk import RSAKey
from litestar import Litestar, Request, Response, get, post
from litestar.response import Redirect


def bound_socket() -> socket.socket:
    """A socket bound to 127.0.0.1 on a port the OS picks (to know the URL before serving)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@asynccontextmanager
async def serve(app: Any, sock: socket.socket | None = None) -> AsyncIterator[str]:
    """Serve `app` with a real uvicorn server on 127.0.0.1, in this event loop; yield its base URL."""
    sock = sock or bound_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = sock.getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


# -- OpenID Connect -------------------------------------------------------------------------------
def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class OpenIDProvider:
    """Google (`flavor="google"`) or LinkedIn (`flavor="linkedin"`) as far as sign-in sees them.

    Set `user` to the claims of whoever signs in next; `tamper` changes the next ID token
    (claim overrides; `_sign_with` a key, `_kid` a header key id, `_drop` claims to leave out).
    """

    def __init__(self, flavor: Literal["google", "linkedin"], client_id: str = "zentropy-client",
                 client_secret: str = "zentropy-secret") -> None:
        self.flavor = flavor
        self.client_id = client_id
        self.client_secret = client_secret
        self.key = RSAKey.generate_key(2048, parameters={"kid": f"{flavor}-1", "use": "sig", "alg": "RS256"})
        self.published = [self.key]
        self.user: dict[str, Any] = {}
        self.tamper: dict[str, Any] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.access_tokens: dict[str, dict[str, Any]] = {}
        self.jwks_requests = 0
        self.authorize_requests: list[dict[str, str]] = []
        self.token_requests: list[dict[str, Any]] = []
        self.base = ""

    # where things are, as each provider lays them out
    @property
    def issuer(self) -> str:
        return self.base if self.flavor == "google" else f"{self.base}/oauth"

    @property
    def token_issuer(self) -> str:
        """The `iss` its ID tokens carry (LinkedIn's differs from its discovery issuer)."""
        return self.issuer if self.flavor == "google" else self.base

    def discovery(self) -> dict[str, Any]:
        if self.flavor == "google":
            return {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.base}/o/oauth2/v2/auth",
                "device_authorization_endpoint": f"{self.base}/device/code",
                "token_endpoint": f"{self.base}/token",
                "userinfo_endpoint": f"{self.base}/v1/userinfo",
                "revocation_endpoint": f"{self.base}/revoke",
                "jwks_uri": f"{self.base}/oauth2/v3/certs",
                "response_types_supported": ["code", "token", "id_token", "code token", "code id_token",
                                             "token id_token", "code token id_token", "none"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "email", "profile"],
                "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
                "claims_supported": ["aud", "email", "email_verified", "exp", "family_name", "given_name", "iat",
                                     "iss", "name", "picture", "sub"],
                "code_challenge_methods_supported": ["plain", "S256"],
                "grant_types_supported": ["authorization_code", "refresh_token",
                                          "urn:ietf:params:oauth:grant-type:device_code",
                                          "urn:ietf:params:oauth:grant-type:jwt-bearer"],
            }
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.base}/oauth/v2/authorization",
            "token_endpoint": f"{self.base}/oauth/v2/accessToken",
            "userinfo_endpoint": f"{self.base}/v2/userinfo",
            "jwks_uri": f"{self.base}/oauth/openid/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email"],
            "claims_supported": ["iss", "aud", "iat", "exp", "sub", "name", "given_name", "family_name", "picture",
                                 "email", "email_verified", "locale"],
        }

    def id_token(self, nonce: str | None) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {"iss": self.token_issuer, "aud": self.client_id, "iat": now, "exp": now + 3600}
        if self.flavor == "google":
            claims.update({"azp": self.client_id, "at_hash": secrets.token_urlsafe(16)})
            if nonce is not None:
                claims["nonce"] = nonce  # LinkedIn does not echo the nonce
        else:
            claims["locale"] = "en_US"
        claims.update(self.user)
        tamper = dict(self.tamper)
        key = tamper.pop("_sign_with", self.key)
        kid = tamper.pop("_kid", self.key.kid)
        for name in tamper.pop("_drop", []):
            claims.pop(name, None)
        claims.update(tamper)
        return jwt.encode({"alg": "RS256", "kid": kid, "typ": "JWT"}, claims, key)

    def app(self) -> Litestar:
        op = self
        prefix = "" if self.flavor == "google" else "/oauth"
        paths = {
            "google": {"authorize": "/o/oauth2/v2/auth", "token": "/token", "jwks": "/oauth2/v3/certs",
                       "userinfo": "/v1/userinfo"},
            "linkedin": {"authorize": "/oauth/v2/authorization", "token": "/oauth/v2/accessToken",
                         "jwks": "/oauth/openid/jwks", "userinfo": "/v2/userinfo"},
        }[self.flavor]

        @get(f"{prefix}/.well-known/openid-configuration")
        async def discovery() -> dict[str, Any]:
            return op.discovery()

        @get(paths["jwks"])
        async def jwks() -> dict[str, Any]:
            op.jwks_requests += 1
            return {"keys": [k.as_dict(private=False) for k in op.published]}

        @get(paths["authorize"], status_code=302)
        async def authorize(request: Request) -> Response:
            q = dict(request.query_params)
            op.authorize_requests.append(q)
            if q.get("client_id") != op.client_id or q.get("response_type") != "code" \
                    or "openid" not in q.get("scope", "").split():
                return Response({"error": "invalid_request"}, status_code=400)
            if op.flavor == "google" and q.get("code_challenge_method") != "S256":
                return Response({"error": "invalid_request", "error_description": "PKCE required"}, status_code=400)
            if op.flavor == "linkedin" and "code_challenge" in q:  # LinkedIn rejects PKCE for web apps
                return Redirect(q["redirect_uri"] + "?" + urlencode(
                    {"error": "invalid_request", "error_description": "PKCE not supported", "state": q["state"]}))
            code = secrets.token_urlsafe(24)
            op.codes[code] = {**q, "user": dict(op.user)}
            return Redirect(q["redirect_uri"] + "?" + urlencode({"code": code, "state": q["state"]}))

        @post(paths["token"])
        async def token(request: Request) -> Response:
            form = dict(await request.form())
            basic = request.headers.get("authorization", "")
            op.token_requests.append({"form": form, "basic": basic.startswith("Basic ")})
            if basic.startswith("Basic "):
                cid, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
            else:
                cid, secret = form.get("client_id"), form.get("client_secret")
            if op.flavor == "linkedin" and basic:  # LinkedIn wants the secret in the body
                return Response({"error": "invalid_client"}, status_code=401)
            if cid != op.client_id or secret != op.client_secret:
                return Response({"error": "invalid_client"}, status_code=401)
            grant = op.codes.pop(form.get("code", ""), None)
            if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
                return Response({"error": "invalid_grant"}, status_code=400)
            if "code_challenge" in grant and s256(form.get("code_verifier", "")) != grant["code_challenge"]:
                return Response({"error": "invalid_grant", "error_description": "PKCE verification failed"},
                                status_code=400)
            access = secrets.token_urlsafe(24)
            op.access_tokens[access] = grant["user"]
            body = {"access_token": access, "token_type": "Bearer", "id_token": op.id_token(grant.get("nonce"))}
            if op.flavor == "google":
                body.update(expires_in=3599, scope="openid https://www.googleapis.com/auth/userinfo.email "
                                                    "https://www.googleapis.com/auth/userinfo.profile")
            else:
                body.update(expires_in=5183999, scope="email,openid,profile")
            return Response(body, headers={"Cache-Control": "no-store"})

        @get(paths["userinfo"])
        async def userinfo(request: Request) -> Response:
            access = request.headers.get("authorization", "").removeprefix("Bearer ")
            user = op.access_tokens.get(access)
            if user is None:
                return Response({"error": "invalid_token"}, status_code=401)
            return Response(user)

        return Litestar([discovery, jwks, authorize, token, userinfo], logging_config=None)


# -- SMTP -----------------------------------------------------------------------------------------
class Inbox:
    """An SMTP server on loopback keeping each message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.port = 0
        self.refuse = False

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd API
        if self.refuse:
            return "451 Requested action aborted: local error in processing"
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def to(self, address: str) -> list[Any]:
        return [m for m in self.messages if m["To"] == address]

    def link_for(self, address: str) -> str:
        """The sign-in link of the latest mail to `address`."""
        mails = self.to(address)
        assert mails, f"no mail to {address}"
        body = mails[-1].get_body(preferencelist=("plain",)).get_content()
        return re.search(r"https?://\S+/signin/magic\?\S+", body).group(0)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Inbox]:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: SMTP(self, hostname="inbox.test", loop=loop), "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        try:
            yield self
        finally:
            server.close()
            await server.wait_closed()
