"""Server-rendered pages (Jinja2, no JavaScript needed) and answers that suit browsers and API
clients alike: HTML for a browser, problem details for anything else."""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from litestar import MediaType, Request, Response
from litestar.datastructures import Cookie

from zentropy.auth.contract import IdentityError
from zentropy.auth.redirects import public_link
from zentropy.http.errors import ProblemError, problem
from zentropy.users.preferences import is_onboarded

if TYPE_CHECKING:
    from zentropy.auth.service import Auth

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    # Sign-in links carry tokens: never leak them to another site. (Not no-referrer: browsers then
    # send `Origin: null` on our own form posts, which the CSRF check refuses.)
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; "
                               "frame-ancestors 'none'; base-uri 'none'",
}


@lru_cache(maxsize=1)
def templates() -> Environment:
    return Environment(loader=PackageLoader("zentropy.auth", "templates"), autoescape=select_autoescape(["html"]))


def page(name: str, status: int = 200, cookies: list[Cookie] | None = None, **context: Any) -> Response[str]:
    html = templates().get_template(name).render(**context)
    return Response(html, status_code=status, media_type=MediaType.HTML, headers=PAGE_HEADERS, cookies=cookies or [])


def wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept


def as_problem(exc: IdentityError) -> ProblemError:
    return ProblemError(exc.status, exc.code, exc.detail)


def refusal(request: Request, status: int, code: str, detail: str, cookies: list[Cookie] | None = None) -> Response:
    """A refused sign-in: an HTML page for a browser, problem details otherwise."""
    if wants_html(request):
        return page("error.html", status=status, cookies=cookies, code=code, detail=detail)
    response = problem(request, status, code, detail)
    for cookie in cookies or []:
        response.set_cookie(cookie)
    return response


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def replacing(request: Request) -> tuple[uuid.UUID, uuid.UUID] | None:
    """The session a new sign-in replaces (the browser's current one), if any."""
    user = request.scope.get("user")
    return (user.user_id, user.session_id) if user else None


async def after_sign_in(auth: Auth, user_id: uuid.UUID, next_path: str) -> str:
    """Where a fresh sign-in lands: `next`, or onboarding first while preferences are incomplete."""
    if await is_onboarded(auth.db, user_id):
        return public_link(auth.public_url, next_path)
    return public_link(auth.public_url, "/onboarding?" + urlencode({"next": next_path}))
