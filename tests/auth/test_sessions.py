"""Sessions: cookie and bearer, hashed at rest, sliding expiry, logout, fixation, CSRF."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from tests.auth.conftest import PUBLIC, magic_sign_in, new_email, web_client
from tests.auth.test_magic_link import ask, confirm, link_parts
from tests.auth.test_oidc import assert_refused, me
from zentropy.auth import cookies
from zentropy.auth.tokens import keyed_hash

COMPLETE = {"skills": ["Python"], "salary_min": 90000, "salary_currency": "EUR", "locations": [], "remote": True}


async def signed_in(client, inbox) -> tuple[str, dict]:  # noqa: ANN001
    """Sign `client` in by magic link; (session token, /me)."""
    await magic_sign_in(client, inbox, new_email())
    return client.cookies.get("zentropy_session"), await me(client)


async def bearer_session(client, inbox) -> str:  # noqa: ANN001
    email = new_email()
    await ask(client, email)
    _, fields = link_parts(inbox.link_for(email))
    return (await client.post("/api/v1/auth/magic-link/verify", json={"email": email, "token": fields["token"]})).json()["token"]


async def session_row(owner_engine, token: str, secret_key: str):  # noqa: ANN001, ANN201
    async with owner_engine.connect() as conn:
        return (await conn.execute(text("SELECT * FROM sessions WHERE token_hash = :h"),
                                   {"h": keyed_hash(secret_key, "session", token)})).one_or_none()


async def test_session_cookie_attributes_on_local_http(web, inbox):
    email = new_email()
    await ask(web, email)
    _, fields = link_parts(inbox.link_for(email))
    set_cookie = (await confirm(web, fields)).headers["set-cookie"].lower()
    assert set_cookie.startswith("zentropy_session=")
    assert "httponly" in set_cookie and "samesite=lax" in set_cookie and "path=/" in set_cookie
    assert "secure" not in set_cookie  # plain-HTTP public URL: local development
    assert "max-age=1209" in set_cookie  # 14 days


def test_session_cookie_is_secure_with_host_prefix_over_https():
    cookie = cookies.session_cookie("https://zentropy.example", "t", datetime.now(UTC) + timedelta(days=1))
    header = cookie.to_header(header="").lower()
    assert header.startswith("__host-zentropy_session=t")
    assert "secure" in header and "httponly" in header and "samesite=lax" in header and "domain" not in header


async def test_tokens_are_stored_hashed(web, inbox, owner_engine, settings):
    token, user = await signed_in(web, inbox)
    row = await session_row(owner_engine, token, settings.secret_key)
    assert row is not None and str(row.user_id) == user["id"]
    assert token not in str(dict(row._mapping))


async def test_bearer_and_cookie_both_authenticate(web, inbox):
    token, user = await signed_in(web, inbox)
    async with _fresh(web) as api:
        response = await api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert response.json()["id"] == user["id"] and response.json()["session_via"] == "bearer"
        assert_refused(await api.get("/api/v1/me", headers={"Authorization": "Bearer nope"}), 401, "unauthenticated")


def _fresh(client):  # noqa: ANN001, ANN202
    import httpx

    return httpx.AsyncClient(transport=client._transport, base_url=PUBLIC)


async def test_anonymous_me_is_401_with_where_to_sign_in(web):
    response = await web.get("/api/v1/me")
    assert_refused(response, 401, "unauthenticated")
    assert response.json()["signin_url"] == f"{PUBLIC}/signin"


async def test_logout_ends_the_session(web, inbox, owner_engine, settings):
    token, user = await signed_in(web, inbox)
    response = await web.post("/api/v1/auth/logout", headers={"X-CSRF-Token": user["csrf_token"]})
    assert response.status_code == 204 and 'zentropy_session=""' in response.headers["set-cookie"]
    assert await session_row(owner_engine, token, settings.secret_key) is None
    async with _fresh(web) as other:
        other.cookies.set("zentropy_session", token, domain="zentropy.test")
        assert (await other.get("/api/v1/me")).status_code == 401


async def test_logout_everywhere_ends_every_session(auth_rt, inbox):
    async with web_client(auth_rt) as browser:
        token, user = await signed_in(browser, inbox)
        # a second session of the same user, by bearer
        email = user["email"]
        await ask(browser, email)
        _, fields = link_parts(inbox.link_for(email))
        async with _fresh(browser) as api:
            bearer = (await api.post("/api/v1/auth/magic-link/verify", json=fields)).json()["token"]
            auth = {"Authorization": f"Bearer {bearer}"}
            assert (await api.get("/api/v1/me", headers=auth)).status_code == 200
            assert (await api.post("/api/v1/auth/logout/all", headers=auth)).status_code == 204
            assert (await api.get("/api/v1/me", headers=auth)).status_code == 401
        assert (await browser.get("/api/v1/me")).status_code == 401


async def test_expired_session_is_refused_and_its_cookie_cleared(web, inbox, owner_engine, settings):
    token, _ = await signed_in(web, inbox)
    async with owner_engine.begin() as conn:
        await conn.execute(text("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE token_hash = :h"),
                           {"h": keyed_hash(settings.secret_key, "session", token)})
    response = await web.get("/api/v1/me")
    assert_refused(response, 401, "unauthenticated")
    assert 'zentropy_session=""' in response.headers["set-cookie"]


async def test_sliding_renewal_extends_a_used_session(web, inbox, owner_engine, settings):
    token, _ = await signed_in(web, inbox)
    token_hash = keyed_hash(settings.secret_key, "session", token)
    async with owner_engine.begin() as conn:
        await conn.execute(text("UPDATE sessions SET expires_at = now() + interval '1 hour', "
                                "last_seen_at = now() - interval '2 minutes' WHERE token_hash = :h"), {"h": token_hash})
    response = await web.get("/api/v1/me")
    assert response.status_code == 200
    assert f"zentropy_session={token}" in response.headers["set-cookie"]  # the cookie is re-sent, same token
    row = await session_row(owner_engine, token, settings.secret_key)
    assert row.expires_at > datetime.now(UTC) + timedelta(days=13)
    again = await web.get("/api/v1/me")  # within the minute: no write, no cookie
    assert "set-cookie" not in again.headers


async def test_session_fixation_a_planted_cookie_is_never_the_session(web, inbox, owner_engine, settings):
    planted = secrets.token_urlsafe(32)
    web.cookies.set("zentropy_session", planted, domain="zentropy.test")
    email = new_email()
    await ask(web, email)
    _, fields = link_parts(inbox.link_for(email))
    response = await confirm(web, fields)
    issued = response.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    assert issued != planted
    assert await session_row(owner_engine, planted, settings.secret_key) is None
    async with _fresh(web) as attacker:
        attacker.cookies.set("zentropy_session", planted, domain="zentropy.test")
        assert (await attacker.get("/api/v1/me")).status_code == 401


async def test_session_fixation_with_the_attackers_own_session(auth_rt, inbox, owner_engine, settings):
    """The attacker plants their own live session; the victim signs in and gets a new one, and the
    planted session (still the attacker's) is ended rather than upgraded."""
    async with web_client(auth_rt) as attacker:
        attacker_token, attacker_user = await signed_in(attacker, inbox)
    async with web_client(auth_rt) as victim:
        victim.cookies.set("zentropy_session", attacker_token, domain="zentropy.test")
        email = new_email()
        await ask(victim, email)
        _, fields = link_parts(inbox.link_for(email))
        response = await confirm(victim, fields)
        victim_token = response.headers["set-cookie"].split(";")[0].split("=", 1)[1]
        assert victim_token != attacker_token
        victim.cookies.set("zentropy_session", victim_token, domain="zentropy.test")
        assert (await me(victim))["email"] == email
    assert await session_row(owner_engine, attacker_token, settings.secret_key) is None


# -- CSRF ----------------------------------------------------------------------------------------------
async def test_cookie_write_without_csrf_token_is_refused_and_changes_nothing(web, inbox):
    _, user = await signed_in(web, inbox)
    for headers in ({}, {"X-CSRF-Token": "wrong"}):
        refused = await web.put("/api/v1/me/preferences", json=COMPLETE, headers=headers)
        assert_refused(refused, 403, "csrf_failed")
    assert (await web.get("/api/v1/me/preferences")).json()["completed"] is False
    refused = await web.post("/api/v1/auth/logout")
    assert_refused(refused, 403, "csrf_failed")
    assert (await web.get("/api/v1/me")).status_code == 200  # still signed in
    refused = await web.post("/api/v1/auth/google/link")
    assert_refused(refused, 403, "csrf_failed")
    accepted = await web.put("/api/v1/me/preferences", json=COMPLETE, headers={"X-CSRF-Token": user["csrf_token"]})
    assert accepted.status_code == 200 and accepted.json()["completed"] is True


async def test_csrf_token_of_another_session_is_refused(auth_rt, inbox):
    async with web_client(auth_rt) as one, web_client(auth_rt) as two:
        _, first = await signed_in(one, inbox)
        await signed_in(two, inbox)
        assert_refused(await two.put("/api/v1/me/preferences", json=COMPLETE,
                                     headers={"X-CSRF-Token": first["csrf_token"]}), 403, "csrf_failed")


async def test_cross_site_origin_is_refused_even_with_the_token(web, inbox):
    _, user = await signed_in(web, inbox)
    refused = await web.put("/api/v1/me/preferences", json=COMPLETE,
                            headers={"X-CSRF-Token": user["csrf_token"], "Origin": "https://evil.example"})
    assert_refused(refused, 403, "csrf_failed")
    assert (await web.get("/api/v1/me/preferences")).json()["completed"] is False
    same_site = await web.put("/api/v1/me/preferences", json=COMPLETE,
                              headers={"X-CSRF-Token": user["csrf_token"], "Origin": PUBLIC})
    assert same_site.status_code == 200


async def test_cross_site_magic_link_confirmation_is_refused(web, inbox, counts):
    """Login CSRF: another site cannot post a link (its own) into this browser's sign-in."""
    email = new_email()
    await ask(web, email)
    _, fields = link_parts(inbox.link_for(email))
    before = await counts()
    refused = await web.post("/signin/magic", data=fields, headers={"Origin": "https://evil.example"})
    assert_refused(refused, 403, "csrf_failed")
    assert await counts() == before
    assert (await confirm(web, fields)).status_code == 303  # not consumed


async def test_bearer_writes_need_no_csrf_token(web, inbox):
    token = await bearer_session(web, inbox)
    web.cookies.clear()
    response = await web.put("/api/v1/me/preferences", json=COMPLETE, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


async def test_form_post_carries_the_csrf_token_as_a_field(web, inbox):
    _, user = await signed_in(web, inbox)
    form = {"skills": "Python, SQL", "salary_min": "80000", "salary_currency": "EUR", "locations": "Berlin"}
    assert_refused(await web.post("/onboarding", data=form), 403, "csrf_failed")
    saved = await web.post("/onboarding", data={**form, "csrf_token": user["csrf_token"], "next": "/account"})
    assert saved.status_code == 303 and saved.headers["location"] == f"{PUBLIC}/account"
