"""`Auth`: sign-in for one runtime — its providers, redirect flows, magic links and sessions."""

from __future__ import annotations

import logging
import re
import uuid
from datetime import timedelta
from typing import Any

import msgspec

from zentropy.auth import store
from zentropy.auth.contract import EmailProvider, EmailSignIn, IdentityError, RedirectProvider, VerifiedIdentity
from zentropy.auth.linking import resolve_user
from zentropy.auth.ratelimit import hit
from zentropy.auth.redirects import public_link, safe_next
from zentropy.auth.settings import AuthSettings
from zentropy.auth.tokens import keyed_hash, new_token, same
from zentropy.http.errors import ProblemError
from zentropy.runtime import Runtime
from zentropy.settings import read_settings

log = logging.getLogger(__name__)
EXTRA_KEY = "auth"
EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")


class Flow(msgspec.Struct, frozen=True, kw_only=True):
    """A redirect sign-in in progress, kept in Redis under its state until the callback."""

    provider: str
    keep: dict[str, str]
    next: str
    link_to: str | None = None


class SignedIn(msgspec.Struct, frozen=True):
    user_id: uuid.UUID
    session: store.NewSession
    next: str


def normalize_email(value: str) -> str:
    address = (value or "").strip().lower()
    if len(address) > 254 or not EMAIL.match(address):
        raise ProblemError(400, "invalid_email", "Enter a valid email address.")
    return address


def runtime_of(app: Any) -> Runtime:
    """The runtime a Litestar app serves (the one `create_app` wired)."""
    from zentropy.app import ZentropyPlugin  # the app module imports this one

    runtime = app.plugins.get(ZentropyPlugin).runtime
    assert runtime is not None, "runtime not started"
    return runtime


