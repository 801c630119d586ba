"""Sign-in endpoints under /api/v1/auth."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import Redirect

from zentropy.auth import cookies
from zentropy.auth.contract import IdentityError
from zentropy.auth.guards import signed_in
from zentropy.auth.middleware import CurrentUser
from zentropy.auth.ratelimit import hit, is_loopback
from zentropy.auth.redirects import public_link
from zentropy.auth.schemas import MagicLinkRequest, MagicLinkSent, MagicLinkVerify, ProviderInfo, SessionIssued
from zentropy.auth.service import Auth
from zentropy.auth.store import end_all_sessions, end_session
from zentropy.auth.tokens import keyed_hash
from zentropy.auth.web import after_sign_in, as_problem, client_ip, page, refusal, replacing, wants_html
from zentropy.http.errors import problem
from zentropy.runtime import Runtime
from zentropy.users.preferences import is_onboarded

Next = Annotated[str | None, QueryParameter(name="next", max_length=2000, required=False)]
TOO_MANY_STARTS = {429: ResponseSpec(None, description="More sign-ins started from this client IP in the window than "
                                     "ZENTROPY_SIGNIN_LIMIT_PER_IP allows (`rate_limited`, Retry-After)")}


async def too_many_starts(request: Request, auth: Auth) -> Response | None:
    """429 (an HTML page for a browser, problem details otherwise, with Retry-After) once this client
    IP has started `signin_starts_per_ip` redirect sign-ins in the rate-limit window; else None.

    A loopback client is not limited: it is this machine, or a proxy on it whose X-Forwarded-For is
    not believed (ZENTROPY_FORWARDED_ALLOW_IPS), and limiting that would lock everyone out at once."""
    ip = client_ip(request)
    if is_loopback(ip):
        return None
    key = auth.redis_prefix + "rate:start:" + keyed_hash(auth.secret_key, "rate", ip)
    retry_after = await hit(auth.runtime.redis, key, auth.settings.signin_starts_per_ip,
                            auth.settings.rate_window_seconds)
    if retry_after is None:
        return None
    detail = "Too many sign-ins started from here; wait and try again."
    if wants_html(request):
        response = page("error.html", status=429, code="rate_limited", detail=detail)
        response.headers["Retry-After"] = str(retry_after)
        return response
    return problem(request, 429, "rate_limited", detail, headers={"Retry-After": str(retry_after)},
                   retry_after=retry_after)


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]
    opt = {"before_onboarding": True}

    @get("/providers", summary="Configured sign-in providers")
    async def providers(self, runtime: NamedDependency[Runtime]) -> list[ProviderInfo]:
        auth = Auth.of(runtime)
        return [
            ProviderInfo(name=p.name, display_name=p.display_name, kind=p.kind, start_url=public_link(
                auth.public_url, f"/api/v1/auth/{p.name}/login" if p.kind == "redirect" else "/api/v1/auth/magic-link"))
            for p in auth.offered()
        ]

    @get("/{provider:str}/login", summary="Start signing in with a redirect provider", status_code=303,
         responses=TOO_MANY_STARTS)
    async def login(self, provider: FromPath[str], request: Request, runtime: NamedDependency[Runtime],
                    next_path: Next = None) -> Response:
        auth = Auth.of(runtime)
        if refused := await too_many_starts(request, auth):
            return refused
        try:
            url, state = await auth.start_redirect(provider, next_path)
        except IdentityError as exc:
            return refusal(request, exc.status, exc.code, exc.detail)
        return Redirect(url, status_code=303, cookies=[cookies.state_cookie(auth.public_url, state, auth.settings.flow_minutes)])

    @post("/{provider:str}/link", summary="Link another provider to the signed-in user", status_code=303,
          guards=[signed_in], responses=TOO_MANY_STARTS)
    async def link(self, provider: FromPath[str], request: Request, current_user: NamedDependency[CurrentUser],
                   runtime: NamedDependency[Runtime], next_path: Next = None) -> Response:
        auth = Auth.of(runtime)
        if refused := await too_many_starts(request, auth):
            return refused
        try:
            url, state = await auth.start_redirect(provider, next_path, link_to=current_user.user_id)
        except IdentityError as exc:
            return refusal(request, exc.status, exc.code, exc.detail)
        return Redirect(url, status_code=303, cookies=[cookies.state_cookie(auth.public_url, state, auth.settings.flow_minutes)])

    @get("/{provider:str}/callback", summary="Where the provider sends the browser back (the redirect URI)")
    async def callback(self, provider: FromPath[str], request: Request, runtime: NamedDependency[Runtime]) -> Response:
        auth = Auth.of(runtime)
        params = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
        clear_state = cookies.cleared_state_cookie(auth.public_url)
        current: CurrentUser | None = request.scope.get("user")
        try:
            user_id, flow = await auth.finish_redirect(provider, params, request.cookies.get(cookies.STATE),
                                                       signed_in_as=current.user_id if current else None)
        except IdentityError as exc:
            return refusal(request, exc.status, exc.code, exc.detail, cookies=[clear_state])
        if flow.link_to:  # linked to the signed-in user: the session stays as it is
            return Redirect(public_link(auth.public_url, flow.next), status_code=303, cookies=[clear_state])
        session = await auth.open_session(user_id, via=provider, user_agent=request.headers.get("user-agent"),
                                          replacing=replacing(request))
        return Redirect(await after_sign_in(auth, user_id, flow.next), status_code=303, cookies=[
            clear_state, cookies.session_cookie(auth.public_url, session.token, session.expires_at)])

    @post("/magic-link", summary="Email a sign-in link", status_code=202, opt={"csrf": False})
    async def magic_link(self, data: JSONBody[MagicLinkRequest], request: Request, runtime: NamedDependency[Runtime]) -> MagicLinkSent:
        try:
            await Auth.of(runtime).request_magic_link(data.email, data.next, client_ip(request))
        except IdentityError as exc:
            raise as_problem(exc) from None
        return MagicLinkSent()

    @post("/magic-link/verify", summary="Exchange a magic link's token for a session", status_code=201,
          opt={"csrf": False})
    async def verify_magic_link(self, data: JSONBody[MagicLinkVerify], request: Request,
                                runtime: NamedDependency[Runtime]) -> Response[SessionIssued]:
        auth = Auth.of(runtime)
        try:
            user_id = await auth.verify_magic_link(data.email, data.token)
        except IdentityError as exc:
            raise as_problem(exc) from None
        session = await auth.open_session(user_id, via="magic-link", user_agent=request.headers.get("user-agent"),
                                          replacing=replacing(request))
        body = SessionIssued(token=session.token, expires_at=session.expires_at, user_id=user_id,
                             onboarding_required=not await is_onboarded(auth.db, user_id))
        return Response(body, cookies=[cookies.session_cookie(auth.public_url, session.token, session.expires_at)])

    @post("/logout", summary="End this session", status_code=204)
    async def logout(self, request: Request, runtime: NamedDependency[Runtime]) -> Response[None]:
        auth = Auth.of(runtime)
        user: CurrentUser | None = request.scope.get("user")
        if user is not None:
            await end_session(auth.db, user.user_id, user.session_id)
        return Response(None, status_code=204, cookies=[cookies.cleared_session_cookie(auth.public_url)])

    @post("/logout/all", summary="End every session of the signed-in user", status_code=204, guards=[signed_in])
    async def logout_everywhere(self, current_user: NamedDependency[CurrentUser],
                                runtime: NamedDependency[Runtime]) -> Response[None]:
        auth = Auth.of(runtime)
        await end_all_sessions(auth.db, current_user.user_id)
        return Response(None, status_code=204, cookies=[cookies.cleared_session_cookie(auth.public_url)])
