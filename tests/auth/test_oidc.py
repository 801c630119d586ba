"""Google and LinkedIn against loopback OpenID Connect providers: sign-in, their quirks, and every
ID-token attack refused with nothing created."""

from __future__ import annotations

import time
import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc.jwk import RSAKey

from tests.auth.conftest import PUBLIC, auth_runtime, new_email, oidc_sign_in, providers, web_client


def google_user(**extra) -> dict:
    return {"sub": f"g-{uuid.uuid4().hex}", "email": new_email(), "email_verified": True, "name": "Grace Hopper",
            "picture": "https://lh3.googleusercontent.com/a/photo", **extra}


def linkedin_user(**extra) -> dict:
    return {"sub": f"li-{uuid.uuid4().hex[:10]}", "email": new_email(), "email_verified": "true",
            "name": "Linus Example", "given_name": "Linus", "family_name": "Example", **extra}


async def me(client: httpx.AsyncClient) -> dict:
    response = await client.get("/api/v1/me")
    assert response.status_code == 200, response.text
    return response.json()


def assert_refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code
    assert "zentropy_session=" not in response.headers.get("set-cookie", "").replace('zentropy_session=""', "")


# -- signing in ----------------------------------------------------------------------------------------
async def test_google_signs_a_new_user_in_with_pkce_state_and_nonce(web, google_op, counts):
    user = google_user()
    response = await oidc_sign_in(web, google_op, user, next_path="/jobs?page=2")
    assert response.status_code == 303
    assert response.headers["location"] == f"{PUBLIC}/onboarding?next=%2Fjobs%3Fpage%3D2"  # not onboarded yet
    profile = await me(web)
    assert profile["email"] == user["email"] and profile["email_verified"] is True
    assert profile["name"] == "Grace Hopper" and profile["picture"] == user["picture"]
    assert [p["provider"] for p in profile["providers"]] == ["google"]
    sent = google_op.authorize_requests[-1]
    assert sent["code_challenge_method"] == "S256" and len(sent["code_challenge"]) == 43
    assert sent["nonce"] and sent["state"] and sent["scope"].split() == ["openid", "email", "profile"]
    assert sent["redirect_uri"] == f"{PUBLIC}/api/v1/auth/google/callback"
    assert google_op.token_requests[-1]["basic"] is True  # client_secret_basic
    assert await counts.accounts_of("google", user["sub"]) == [uuid.UUID(profile["id"])]


async def test_google_signs_the_same_user_in_next_time(auth_rt, google_op):
    user = google_user()
    async with web_client(auth_rt) as first, web_client(auth_rt) as second:
        await oidc_sign_in(first, google_op, user)
        await oidc_sign_in(second, google_op, {**user, "name": "Changed Name"})
        assert (await me(first))["id"] == (await me(second))["id"]
        assert (await me(second))["name"] == "Grace Hopper"  # a profile is filled, never overwritten


async def test_google_issuer_without_scheme_is_accepted(web, google_op):
    google_op.tamper = {"iss": google_op.issuer.split("://", 1)[1]}  # Google's `accounts.google.com` form
    response = await oidc_sign_in(web, google_op, google_user())
    assert response.status_code == 303
    assert (await me(web))["providers"][0]["provider"] == "google"


async def test_linkedin_signs_in_without_pkce_with_secret_in_body_and_no_nonce_echo(web, linkedin_op, counts):
    user = linkedin_user()
    response = await oidc_sign_in(web, linkedin_op, user)
    assert response.status_code == 303, response.text
    sent = linkedin_op.authorize_requests[-1]
    assert "code_challenge" not in sent and sent["scope"].split() == ["openid", "profile", "email"]
    token_request = linkedin_op.token_requests[-1]
    assert token_request["basic"] is False and token_request["form"]["client_secret"] == linkedin_op.client_secret
    profile = await me(web)
    assert profile["email"] == user["email"] and profile["email_verified"] is True  # "true" as a string
    assert await counts.accounts_of("linkedin", user["sub"]) == [uuid.UUID(profile["id"])]


async def test_linkedin_accepts_its_discovery_issuer_too(web, linkedin_op):
    linkedin_op.tamper = {"iss": linkedin_op.issuer}  # https://www.linkedin.com/oauth form
    assert (await oidc_sign_in(web, linkedin_op, linkedin_user())).status_code == 303


