"""Each signed-in request looks its session up once (session, renewal, onboarding) and keeps
nothing between requests: ending a session, sign-out everywhere, disabling a user and completing
onboarding all take effect on the very next request, in every app instance. Sessions also end at
their absolute lifetime, however often they are used."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy import text

from tests.auth.conftest import PUBLIC
from zentropy.accounts.admin import set_disabled
from zentropy.auth.service import Auth
from zentropy.auth.settings import AuthSettings
from zentropy.auth.tokens import keyed_hash
from zentropy.db import Database, tenant
from zentropy.runtime import service_database_url

COMPLETE = {"skills": ["Python"], "salary_min": 90000, "salary_currency": "EUR", "locations": [], "remote": True}


def instance(runtime, **auth_settings) -> object:  # noqa: ANN001
    """Another app instance: the same database and Redis, a connection pool and sign-in of its own."""
    rt = dataclasses.replace(runtime, db=Database(service_database_url(runtime.settings), pool_size=2), extras={})
    rt.extras["auth"] = Auth(rt, AuthSettings(**auth_settings), providers=[])
    return rt


@pytest.fixture
async def two() -> AsyncIterator[tuple]:
    made: list = []

    async def make(runtime, **auth_settings):  # noqa: ANN001, ANN202
        from zentropy.app import create_app

        rt = instance(runtime, **auth_settings)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(runtime=rt)), base_url=PUBLIC)
        made.append((rt, client))
        return rt, client

    yield make
    for rt, client in made:
        await client.aclose()
        await rt.db.dispose()


async def new_user(db: Database, *, onboarded: bool = True) -> uuid.UUID:
    user_id = uuid.uuid4()
    with tenant(user_id):
        async with db.session() as s:
            await s.execute(text("INSERT INTO users (id, email) VALUES (:id, :e)"),
                            {"id": user_id, "e": f"{user_id.hex}@example.com"})
            if onboarded:
                await s.execute(text("INSERT INTO user_preferences (user_id, skills, remote, salary_min, "
                                     "salary_currency, completed_at) VALUES (:id, '{python}', true, 1, 'EUR', now())"),
                                {"id": user_id})
    return user_id


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_sign_out_on_one_instance_ends_the_session_on_the_other_at_once(runtime, two):
    rt_a, a = await two(runtime)
    _, b = await two(runtime)
    user = await new_user(runtime.db)
    token = (await Auth.of(rt_a).open_session(user, via="bearer", user_agent=None)).token
    other = (await Auth.of(rt_a).open_session(user, via="bearer", user_agent=None)).token
    for client in (a, b):
        assert (await client.get("/api/v1/searches", headers=bearer(token))).status_code == 200
    assert (await a.post("/api/v1/auth/logout", headers=bearer(token))).status_code == 204
    assert (await b.get("/api/v1/searches", headers=bearer(token))).status_code == 401
    assert (await b.get("/api/v1/searches", headers=bearer(other))).status_code == 200  # only that session ended
    assert (await b.post("/api/v1/auth/logout/all", headers=bearer(other))).status_code == 204
    for client in (a, b):
        assert (await client.get("/api/v1/searches", headers=bearer(other))).status_code == 401


async def test_a_disabled_user_is_refused_at_once_everywhere(runtime, two, owner_engine, migrated):
    rt_a, a = await two(runtime)
    _, b = await two(runtime)
    user = await new_user(runtime.db)
    token = (await Auth.of(rt_a).open_session(user, via="bearer", user_agent=None)).token
    for client in (a, b):
        assert (await client.post("/api/v1/searches", headers=bearer(token), json={"keywords": ""})).status_code == 422
    # the admin CLI's own connection (the migration role), outside any app instance
    admin = Database(owner_engine.url, pool_size=1)
    try:
        assert (await set_disabled(admin, user, True)).sessions_ended == 1
    finally:
        await admin.dispose()
    for client in (a, b):
        response = await client.post("/api/v1/searches", headers=bearer(token), json={"keywords": "python"})
        assert response.status_code == 401 and response.json()["code"] == "unauthenticated"


async def test_a_session_ended_in_the_database_directly_is_refused_at_once(runtime, two, owner_engine, migrated):
    _, a = await two(runtime)
    user = await new_user(runtime.db)
    token = (await Auth.of(runtime).open_session(user, via="bearer", user_agent=None)).token
    assert (await a.get("/api/v1/me", headers=bearer(token))).status_code == 200
    async with owner_engine.begin() as conn:
        await conn.execute(text("DELETE FROM sessions WHERE token_hash = :h"),
                           {"h": keyed_hash(migrated.secret_key, "session", token)})
    assert (await a.get("/api/v1/me", headers=bearer(token))).status_code == 401


async def test_onboarding_completed_on_one_instance_opens_the_gate_on_the_other_at_once(runtime, two):
    rt_a, a = await two(runtime)
    _, b = await two(runtime)
    user = await new_user(runtime.db, onboarded=False)
    token = bearer((await Auth.of(rt_a).open_session(user, via="bearer", user_agent=None)).token)
    refused = await b.get("/api/v1/searches", headers=token)
    assert refused.status_code == 403 and refused.json()["code"] == "onboarding_required"
    assert (await a.get("/api/v1/me/preferences", headers=token)).status_code == 200  # open before onboarding
    assert (await a.put("/api/v1/me/preferences", headers=token, json=COMPLETE)).status_code == 200
    assert (await b.get("/api/v1/searches", headers=token)).status_code == 200


async def _session_row(owner_engine, secret_key: str, token: str):  # noqa: ANN001, ANN202
    async with owner_engine.connect() as conn:
        return (await conn.execute(text("SELECT * FROM sessions WHERE token_hash = :h"),
                                   {"h": keyed_hash(secret_key, "session", token)})).one()


async def _age(owner_engine, secret_key: str, token: str, *, created: timedelta, seen: timedelta,  # noqa: ANN001
               expires_in: timedelta) -> None:
    async with owner_engine.begin() as conn:
        await conn.execute(text("UPDATE sessions SET created_at = now() - CAST(:c AS interval), "
                                "last_seen_at = now() - CAST(:s AS interval), "
                                "expires_at = now() + CAST(:e AS interval) WHERE token_hash = :h"),
                           {"c": created, "s": seen, "e": expires_in, "h": keyed_hash(secret_key, "session", token)})


async def test_a_session_ends_at_its_absolute_lifetime_however_often_it_is_used(runtime, two, owner_engine):
    rt, client = await two(runtime, session_ttl_hours=14 * 24, session_max_age_hours=30 * 24)
    user = await new_user(runtime.db)
    token = (await Auth.of(rt).open_session(user, via="bearer", user_agent=None)).token
    # used a moment ago, idle expiry far off: only its age ends it
    await _age(owner_engine, runtime.settings.secret_key, token, created=timedelta(days=30, seconds=5),
               seen=timedelta(seconds=5), expires_in=timedelta(days=10))
    assert (await client.get("/api/v1/me", headers=bearer(token))).status_code == 401
    await _age(owner_engine, runtime.settings.secret_key, token, created=timedelta(days=29, hours=23),
               seen=timedelta(seconds=5), expires_in=timedelta(days=10))
    assert (await client.get("/api/v1/me", headers=bearer(token))).status_code == 200


async def test_sliding_renewal_never_passes_the_absolute_lifetime(runtime, two, owner_engine):
    rt, client = await two(runtime, session_ttl_hours=14 * 24, session_max_age_hours=30 * 24)
    user = await new_user(runtime.db)
    token = (await Auth.of(rt).open_session(user, via="cookie", user_agent=None)).token
    secret = runtime.settings.secret_key
    await _age(owner_engine, secret, token, created=timedelta(days=29), seen=timedelta(minutes=2),
               expires_in=timedelta(hours=1))
    client.cookies.set("zentropy_session", token, domain="zentropy.test")
    response = await client.get("/api/v1/me")
    assert response.status_code == 200
    row = await _session_row(owner_engine, secret, token)
    assert abs(row.expires_at - (row.created_at + timedelta(days=30))) < timedelta(seconds=1)  # not now + 14 days
    max_age = int(response.headers["set-cookie"].lower().split("max-age=")[1].split(";")[0])
    assert 86_400 - 60 <= max_age <= 86_400  # the cookie ends with the session: in a day


async def test_a_new_session_lasts_no_longer_than_the_absolute_lifetime(runtime, two, owner_engine):
    rt, client = await two(runtime, session_ttl_hours=48, session_max_age_hours=24)
    user = await new_user(runtime.db)
    session = await Auth.of(rt).open_session(user, via="bearer", user_agent=None)
    assert timedelta(hours=23, minutes=59) < session.expires_at - datetime.now(UTC) <= timedelta(hours=24)
    row = await _session_row(owner_engine, runtime.settings.secret_key, session.token)
    assert row.expires_at == session.expires_at


async def test_the_look_up_leaves_no_tenant_behind_in_the_callers_transaction(runtime):
    """The session function reads onboarding as the session's user and puts back what was set."""
    user, caller = await new_user(runtime.db), await new_user(runtime.db)
    token = (await Auth.of(runtime).open_session(user, via="bearer", user_agent=None)).token
    token_hash = keyed_hash(runtime.settings.secret_key, "session", token)
    for tenant_id in (None, caller):
        with tenant(tenant_id):
            async with runtime.db.session() as s:
                row = (await s.execute(text("SELECT * FROM zentropy_auth_session(:h, interval '1 day', NULL)"),
                                       {"h": token_hash})).one()
                assert row.user_id == user and row.onboarded is True
                left = (await s.execute(text("SELECT zentropy_current_user()"))).scalar()
                assert left == tenant_id
                visible = (await s.execute(sa.text("SELECT count(*) FROM user_preferences"))).scalar()
                assert visible == (0 if tenant_id is None else 1)  # the caller's own row, or none
