"""Sign-in test rig: the app with Google, LinkedIn and magic link pointed at loopback servers."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import text

from tests.auth.loopback import Inbox, OpenIDProvider, serve
from zentropy.auth.service import Auth
from zentropy.auth.settings import AuthSettings
from zentropy_plugins.auth.google import GoogleProvider, GoogleSettings
from zentropy_plugins.auth.linkedin import LinkedInProvider, LinkedInSettings
from zentropy_plugins.auth.magic_link import MagicLinkProvider, MagicLinkSettings

PUBLIC = "http://zentropy.test"


@pytest.fixture(scope="session")
async def google_op() -> AsyncIterator[OpenIDProvider]:
    op = OpenIDProvider("google", client_id="google-client.apps.googleusercontent.com")
    async with serve(op.app()) as base:
        op.base = base
        yield op


@pytest.fixture(scope="session")
async def linkedin_op() -> AsyncIterator[OpenIDProvider]:
    op = OpenIDProvider("linkedin", client_id="86linkedinclient")
    async with serve(op.app()) as base:
        op.base = base
        yield op


@pytest.fixture(scope="session")
async def inbox() -> AsyncIterator[Inbox]:
    async with Inbox().running() as box:
        yield box


@pytest.fixture(autouse=True)
def _reset_ops(request):
    """Each test starts with honest providers."""
    for name in ("google_op", "linkedin_op"):
        if name in request.fixturenames:
            op = request.getfixturevalue(name)
            op.tamper = {}
            op.published = [op.key]
    if "inbox" in request.fixturenames:
        request.getfixturevalue("inbox").refuse = False
    yield


def providers(google_op: OpenIDProvider, linkedin_op: OpenIDProvider, inbox: Inbox, *,
              allowed_domains: str = "") -> list:
    return [
        GoogleProvider(GoogleSettings(issuer=google_op.issuer, client_id=google_op.client_id,
                                      client_secret=google_op.client_secret, allowed_domains=allowed_domains)),
        LinkedInProvider(LinkedInSettings(issuer=linkedin_op.issuer, client_id=linkedin_op.client_id,
                                          client_secret=linkedin_op.client_secret)),
        MagicLinkProvider(MagicLinkSettings(smtp_url=f"smtp://127.0.0.1:{inbox.port}",
                                            email_from="Zentropy <no-reply@zentropy.test>")),
    ]


def auth_runtime(runtime, provider_list: list, **settings):  # noqa: ANN001
    """A copy of the session runtime (same database and Redis) whose sign-in uses `provider_list`."""
    rt = dataclasses.replace(runtime, extras={})
    rt.extras["auth"] = Auth(rt, AuthSettings(**settings), providers=provider_list)
    return rt


def web_client(rt, **kwargs) -> httpx.AsyncClient:  # noqa: ANN001
    from zentropy.app import create_app

    transport = httpx.ASGITransport(app=create_app(runtime=rt), client=kwargs.pop("client", ("127.0.0.1", 50000)))
    return httpx.AsyncClient(transport=transport, base_url=PUBLIC, **kwargs)


@pytest.fixture(scope="session")
async def auth_rt(runtime, google_op, linkedin_op, inbox):
    return auth_runtime(runtime, providers(google_op, linkedin_op, inbox))


@pytest.fixture
async def web(auth_rt) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client of the app: keeps cookies; each test its own client IP."""
    async with web_client(auth_rt, client=(f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.1", 50000)) as c:
        yield c


def new_email() -> str:
    return f"user-{uuid.uuid4().hex[:12]}@example.com"


async def oidc_sign_in(client: httpx.AsyncClient, op: OpenIDProvider, user: dict | None = None, *,
                       next_path: str | None = None, link: bool = False) -> httpx.Response:
    """The browser's round trip: app login -> provider authorize (real HTTP) -> app callback."""
    if user is not None:
        op.user = user
    provider = op.flavor
    if link:
        me = (await client.get("/api/v1/me")).json()
        start = await client.post(f"/api/v1/auth/{provider}/link", params={"next": next_path or "/account"},
                                  headers={"X-CSRF-Token": me["csrf_token"]})
    else:
        start = await client.get(f"/api/v1/auth/{provider}/login", params={"next": next_path} if next_path else None)
    assert start.status_code == 303, start.text
    async with httpx.AsyncClient() as browser:
        at_provider = await browser.get(start.headers["location"])
    assert at_provider.status_code == 302, at_provider.text
    back = urlsplit(at_provider.headers["location"])
    assert f"{back.scheme}://{back.netloc}" == PUBLIC
    return await client.get(f"{back.path}?{back.query}")


async def magic_sign_in(client: httpx.AsyncClient, inbox: Inbox, email: str, *, next_path: str | None = None) -> httpx.Response:
    sent = await client.post("/api/v1/auth/magic-link", json={"email": email, "next": next_path})
    assert sent.status_code == 202, sent.text
    link = urlsplit(inbox.link_for(email))
    page = await client.get(f"{link.path}?{link.query}")
    assert page.status_code == 200
    from urllib.parse import parse_qs

    q = {k: v[0] for k, v in parse_qs(link.query).items()}
    return await client.post("/signin/magic", data={"email": q["email"], "token": q["token"], "next": q.get("next", "")})


class Counts:
    """Rows behind RLS, seen as the (superuser) owner: what sign-in created."""

    def __init__(self, owner_engine) -> None:  # noqa: ANN001
        self.engine = owner_engine

    async def __call__(self) -> dict[str, int]:
        async with self.engine.connect() as conn:
            row = (await conn.execute(text(
                "SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM accounts) AS accounts, "
                "(SELECT count(*) FROM sessions) AS sessions, "
                "(SELECT count(*) FROM verification_tokens WHERE consumed_at IS NOT NULL) AS consumed"))).one()
        return dict(row._mapping)

    async def users_with_email(self, email: str) -> int:
        async with self.engine.connect() as conn:
            return (await conn.execute(text("SELECT count(*) FROM users WHERE lower(email) = lower(:e)"),
                                       {"e": email})).scalar()

    async def accounts_of(self, provider: str, subject: str) -> list:
        async with self.engine.connect() as conn:
            return list((await conn.execute(text(
                "SELECT user_id FROM accounts WHERE provider = :p AND subject = :s"),
                {"p": provider, "s": subject})).scalars())


@pytest.fixture
def counts(owner_engine) -> Counts:
    return Counts(owner_engine)
