"""Who is calling: the session middleware.

Every HTTP request bringing a session token — `Authorization: Bearer <token>` or the session
cookie — is looked up once, in one database round trip that also says whether the user completed
onboarding (the request guard's question). Nothing about sessions is kept between requests, so
ending a session, disabling a user or deleting one takes effect on the next request, whichever
process serves it. With a live session, `scope["user"]` is a `CurrentUser` and the rest
of the request (guards, dependencies, the handler) runs in that user's tenant context
(`zentropy.db.tenant`), so row-level security shows the user's own rows and nothing else.
Without one, `scope["user"]` is None and tenant tables show nothing. A cookie session renewed by
sliding expiry gets its cookie re-sent; a dead session cookie is cleared.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from zentropy.auth.cookies import cleared_session_cookie, session_cookie, session_cookie_name
from zentropy.auth.service import Auth, runtime_of
from zentropy.db import tenant


@dataclass(frozen=True, kw_only=True)
class CurrentUser:
    """The signed-in user of a request."""

    user_id: uuid.UUID
    session_id: uuid.UUID
    via: Literal["cookie", "bearer"]
    csrf_token: str  # send back as X-CSRF-Token (or form field csrf_token) on cookie-authenticated writes
    onboarded: bool = False  # completed onboarding, as of this request's session look-up


def bearer_token(authorization: str | None) -> str | None:
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip() or None
    return None


def session_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        runtime = runtime_of(scope["app"])
        connection = ASGIConnection(scope)
        token = bearer_token(connection.headers.get("authorization"))
        via: Literal["cookie", "bearer"] = "bearer"
        if token is None and (token := connection.cookies.get(session_cookie_name(runtime.settings.public_url))):
            via = "cookie"
        if token is None:
            scope["user"] = None
            await app(scope, receive, send)
            return
        auth = Auth.of(runtime)
        live = await auth.authenticate(token)
        if live is None:
            scope["user"] = None
            await app(scope, receive, _with_cookie(send, cleared_session_cookie(auth.public_url)) if via == "cookie"
                      else send)
            return
        scope["user"] = CurrentUser(user_id=live.user_id, session_id=live.session_id, via=via,
                                    csrf_token=auth.csrf_token(live.token_hash), onboarded=live.onboarded)
        if via == "cookie" and live.renewed:
            send = _with_cookie(send, session_cookie(auth.public_url, token, live.expires_at))
        with tenant(live.user_id):
            await app(scope, receive, send)

    return middleware


def _with_cookie(send: Send, cookie) -> Send:  # noqa: ANN001
    """`send` that adds `cookie` to the response, unless the handler set that cookie itself."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableScopeHeaders.from_message(message)
            prefix = f"{cookie.key}="
            if not any(v.startswith(prefix) for v in headers.getall("set-cookie", [])):
                headers.add("set-cookie", cookie.to_header(header=""))
        await send(message)

    return wrapped
