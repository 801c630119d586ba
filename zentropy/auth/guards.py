"""What every route gets (`request_guard`, app-wide) and what a feature asks for (`current_user`,
`signed_in`).

`request_guard`, on every route handler:
- CSRF: an unsafe request (POST, PUT, PATCH, DELETE) with an `Origin` other than the public
  URL's is refused; one authenticated by the session *cookie* must also carry the session's CSRF
  token (header `X-CSRF-Token`, or form field `csrf_token`). Bearer requests need no token.
  Handlers that authenticate by a secret of their own (a magic-link token) skip the token check
  with `opt={"csrf": False}` (the `Origin` check still applies: no login CSRF).
- The onboarding gate: a signed-in user who has not completed preferences gets 403
  `onboarding_required` everywhere except handlers marked `opt={"before_onboarding": True}`
  (sign-in, `me`, preferences, the pages) and /health and /schema.
"""

from __future__ import annotations

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from zentropy.auth.middleware import CurrentUser
from zentropy.auth.redirects import public_link
from zentropy.auth.service import Auth
from zentropy.auth.tokens import same
from zentropy.http.errors import ProblemError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
OPEN_PREFIXES = ("/health", "/schema", "/metrics")
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def csrf_failed(detail: str) -> ProblemError:
    return ProblemError(403, "csrf_failed", detail)


def _origin(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


async def check_csrf(connection: ASGIConnection, user: CurrentUser | None, auth: Auth) -> None:
    origin = connection.headers.get("origin")
    if origin is not None and origin.lower() != _origin(auth.public_url):
        raise csrf_failed("This request came from another site.")
    if user is None or user.via != "cookie":
        return
    given = connection.headers.get(CSRF_HEADER)
    if given is None and connection.headers.get("content-type", "").startswith(FORM_TYPES):
        form = await Request(connection.scope, connection.receive).form()  # cached for the handler
        given = form.get(CSRF_FIELD)
    if not isinstance(given, str) or not same(given, user.csrf_token):
        raise csrf_failed("Missing or wrong CSRF token (send the session's token as X-CSRF-Token).")


async def request_guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    user: CurrentUser | None = connection.scope.get("user")
    if connection.scope["method"] not in SAFE_METHODS:
        await check_csrf(connection, user if handler.opt.get("csrf", True) else None, Auth.of_app(connection.app))
    if user is None or handler.opt.get("before_onboarding") or connection.scope["path"].startswith(OPEN_PREFIXES):
        return
    if not user.onboarded:  # looked up with the session (zentropy.auth.middleware)
        auth = Auth.of_app(connection.app)
        raise ProblemError(
            403, "onboarding_required", "Complete your preferences first: skills, salary expectation, "
            "and locations or remote.",
            onboarding_url=public_link(auth.public_url, "/onboarding"),
            preferences_url=public_link(auth.public_url, "/api/v1/me/preferences"),
        )


def unauthenticated(auth: Auth) -> ProblemError:
    return ProblemError(401, "unauthenticated", "Sign in first.", signin_url=public_link(auth.public_url, "/signin"),
                        headers={"WWW-Authenticate": "Bearer"})


async def signed_in(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Guard: 401 `unauthenticated` unless the request has a live session."""
    if connection.scope.get("user") is None:
        raise unauthenticated(Auth.of_app(connection.app))


def current_user_of(connection: ASGIConnection) -> CurrentUser:
    """The signed-in user, or 401 `unauthenticated` (what the `current_user` dependency gives, for
    hot handlers that skip dependency injection: Litestar resolves two dependencies in a task group)."""
    user = connection.scope.get("user")
    if user is None:
        raise unauthenticated(Auth.of_app(connection.app))
    return user


async def provide_current_user(request: Request) -> CurrentUser:
    """Dependency `current_user`: the signed-in user, or 401 `unauthenticated`."""
    return current_user_of(request)
