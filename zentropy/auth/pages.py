"""Sign-in, magic-link confirmation, onboarding and account pages: plain HTML forms, no JavaScript."""

from __future__ import annotations

from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect

from zentropy.auth import cookies
from zentropy.auth.contract import IdentityError
from zentropy.auth.middleware import CurrentUser
from zentropy.auth.redirects import public_link, safe_next
from zentropy.auth.service import Auth
from zentropy.auth.store import end_session, linked_accounts
from zentropy.auth.web import after_sign_in, client_ip, page, refusal, replacing
from zentropy.db import tenant
from zentropy.http.errors import ProblemError
from zentropy.runtime import Runtime
from zentropy.users.models import User
from zentropy.users.preferences import get_preferences, missing, normalized, save_preferences
from zentropy.users.schemas import PreferencesIn

CURRENCIES = ["USD", "EUR", "GBP", "CHF", "CAD", "AUD", "INR", "JPY", "SEK", "PLN"]


def _field(form, name: str) -> str:  # noqa: ANN001
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _list(value: str) -> list[str]:
    return [part for part in (p.strip() for p in value.replace("\n", ",").split(",")) if part]


def signin_redirect(auth: Auth, next_path: str) -> Redirect:
    return Redirect(public_link(auth.public_url, "/signin?" + urlencode({"next": next_path})), status_code=303)


class PagesController(Controller):
    path = "/"
    include_in_schema = False
    opt = {"before_onboarding": True}

    @get("/signin")
    async def signin(self, request: Request, runtime: NamedDependency[Runtime]) -> Response:
        auth = Auth.of(runtime)
        next_path = safe_next(request.query_params.get("next"))
        return self._signin_page(auth, request, next_path)

    def _signin_page(self, auth: Auth, request: Request, next_path: str, *, status: int = 200,
                     error: str | None = None, email: str = "") -> Response:
        offered = auth.offered()
        return page(
            "signin.html", status=status, next=next_path, error=error, email=email,
            email_enabled=any(p.kind == "email" for p in offered),
            redirect_providers=[(p.display_name, "/api/v1/auth/" + p.name + "/login?" + urlencode({"next": next_path}))
                                for p in offered if p.kind == "redirect"],
            signed_in=request.scope.get("user") is not None,
        )

    @post("/signin/email", opt={"csrf": False})
    async def signin_email(self, request: Request, runtime: NamedDependency[Runtime]) -> Response:
        auth = Auth.of(runtime)
        form = await request.form()
        email, next_path = _field(form, "email"), safe_next(_field(form, "next"))
        try:
            await auth.request_magic_link(email, next_path, client_ip(request))
        except ProblemError as exc:
            return self._signin_page(auth, request, next_path, status=exc.status_code, error=exc.detail, email=email)
        except IdentityError as exc:
            return self._signin_page(auth, request, next_path, status=exc.status, error=exc.detail, email=email)
        return page("check_email.html", minutes=auth.settings.magic_link_minutes)

    @get("/signin/magic")
    async def magic_confirm(self, request: Request, runtime: NamedDependency[Runtime]) -> Response:
        """Only shows a button: mail scanners that prefetch the link consume nothing."""
        email, token = request.query_params.get("email") or "", request.query_params.get("token") or ""
        if not email or not token:
            return refusal(request, 400, "invalid_link", "This sign-in link is incomplete; ask for a new one.")
        return page("magic_confirm.html", email=email, token=token,
                    next=safe_next(request.query_params.get("next")))

    @post("/signin/magic", opt={"csrf": False})
    async def magic_sign_in(self, request: Request, runtime: NamedDependency[Runtime]) -> Response:
        auth = Auth.of(runtime)
        form = await request.form()
        try:
            user_id = await auth.verify_magic_link(_field(form, "email"), _field(form, "token"))
        except IdentityError as exc:
            return refusal(request, exc.status, exc.code, exc.detail)
        session = await auth.open_session(user_id, via="magic-link", user_agent=request.headers.get("user-agent"),
                                          replacing=replacing(request))
        target = await after_sign_in(auth, user_id, safe_next(_field(form, "next")))
        return Redirect(target, status_code=303,
                        cookies=[cookies.session_cookie(auth.public_url, session.token, session.expires_at)])

    @get("/onboarding")
    async def onboarding(self, request: Request, runtime: NamedDependency[Runtime]) -> Response:
        auth = Auth.of(runtime)
        user: CurrentUser | None = request.scope.get("user")
        next_path = safe_next(request.query_params.get("next"))
        if user is None:
            return signin_redirect(auth, "/onboarding?" + urlencode({"next": next_path}))
        prefs = await get_preferences(runtime.db, user.user_id)
        return page("onboarding.html", prefs=prefs, next=next_path, csrf_token=user.csrf_token,
                    currencies=CURRENCIES, missing=[])

    @post("/onboarding")
    async def onboarding_save(self, request: Request, runtime: NamedDependency[Runtime]) -> Response:
        auth = Auth.of(runtime)
        user: CurrentUser | None = request.scope.get("user")
        if user is None:
            return signin_redirect(auth, "/onboarding")
        form = await request.form()
        next_path = safe_next(_field(form, "next"))
        salary = _field(form, "salary_min").replace(",", "").replace(" ", "")
        currency = _field(form, "salary_currency").upper()
        prefs = normalized(PreferencesIn(
            skills=[s[:80] for s in _list(_field(form, "skills"))][:50],
            salary_min=int(salary) if salary.isdigit() and len(salary) <= 9 else None,
            salary_currency=currency if currency in CURRENCIES else None,
            locations=[s[:80] for s in _list(_field(form, "locations"))][:50],
            remote=True if form.get("remote") else None,
        ))
        if needed := missing(prefs):
            return page("onboarding.html", status=422, prefs=prefs, next=next_path, csrf_token=user.csrf_token,
                        currencies=CURRENCIES, missing=needed)
        await save_preferences(runtime.db, user.user_id, prefs)
        return Redirect(public_link(auth.public_url, next_path), status_code=303)

    @get("/account")
    async def account(self, request: Request, runtime: NamedDependency[Runtime]) -> Response:
        auth = Auth.of(runtime)
        user: CurrentUser | None = request.scope.get("user")
        if user is None:
            return signin_redirect(auth, "/account")
        prefs = await get_preferences(runtime.db, user.user_id)
        if not prefs.completed:
            return Redirect(public_link(auth.public_url, "/onboarding?next=/account"), status_code=303)
        with tenant(user.user_id):
            async with runtime.db.session() as s:
                profile = await s.get(User, user.user_id)
        accounts = await linked_accounts(runtime.db, user.user_id)
        linked = {a.provider for a in accounts}
        return page("account.html", user=profile, prefs=prefs, accounts=accounts, csrf_token=user.csrf_token,
                    linkable=[(p.display_name, p.name) for p in auth.offered()
                              if p.kind == "redirect" and p.name not in linked])

    @post("/signout")
    async def signout(self, request: Request, runtime: NamedDependency[Runtime]) -> Response:
        auth = Auth.of(runtime)
        user: CurrentUser | None = request.scope.get("user")
        if user is not None:
            await end_session(runtime.db, user.user_id, user.session_id)
        return Redirect(public_link(auth.public_url, "/signin"), status_code=303,
                        cookies=[cookies.cleared_session_cookie(auth.public_url)])
