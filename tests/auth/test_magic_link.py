"""Magic links through a loopback SMTP server: sign-in, and every way a link must not work."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import text

from tests.auth.conftest import PUBLIC, auth_runtime, magic_sign_in, new_email, providers, web_client
from tests.auth.test_oidc import assert_refused, me
from zentropy.auth.tokens import keyed_hash


def link_parts(link: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}", {k: v[0] for k, v in parse_qs(parts.query).items()}


async def ask(client, email: str, next_path: str | None = None):  # noqa: ANN001, ANN201
    return await client.post("/api/v1/auth/magic-link", json={"email": email, "next": next_path})


async def confirm(client, fields: dict[str, str]):  # noqa: ANN001, ANN201
    return await client.post("/signin/magic", data=fields)


def assert_page_refused(response, status: int, code: str) -> None:  # noqa: ANN001
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert "zentropy_session=" not in response.headers.get("set-cookie", "")


async def test_magic_link_signs_a_new_user_in(web, inbox, counts):
    email = new_email()
    assert (await ask(web, email, "/saved")).status_code == 202
    mail = inbox.to(email)[-1]
    assert mail["From"] == "Zentropy <no-reply@zentropy.test>" and "sign-in" in mail["Subject"]
    link = inbox.link_for(email)
    assert link.startswith(f"{PUBLIC}/signin/magic?")
    path, fields = link_parts(link)
    assert len(fields["token"]) >= 43  # 32 random bytes, URL-safe
    page = await web.get(path)
    assert page.status_code == 200 and email in page.text and 'action="/signin/magic"' in page.text
    assert page.headers["referrer-policy"] == "same-origin" and page.headers["cache-control"] == "no-store"
    response = await confirm(web, fields)
    assert response.status_code == 303
    assert response.headers["location"] == f"{PUBLIC}/onboarding?next=%2Fsaved"
    profile = await me(web)
    assert profile["email"] == email and profile["email_verified"] is True
    assert profile["providers"][0]["provider"] == "magic-link"
    assert await counts.users_with_email(email) == 1


async def test_token_is_stored_only_as_a_keyed_hash_bound_to_its_address(web, inbox, owner_engine, settings):
    email = new_email()
    await ask(web, email)
    _, fields = link_parts(inbox.link_for(email))
    async with owner_engine.connect() as conn:
        rows = (await conn.execute(text("SELECT * FROM verification_tokens WHERE address = :a"), {"a": email})).all()
    assert len(rows) == 1
    row = rows[0]._mapping
    assert row["token_hash"] == keyed_hash(settings.secret_key, "magic-link", email, fields["token"])
    assert fields["token"] not in str(dict(row))
    assert 14 * 60 < (row["expires_at"] - row["created_at"]).total_seconds() <= 15 * 60


async def test_same_answer_whether_or_not_the_address_is_known(auth_rt, inbox):
    known = new_email()
    async with web_client(auth_rt) as client:
        await magic_sign_in(client, inbox, known)
    async with web_client(auth_rt) as client:
        for_known, for_unknown = await ask(client, known), await ask(client, new_email())
    assert (for_known.status_code, for_known.json()) == (for_unknown.status_code, for_unknown.json())
    assert len(inbox.to(known)) == 2  # a link is sent either way (an unknown address signs up)


async def test_prefetching_the_link_consumes_nothing(web, inbox, counts):
    email = new_email()
    await ask(web, email)
    path, fields = link_parts(inbox.link_for(email))
    before = await counts()
    for _ in range(3):  # a mail scanner, a link preview, the person
        assert (await web.get(path)).status_code == 200
        assert (await web.head(path)).status_code in (200, 405)
    assert await counts() == before
    assert (await web.get("/api/v1/me")).status_code == 401
    assert (await confirm(web, fields)).status_code == 303


async def test_replayed_link_is_refused(auth_rt, inbox, counts):
    email = new_email()
    async with web_client(auth_rt) as first:
        await ask(first, email)
        _, fields = link_parts(inbox.link_for(email))
        assert (await confirm(first, fields)).status_code == 303
    async with web_client(auth_rt) as replay:
        before = await counts()
        assert_page_refused(await confirm(replay, fields), 400, "invalid_link")
        assert await counts() == before
        assert (await replay.get("/api/v1/me")).status_code == 401


async def test_concurrent_confirmations_sign_in_once(auth_rt, inbox, counts):
    email = new_email()
    async with web_client(auth_rt) as a, web_client(auth_rt) as b:
        await ask(a, email)
        _, fields = link_parts(inbox.link_for(email))
        before = await counts()
        results = await asyncio.gather(confirm(a, fields), confirm(b, fields))
        assert sorted(r.status_code for r in results) == [303, 400]
        after = await counts()
        assert after["sessions"] == before["sessions"] + 1 and after["users"] == before["users"] + 1


async def test_expired_link_is_refused(web, inbox, owner_engine, counts):
    email = new_email()
    await ask(web, email)
    _, fields = link_parts(inbox.link_for(email))
    async with owner_engine.begin() as conn:
        await conn.execute(text("UPDATE verification_tokens SET expires_at = now() - interval '1 second' "
                                "WHERE address = :a"), {"a": email})
    before = await counts()
    assert_page_refused(await confirm(web, fields), 400, "invalid_link")
    assert await counts() == before
    assert await counts.users_with_email(email) == 0


@pytest.mark.parametrize("tamper", ["token", "email", "both"])
async def test_tampered_link_is_refused_and_the_real_one_still_works(tamper, web, inbox, counts):
    email, victim = new_email(), new_email()
    await ask(web, email)
    _, fields = link_parts(inbox.link_for(email))
    forged = dict(fields)
    if tamper in ("token", "both"):
        forged["token"] = fields["token"][:-2] + ("AA" if not fields["token"].endswith("AA") else "BB")
    if tamper in ("email", "both"):
        forged["email"] = victim  # a link is bound to its address
    before = await counts()
    assert_page_refused(await confirm(web, forged), 400, "invalid_link")
    assert await counts() == before
    assert await counts.users_with_email(victim) == 0
    assert (await confirm(web, fields)).status_code == 303


async def test_api_verification_returns_a_bearer_token(web, inbox):
    email = new_email()
    await ask(web, email)
    _, fields = link_parts(inbox.link_for(email))
    issued = await web.post("/api/v1/auth/magic-link/verify", json={"email": email.upper(), "token": fields["token"]})
    assert issued.status_code == 201, issued.text
    body = issued.json()
    assert body["onboarding_required"] is True
    web.cookies.clear()
    profile = (await web.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})).json()
    assert profile["id"] == body["user_id"] and profile["session_via"] == "bearer" and profile["csrf_token"] is None
    replay = await web.post("/api/v1/auth/magic-link/verify", json={"email": email, "token": fields["token"]})
    assert_refused(replay, 400, "invalid_link")


async def test_links_come_from_the_public_url_never_the_host_header(web, inbox):
    email = new_email()
    await web.post("/api/v1/auth/magic-link", json={"email": email},
                   headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"})
    assert inbox.link_for(email).startswith(f"{PUBLIC}/signin/magic?")


@pytest.mark.parametrize("bad", ["not-an-email", "a@b", "x@y.com\r\nBcc: victim@example.com", "", "a b@c.com",
                                 "@example.com", "x" * 250 + "@example.com"])
async def test_invalid_addresses_are_refused_and_nothing_is_sent(bad, web, inbox):
    sent = len(inbox.messages)
    response = await ask(web, bad)
    assert response.status_code == 400 and response.json()["code"] in ("invalid_email", "validation_failed")
    assert len(inbox.messages) == sent


async def test_rate_limit_per_address(runtime, google_op, linkedin_op, inbox, counts):
    rt = auth_runtime(runtime, providers(google_op, linkedin_op, inbox), magic_link_per_address=3)
    email = new_email()
    async with web_client(rt, client=("10.1.1.1", 1)) as one, web_client(rt, client=("10.2.2.2", 1)) as two:
        for client in (one, two, one):
            assert (await ask(client, email)).status_code == 202
        before = await counts()
        refused = await ask(two, email)  # another IP: the address's own limit still holds
        assert_refused(refused, 429, "rate_limited")
        assert int(refused.headers["retry-after"]) > 0
        assert len(inbox.to(email)) == 3
        assert await counts() == before
        assert (await ask(two, new_email())).status_code == 202  # other addresses are unaffected


async def test_rate_limit_per_client_ip(runtime, google_op, linkedin_op, inbox):
    rt = auth_runtime(runtime, providers(google_op, linkedin_op, inbox), magic_link_per_ip=3)
    async with web_client(rt, client=("10.9.9.9", 1)) as crowd, web_client(rt, client=("10.8.8.8", 1)) as other:
        for _ in range(3):
            assert (await ask(crowd, new_email())).status_code == 202
        victim = new_email()
        assert_refused(await ask(crowd, victim), 429, "rate_limited")
        assert inbox.to(victim) == []
        assert (await ask(other, victim)).status_code == 202


async def test_smtp_refusal_is_a_503_without_leaking_the_link(web, inbox):
    inbox.refuse = True
    email = new_email()
    response = await ask(web, email)
    assert_refused(response, 503, "email_not_sent")
    assert "token" not in response.text and inbox.to(email) == []


async def test_console_transport_prints_the_mail(capsys):
    from zentropy.auth.contract import EmailSignIn
    from zentropy_plugins.auth.magic_link import MagicLinkProvider, MagicLinkSettings

    class Tokens:
        async def issue(self, address: str) -> str:
            return "tok"

        async def consume(self, address: str, token: str) -> bool:
            return False

    provider = MagicLinkProvider(MagicLinkSettings(smtp_url="console:", email_from="dev@localhost"))
    ctx = EmailSignIn(tokens=Tokens(), public_url="http://127.0.0.1:8000", expires_minutes=15)
    await provider.send_link(ctx, address="dev@example.com", next_path=None)
    printed = capsys.readouterr().err
    assert "To: dev@example.com" in printed
    assert "http://127.0.0.1:8000/signin/magic?email=dev%40example.com&token=tok" in printed


async def test_sign_in_page_sends_a_link_and_shows_the_same_page_for_any_address(web, inbox):
    page = await web.get("/signin?next=/saved")
    assert page.status_code == 200 and 'action="/signin/email"' in page.text and "<script" not in page.text
    email = new_email()
    sent = await web.post("/signin/email", data={"email": email, "next": "/saved"})
    assert sent.status_code == 200 and "Check your email" in sent.text
    assert "next=%2Fsaved" in inbox.link_for(email)
    bad = await web.post("/signin/email", data={"email": "nope", "next": "/saved"})
    assert bad.status_code == 400 and "valid email" in bad.text
