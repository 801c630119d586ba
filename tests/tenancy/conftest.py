"""Multi-tenancy test rig: the app with magic link (loopback SMTP) and Google (loopback OpenID
provider) sign-in, and people signed in through the real flow with bearer sessions."""

from __future__ import annotations

import dataclasses
import secrets
import uuid
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from redis.asyncio import Redis
from saq.queue.redis import RedisQueue
from sqlalchemy import text

from tests.auth.loopback import Inbox, OpenIDProvider, serve
from zentropy.auth.service import Auth
from zentropy.auth.settings import AuthSettings
from zentropy_plugins.auth.google import GoogleProvider, GoogleSettings
from zentropy_plugins.auth.magic_link import MagicLinkProvider, MagicLinkSettings

PUBLIC = "http://zentropy.test"


@pytest.fixture(scope="session")
async def tenancy_inbox() -> AsyncIterator[Inbox]:
    async with Inbox().running() as box:
        yield box


@pytest.fixture(scope="session")
async def tenancy_google() -> AsyncIterator[OpenIDProvider]:
    op = OpenIDProvider("google", client_id="tenancy-client.apps.googleusercontent.com")
    async with serve(op.app()) as base:
        op.base = base
        yield op


@pytest.fixture(scope="session")
async def tenancy_rt(runtime, redis_url, tenancy_inbox, tenancy_google):
    """The session runtime (same database and Redis) whose sign-in offers Google and magic link,
    with rate limits out of the way (the isolation proof signs people in over and over), and a
    queue of its own that no worker serves (searches started here stay queued)."""
    queue = RedisQueue(Redis.from_url(redis_url), name=f"tenancy-{uuid.uuid4().hex[:8]}")
    rt = dataclasses.replace(runtime, extras={}, queue=queue)
    providers = [
        GoogleProvider(GoogleSettings(issuer=tenancy_google.issuer, client_id=tenancy_google.client_id,
                                      client_secret=tenancy_google.client_secret)),
        MagicLinkProvider(MagicLinkSettings(smtp_url=f"smtp://127.0.0.1:{tenancy_inbox.port}",
                                            email_from="Zentropy <no-reply@zentropy.test>")),
    ]
    rt.extras["auth"] = Auth(rt, AuthSettings(magic_link_per_address=10**6, magic_link_per_ip=10**6),
                             providers=providers)
    yield rt
    await queue.disconnect()


def app_client(rt) -> httpx.AsyncClient:  # noqa: ANN001
    from zentropy.app import create_app

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(runtime=rt)), base_url=PUBLIC)


@pytest.fixture
async def api(tenancy_rt) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(tenancy_rt) as client:
        yield client


def new_email() -> str:
    return f"tenant-{uuid.uuid4().hex[:12]}@example.com"


def new_marker() -> str:
    """A string no response has any business containing unless it is this person's data."""
    return "Zq" + secrets.token_hex(6)


ONBOARDING = {"salary_min": 90000, "salary_currency": "EUR", "remote": True}


@dataclasses.dataclass
class Person:
    email: str
    marker: str
    user_id: str = ""
    token: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def magic_link_session(client: httpx.AsyncClient, inbox: Inbox, email: str) -> dict:
    """The real flow: ask for a link, take it from the mail, exchange its token for a session."""
    sent = await client.post("/api/v1/auth/magic-link", json={"email": email})
    assert sent.status_code == 202, sent.text
    query = parse_qs(urlsplit(inbox.link_for(email)).query)
    issued = await client.post("/api/v1/auth/magic-link/verify", json={"email": email, "token": query["token"][0]})
    assert issued.status_code == 201, issued.text
    client.cookies.clear()  # bearer only: no cookie rides along
    return issued.json()


async def sign_in(client: httpx.AsyncClient, inbox: Inbox, person: Person) -> Person:
    issued = await magic_link_session(client, inbox, person.email)
    person.user_id, person.token = issued["user_id"], issued["token"]
    return person


async def sign_up(client: httpx.AsyncClient, inbox: Inbox, *, marker: str | None = None) -> Person:
    """A new person, signed in and onboarded; their preferences carry their marker."""
    person = await sign_in(client, inbox, Person(email=new_email(), marker=marker or new_marker()))
    prefs = {**ONBOARDING, "skills": ["Python", person.marker], "locations": [f"{person.marker} City"]}
    done = await client.put("/api/v1/me/preferences", json=prefs, headers=person.headers)
    assert done.status_code == 200, done.text
    return person


async def rows_of(owner_engine, user_id: str | uuid.UUID) -> dict[str, int]:  # noqa: ANN001
    """Rows of `user_id` in every tenant table, counted as the owner behind row-level security."""
    from zentropy.accounts.tables import quote, tenant_tables

    async with owner_engine.connect() as conn:
        await conn.execute(text("SET LOCAL row_security = off"))
        counts = {}
        for table in await tenant_tables(conn):
            counts[table.name] = (await conn.execute(text(
                f"SELECT count(*) FROM {quote(table.name)} WHERE {quote(table.tenant_column)} = :u"),
                {"u": uuid.UUID(str(user_id))})).scalar_one()
    return counts
