"""The account linking rules, end to end through the loopback providers."""

from __future__ import annotations

import uuid

from tests.auth.conftest import magic_sign_in, new_email, oidc_sign_in, web_client
from tests.auth.test_oidc import assert_refused, google_user, linkedin_user, me


async def test_google_then_linkedin_with_the_same_verified_email_are_one_user(auth_rt, google_op, linkedin_op, counts):
    email = new_email()
    g, li = google_user(email=email), linkedin_user(email=email.upper())  # addresses compare case-insensitively
    async with web_client(auth_rt) as first, web_client(auth_rt) as second:
        await oidc_sign_in(first, google_op, g)
        await oidc_sign_in(second, linkedin_op, li)
        user = await me(first)
        assert (await me(second))["id"] == user["id"]
        assert sorted(p["provider"] for p in (await me(second))["providers"]) == ["google", "linkedin"]
    assert await counts.users_with_email(email) == 1
    # and either works next time
    for op, who in ((google_op, g), (linkedin_op, li)):
        async with web_client(auth_rt) as again:
            await oidc_sign_in(again, op, who)
            assert (await me(again))["id"] == user["id"]


async def test_magic_link_then_google_link_by_verified_address(auth_rt, google_op, inbox):
    email = new_email()
    async with web_client(auth_rt) as first, web_client(auth_rt) as second:
        await magic_sign_in(first, inbox, email)
        await oidc_sign_in(second, google_op, google_user(email=email))
        assert (await me(first))["id"] == (await me(second))["id"]


async def test_unverified_email_never_takes_over_an_existing_user(auth_rt, google_op, linkedin_op, inbox, counts):
    email = new_email()
    async with web_client(auth_rt) as owner:
        await magic_sign_in(owner, inbox, email)
        owner_id = (await me(owner))["id"]
    for op, attacker in ((linkedin_op, linkedin_user(email=email, email_verified="false")),
                         (google_op, google_user(email=email, email_verified=False))):
        async with web_client(auth_rt) as client:
            before = await counts()
            refused = await oidc_sign_in(client, op, attacker)
            assert_refused(refused, 409, "account_linking_blocked")
            assert await counts() == before
            assert await counts.accounts_of(op.flavor, attacker["sub"]) == []
            assert (await client.get("/api/v1/me")).status_code == 401
    async with web_client(auth_rt) as owner:
        await magic_sign_in(owner, inbox, email)
        assert [p["provider"] for p in (await me(owner))["providers"]] == ["magic-link"]
        assert (await me(owner))["id"] == owner_id


async def test_unverified_email_of_nobody_makes_a_user_without_that_address(auth_rt, linkedin_op, inbox, counts):
    email = new_email()
    who = linkedin_user(email=email, email_verified=False)
    async with web_client(auth_rt) as client:
        assert (await oidc_sign_in(client, linkedin_op, who)).status_code == 303
        user = await me(client)
    assert user["email"] is None and user["email_verified"] is False
    assert user["providers"][0]["email"] == email and user["providers"][0]["email_verified"] is False
    assert await counts.users_with_email(email) == 0  # the address stays free for whoever proves it
    async with web_client(auth_rt) as again:
        await oidc_sign_in(again, linkedin_op, who)
        assert (await me(again))["id"] == user["id"]  # provider + subject still find the user
    async with web_client(auth_rt) as prover:
        await magic_sign_in(prover, inbox, email)
        assert (await me(prover))["id"] != user["id"]


async def test_signed_in_user_links_another_provider_explicitly(auth_rt, linkedin_op, inbox, counts):
    async with web_client(auth_rt) as client:
        await magic_sign_in(client, inbox, new_email())
        user = await me(client)
        other = linkedin_user(email=new_email())  # a different address: only an explicit link joins them
        response = await oidc_sign_in(client, linkedin_op, other, link=True, next_path="/account")
        assert response.status_code == 303 and response.headers["location"] == "http://zentropy.test/account"
        assert "zentropy_session" not in response.headers.get("set-cookie", "")  # the session stays
        assert sorted(p["provider"] for p in (await me(client))["providers"]) == ["linkedin", "magic-link"]
    assert await counts.accounts_of("linkedin", other["sub"]) == [uuid.UUID(user["id"])]
    async with web_client(auth_rt) as later:
        await oidc_sign_in(later, linkedin_op, other)
        assert (await me(later))["id"] == user["id"]


async def test_linking_an_account_of_another_user_is_refused(auth_rt, google_op, inbox, counts):
    taken = google_user()
    async with web_client(auth_rt) as owner:
        await oidc_sign_in(owner, google_op, taken)
        owner_id = (await me(owner))["id"]
    async with web_client(auth_rt) as other:
        await magic_sign_in(other, inbox, new_email())
        before = await counts()
        refused = await oidc_sign_in(other, google_op, taken, link=True)
        assert_refused(refused, 409, "account_already_linked")
        assert await counts() == before
        assert [p["provider"] for p in (await me(other))["providers"]] == ["magic-link"]
    assert await counts.accounts_of("google", taken["sub"]) == [uuid.UUID(owner_id)]


async def test_linking_must_finish_in_the_session_that_started_it(auth_rt, google_op, inbox, counts):
    """A link flow started by one user and completed after signing out links nothing."""
    from urllib.parse import urlsplit

    import httpx

    async with web_client(auth_rt) as client:
        await magic_sign_in(client, inbox, new_email())
        csrf = (await me(client))["csrf_token"]
        google_op.user = google_user()
        start = await client.post("/api/v1/auth/google/link", headers={"X-CSRF-Token": csrf})
        async with httpx.AsyncClient() as browser:
            back = urlsplit((await browser.get(start.headers["location"])).headers["location"])
        assert (await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})).status_code == 204
        before = await counts()
        assert_refused(await client.get(f"{back.path}?{back.query}"), 400, "state_mismatch")
        assert await counts() == before


async def test_disabled_user_cannot_sign_in(auth_rt, google_op, owner_engine, counts):
    from sqlalchemy import text

    who = google_user()
    async with web_client(auth_rt) as client:
        await oidc_sign_in(client, google_op, who)
        user_id = (await me(client))["id"]
        async with owner_engine.begin() as conn:
            await conn.execute(text("UPDATE users SET disabled_at = now() WHERE id = :id"), {"id": user_id})
        assert (await client.get("/api/v1/me")).status_code == 401  # its sessions stop working
        before = await counts()
        assert_refused(await oidc_sign_in(client, google_op, who), 403, "account_disabled")
        assert await counts() == before