class Auth:
    def __init__(self, runtime: Runtime, settings: AuthSettings | None = None,
                 providers: list[Any] | None = None) -> None:
        if not runtime.settings.secret_key:
            raise RuntimeError("ZENTROPY_SECRET_KEY is required for sign-in")
        self.runtime = runtime
        self.settings = settings or read_settings(AuthSettings)
        self.secret_key: str = runtime.settings.secret_key
        self.public_url = runtime.settings.public_url.rstrip("/")
        self.redis_prefix = f"{runtime.settings.queue_name}:auth:"
        self.providers: dict[str, Any] = {}
        registered = providers if providers is not None else [
            obj for _, obj in runtime.plugins.objects("register_identity_providers")
        ]
        for provider in registered:
            if provider.name in self.providers:
                log.warning("identity provider registered twice; the first is used", extra={"provider": provider.name})
                continue
            self.providers[provider.name] = provider
        self.tokens = store.VerificationTokens(runtime.db, self.secret_key, timedelta(minutes=self.settings.magic_link_minutes))

    @classmethod
    def of(cls, runtime: Runtime) -> Auth:
        """The runtime's `Auth`, made on first use."""
        auth = runtime.extras.get(EXTRA_KEY)
        if auth is None:
            auth = runtime.extras[EXTRA_KEY] = cls(runtime)
        return auth

    @classmethod
    def of_app(cls, app: Any) -> Auth:
        """The `Auth` of the runtime a Litestar app serves."""
        return cls.of(runtime_of(app))

    @property
    def db(self):  # noqa: ANN201
        return self.runtime.db

    @property
    def session_ttl(self) -> timedelta:
        """Idle lifetime: each use slides it forward."""
        return timedelta(hours=self.settings.session_ttl_hours)

    @property
    def session_max_age(self) -> timedelta:
        """Absolute lifetime: a session ends this long after it began, however it is used."""
        return timedelta(hours=self.settings.session_max_age_hours)

    # -- providers --------------------------------------------------------------------------------
    def offered(self) -> list[Any]:
        """Configured providers, in registration order."""
        return [p for p in self.providers.values() if p.configured]

    def redirect_provider(self, name: str) -> RedirectProvider:
        provider = self.providers.get(name)
        if provider is None or provider.kind != "redirect" or not provider.configured:
            raise ProblemError(404, "unknown_provider", f"No sign-in provider named {name!r} is configured.")
        return provider

    def email_provider(self) -> EmailProvider:
        for provider in self.offered():
            if provider.kind == "email":
                return provider
        raise ProblemError(404, "unknown_provider", "Sign-in by email is not configured.")

    def email_context(self) -> EmailSignIn:
        return EmailSignIn(tokens=self.tokens, public_url=self.public_url,
                           expires_minutes=self.settings.magic_link_minutes)

    def redirect_uri(self, provider: str) -> str:
        return public_link(self.public_url, f"/api/v1/auth/{provider}/callback")

    # -- redirect providers -----------------------------------------------------------------------
    def _flow_key(self, state: str) -> str:
        return self.redis_prefix + "flow:" + keyed_hash(self.secret_key, "flow", state)

    async def start_redirect(self, name: str, next_path: str | None, *, link_to: uuid.UUID | None = None) -> tuple[str, str]:
        """(authorization URL, state): the state goes in the browser's cookie and, hashed, in Redis."""
        provider = self.redirect_provider(name)
        state = new_token()
        request = await provider.authorization_request(redirect_uri=self.redirect_uri(name), state=state)
        flow = Flow(provider=name, keep=dict(request.keep), next=safe_next(next_path),
                    link_to=str(link_to) if link_to else None)
        await self.runtime.redis.set(self._flow_key(state), msgspec.json.encode(flow),
                                     ex=self.settings.flow_minutes * 60)
        return request.url, state

    async def finish_redirect(self, name: str, params: dict[str, str], state_cookie: str | None, *,
                              signed_in_as: uuid.UUID | None = None) -> tuple[uuid.UUID, Flow]:
        """Check the state against the browser's cookie, then let the provider verify the identity."""
        provider = self.redirect_provider(name)
        state = params.get("state") or ""
        if not state or not state_cookie or not same(state, state_cookie):
            raise IdentityError("state_mismatch", "This sign-in did not start in this browser; start again.")
        raw = await self.runtime.redis.getdel(self._flow_key(state))
        if raw is None:
            raise IdentityError("state_mismatch", "This sign-in expired or was already used; start again.")
        flow = msgspec.json.decode(raw, type=Flow)
        if flow.provider != name:
            raise IdentityError("state_mismatch", "This sign-in started with another provider; start again.")
        if flow.link_to is not None and (signed_in_as is None or str(signed_in_as) != flow.link_to):
            raise IdentityError("state_mismatch", "Linking must finish in the session that started it; start again.")
        identity = await provider.complete(redirect_uri=self.redirect_uri(name), params=params, keep=flow.keep)
        return await self._resolve(identity, uuid.UUID(flow.link_to) if flow.link_to else None), flow

    # -- magic links ------------------------------------------------------------------------------
    async def request_magic_link(self, email: str, next_path: str | None, client_ip: str) -> None:
        """Send a link: the same answer whether or not the address belongs to a user."""
        provider = self.email_provider()
        address = normalize_email(email)
        window = self.settings.rate_window_seconds
        for kind, value, limit in (("ip", client_ip, self.settings.magic_link_per_ip),
                                   ("address", address, self.settings.magic_link_per_address)):
            key = self.redis_prefix + f"rate:{kind}:" + keyed_hash(self.secret_key, "rate", value)
            retry_after = await hit(self.runtime.redis, key, limit, window)
            if retry_after is not None:
                raise ProblemError(429, "rate_limited", "Too many sign-in links asked for; wait and try again.",
                                   headers={"Retry-After": str(retry_after)}, retry_after=retry_after)
        next_safe = safe_next(next_path, default="") or None
        await provider.send_link(self.email_context(), address=address, next_path=next_safe)

    async def verify_magic_link(self, email: str, token: str) -> uuid.UUID:
        provider = self.email_provider()
        try:
            address = normalize_email(email)
        except ProblemError:
            raise IdentityError("invalid_link", "This sign-in link is invalid.") from None
        identity = await provider.verify(self.email_context(), address=address, token=token)
        return await self._resolve(identity, None)

    async def _resolve(self, identity: VerifiedIdentity, link_to: uuid.UUID | None) -> uuid.UUID:
        return await resolve_user(self.db, identity, link_to=link_to)

    # -- sessions ---------------------------------------------------------------------------------
    async def open_session(self, user_id: uuid.UUID, *, via: str, user_agent: str | None,
                           replacing: tuple[uuid.UUID, uuid.UUID] | None = None) -> store.NewSession:
        """A new session (never a token the browser brought: no fixation); ends the one it replaces."""
        session = await store.create_session(self.db, self.secret_key, user_id, via=via, ttl=self.session_ttl,
                                             user_agent=user_agent, max_age=self.session_max_age)
        if replacing is not None:
            await store.end_session(self.db, *replacing)
        return session

    async def authenticate(self, token: str) -> store.LiveSession | None:
        if not token or len(token) > 200:
            return None
        return await store.live_session(self.db, self.secret_key, token, self.session_ttl, self.session_max_age)

    def csrf_token(self, session_token_hash: str) -> str:
        return keyed_hash(self.secret_key, "csrf", session_token_hash)