async def test_linkedin_email_only_in_userinfo_is_used(web, linkedin_op):
    user = linkedin_user()
    linkedin_op.tamper = {"_drop": ["email", "email_verified"]}
    assert (await oidc_sign_in(web, linkedin_op, user)).status_code == 303
    assert (await me(web))["email"] == user["email"]


async def test_rotated_key_is_fetched_once_and_accepted(web, google_op):
    await oidc_sign_in(httpx_client := web, google_op, google_user())  # key set cached
    rotated = RSAKey.generate_key(2048, parameters={"kid": f"rot-{uuid.uuid4().hex[:6]}", "use": "sig", "alg": "RS256"})
    google_op.published = [google_op.key, rotated]
    google_op.tamper = {"_sign_with": rotated, "_kid": rotated.kid}
    before = google_op.jwks_requests
    response = await oidc_sign_in(httpx_client, google_op, google_user())
    assert response.status_code == 303
    assert google_op.jwks_requests == before + 1


# -- attacks: each refused, nothing created or linked --------------------------------------------------
ID_TOKEN_ATTACKS = {
    "nonce mismatch": lambda op: {"nonce": "not-the-nonce-we-sent"},
    "wrong aud": lambda op: {"aud": "someone-elses-client", "azp": "someone-elses-client"},
    "shared aud, issued to another party": lambda op: {"aud": [op.client_id, "other-client"], "azp": "other-client"},
    "wrong iss": lambda op: {"iss": "https://accounts.evil.example"},
    "expired": lambda op: {"iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600},
    "bad signature": lambda op: {"_sign_with": RSAKey.generate_key(2048)},  # real kid, wrong key
    "missing sub": lambda op: {"_drop": ["sub"]},
}


@pytest.mark.parametrize("attack", sorted(ID_TOKEN_ATTACKS))
async def test_bad_id_tokens_are_refused_and_nothing_is_created(attack, web, google_op, counts):
    user = google_user()
    google_op.tamper = ID_TOKEN_ATTACKS[attack](google_op)
    before = await counts()
    response = await oidc_sign_in(web, google_op, user)
    assert_refused(response, 400, "invalid_id_token")
    assert await counts() == before
    assert await counts.users_with_email(user["email"]) == 0
    assert (await web.get("/api/v1/me")).status_code == 401


async def test_linkedin_nonce_if_echoed_must_match(web, linkedin_op, counts):
    linkedin_op.tamper = {"nonce": "forged"}
    before = await counts()
    assert_refused(await oidc_sign_in(web, linkedin_op, linkedin_user()), 400, "invalid_id_token")
    assert await counts() == before


async def test_unknown_key_id_is_refused_after_one_refetch(web, google_op, counts):
    google_op.tamper = {"_sign_with": RSAKey.generate_key(2048), "_kid": "no-such-key"}
    before, fetched = await counts(), google_op.jwks_requests
    response = await oidc_sign_in(web, google_op, google_user())
    assert_refused(response, 400, "invalid_id_token")
    assert "unknown key" in response.json()["detail"]
    assert google_op.jwks_requests == fetched + 1
    assert await counts() == before


async def test_state_mismatch_is_refused_before_the_code_is_used(web, google_op, counts):
    google_op.user = google_user()
    start = await web.get("/api/v1/auth/google/login")
    async with httpx.AsyncClient() as browser:
        back = urlsplit((await browser.get(start.headers["location"])).headers["location"])
    params = {k: v[0] for k, v in parse_qs(back.query).items()}
    before = await counts()
    forged = await web.get(back.path, params={**params, "state": "attacker-state"})
    assert_refused(forged, 400, "state_mismatch")
    assert params["code"] in google_op.codes  # never exchanged
    assert await counts() == before


async def test_callback_in_another_browser_is_refused(auth_rt, google_op, counts):
    """Login CSRF: an attacker's callback URL opened in the victim's browser (no state cookie)."""
    google_op.user = google_user()
    async with web_client(auth_rt) as attacker, web_client(auth_rt) as victim:
        start = await attacker.get("/api/v1/auth/google/login")
        async with httpx.AsyncClient() as browser:
            back = urlsplit((await browser.get(start.headers["location"])).headers["location"])
        before = await counts()
        assert_refused(await victim.get(f"{back.path}?{back.query}"), 400, "state_mismatch")
        assert await counts() == before


async def test_state_is_single_use(web, google_op, counts):
    google_op.user = google_user()
    start = await web.get("/api/v1/auth/google/login")
    state_cookie = web.cookies.get("zentropy_signin_state")
    async with httpx.AsyncClient() as browser:
        back = urlsplit((await browser.get(start.headers["location"])).headers["location"])
    assert (await web.get(f"{back.path}?{back.query}")).status_code == 303
    web.cookies.set("zentropy_signin_state", state_cookie, domain="zentropy.test", path="/api/v1/auth/")
    before = await counts()
    assert_refused(await web.get(f"{back.path}?{back.query}"), 400, "state_mismatch")
    assert await counts() == before


async def test_state_from_another_provider_is_refused(web, google_op, linkedin_op, counts):
    google_op.user = google_user()
    start = await web.get("/api/v1/auth/google/login")
    async with httpx.AsyncClient() as browser:
        back = urlsplit((await browser.get(start.headers["location"])).headers["location"])
    before = await counts()
    assert_refused(await web.get(f"/api/v1/auth/linkedin/callback?{back.query}"), 400, "state_mismatch")
    assert await counts() == before


async def test_provider_error_is_shown_and_nothing_created(web, google_op, counts):
    start = await web.get("/api/v1/auth/google/login")
    state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
    before = await counts()
    refused = await web.get("/api/v1/auth/google/callback", params={"error": "access_denied", "state": state})
    assert_refused(refused, 400, "provider_refused")
    assert await counts() == before


async def test_linkedin_pkce_would_be_rejected_so_none_is_sent(linkedin_op):
    """The loopback LinkedIn refuses PKCE like the real one; our provider never sends it."""
    from zentropy_plugins.auth.linkedin import LinkedInProvider, LinkedInSettings

    provider = LinkedInProvider(LinkedInSettings(issuer=linkedin_op.issuer, client_id=linkedin_op.client_id,
                                                 client_secret=linkedin_op.client_secret))
    request = await provider.authorization_request(redirect_uri=f"{PUBLIC}/cb", state="s")
    assert "code_challenge" not in request.url and "code_verifier" not in request.keep


async def test_google_hosted_domain_allowlist(runtime, google_op, linkedin_op, inbox, counts):
    rt = auth_runtime(runtime, providers(google_op, linkedin_op, inbox, allowed_domains="zentropy.example"))
    async with web_client(rt) as client:
        before = await counts()
        refused = await oidc_sign_in(client, google_op, google_user())  # a consumer account: no `hd`
        assert_refused(refused, 403, "domain_not_allowed")
        refused = await oidc_sign_in(client, google_op, google_user(hd="other.example"))
        assert_refused(refused, 403, "domain_not_allowed")
        assert await counts() == before
        assert (await oidc_sign_in(client, google_op, google_user(hd="zentropy.example"))).status_code == 303


async def test_provider_down_is_a_clear_502(runtime, inbox, counts):
    from zentropy_plugins.auth.google import GoogleProvider, GoogleSettings

    dead = GoogleProvider(GoogleSettings(issuer="http://127.0.0.1:9", client_id="c", client_secret="s"))
    async with web_client(auth_runtime(runtime, [dead])) as client:
        response = await client.get("/api/v1/auth/google/login")
        assert_refused(response, 502, "provider_unavailable")


async def test_browser_gets_an_html_refusal(web, google_op):
    google_op.tamper = {"aud": "someone-else"}
    response = await oidc_sign_in(web, google_op, google_user())
    # the same callback, asked for by a browser
    assert response.status_code == 400
    start = await web.get("/api/v1/auth/google/login")
    async with httpx.AsyncClient() as browser:
        back = urlsplit((await browser.get(start.headers["location"])).headers["location"])
    page = await web.get(f"{back.path}?{back.query}", headers={"Accept": "text/html"})
    assert page.status_code == 400 and page.headers["content-type"].startswith("text/html")
    assert 'data-code="invalid_id_token"' in page.text and "<script" not in page.text


async def test_a_code_the_provider_refuses_is_a_400_and_nothing_is_created(web, google_op, counts):
    google_op.user = google_user()
    start = await web.get("/api/v1/auth/google/login")
    async with httpx.AsyncClient() as browser:
        back = urlsplit((await browser.get(start.headers["location"])).headers["location"])
    params = {k: v[0] for k, v in parse_qs(back.query).items()}
    before = await counts()
    refused = await web.get(back.path, params={**params, "code": "forged-code"})
    assert_refused(refused, 400, "code_exchange_failed")
    assert await counts() == before
