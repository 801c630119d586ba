"""`zentropy users ...`: the admin CLI, run as the schema owner against the test database."""

from __future__ import annotations

import asyncio
import json
import uuid
from urllib.parse import parse_qs, urlsplit

from click.testing import CliRunner, Result

from tests.tenancy.conftest import magic_link_session, rows_of, sign_up
from zentropy.accounts.admin import list_users, set_disabled, show_user
from zentropy.cli import cli


async def zentropy(settings, *args: str) -> Result:  # noqa: ANN001
    """The CLI in a thread of its own (it runs its own event loop), as the owner (DATABASE_URL)."""
    env = {"DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url}
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args), env=env)


async def test_list_and_show(settings, api, tenancy_inbox):
    person = await sign_up(api, tenancy_inbox)
    listed = await zentropy(settings, "users", "list", "--email", person.email.split("@")[0], "--json")
    assert listed.exit_code == 0, listed.output
    [row] = json.loads(listed.output)
    assert row["id"] == person.user_id and row["email"] == person.email and row["live_sessions"] == 1
    assert row["disabled_at"] is None and row["last_seen_at"] is not None

    shown = await zentropy(settings, "users", "show", person.email.upper(), "--json")
    assert shown.exit_code == 0, shown.output
    detail = json.loads(shown.output)
    assert detail["id"] == person.user_id and detail["onboarded"] is True
    assert [(a["provider"], a["subject"]) for a in detail["accounts"]] == [("magic-link", person.email)]
    assert detail["rows"]["users"] == 1 and detail["rows"]["sessions"] == 1 and detail["rows"]["accounts"] == 1
    assert detail["quotas"]["own"] == {"searches_per_day": None, "premium_calls_per_month": None}
    assert person.token not in shown.output

    table = await zentropy(settings, "users", "show", person.user_id)
    assert table.exit_code == 0 and "magic-link:" in table.output and "onboarded:" in table.output


async def test_an_unknown_user_is_an_error(settings):
    for ref in (str(uuid.uuid4()), "nobody@example.com"):
        result = await zentropy(settings, "users", "show", ref)
        assert result.exit_code == 1 and "no user matches" in result.output


async def test_disable_ends_every_session_at_once_and_enable_lets_them_back(settings, api, tenancy_inbox):
    person = await sign_up(api, tenancy_inbox)
    second = (await magic_link_session(api, tenancy_inbox, person.email))["token"]
    for token in (person.token, second):
        assert (await api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})).status_code == 200

    disabled = await zentropy(settings, "users", "disable", person.email)
    assert disabled.exit_code == 0 and "2 session(s) ended" in disabled.output
    for token in (person.token, second):
        response = await api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401 and response.json()["code"] == "unauthenticated"
    refused = await _verify(api, tenancy_inbox, person.email)
    assert refused.status_code == 403 and refused.json()["code"] == "account_disabled"
    listed = json.loads((await zentropy(settings, "users", "list", "--disabled", "--json", "--limit", "100000")).output)
    assert person.user_id in {u["id"] for u in listed}

    enabled = await zentropy(settings, "users", "enable", person.user_id)
    assert enabled.exit_code == 0
    again = await _verify(api, tenancy_inbox, person.email)
    assert again.status_code == 201
    assert (await api.get("/api/v1/me", headers={"Authorization": f"Bearer {again.json()['token']}"})).status_code == 200
    old = await api.get("/api/v1/me", headers={"Authorization": f"Bearer {person.token}"})
    assert old.status_code == 401  # ended sessions stay ended


async def _verify(api, inbox, email: str):  # noqa: ANN001, ANN202
    assert (await api.post("/api/v1/auth/magic-link", json={"email": email})).status_code == 202
    token = parse_qs(urlsplit(inbox.link_for(email)).query)["token"][0]
    return await api.post("/api/v1/auth/magic-link/verify", json={"email": email, "token": token})


async def test_set_quotas(settings, api, tenancy_inbox):
    person = await sign_up(api, tenancy_inbox)
    done = await zentropy(settings, "users", "set-quotas", person.email, "--searches-per-day", "1")
    assert done.exit_code == 0, done.output
    assert "searches 0/1 today (own)" in done.output and "(own)" not in done.output.split("premium")[1]

    first = await api.post("/api/v1/searches", json={"keywords": "python"}, headers=person.headers)
    assert first.status_code in (200, 202), first.text
    over = await api.post("/api/v1/searches", json={"keywords": "rust"}, headers=person.headers)
    assert over.status_code == 429 and over.json()["code"] == "search_quota_exceeded"
    assert int(over.headers["Retry-After"]) > 0

    more = await zentropy(settings, "users", "set-quotas", person.user_id, "--premium-calls-per-month", "7")
    assert more.exit_code == 0 and "searches 1/1 today (own)" in more.output  # the other quota stays
    assert "premium calls 0/7 this month (own)" in more.output
    back = await zentropy(settings, "users", "set-quotas", person.user_id, "--searches-per-day", "default")
    assert back.exit_code == 0 and "today (own)" not in back.output
    assert (await api.post("/api/v1/searches", json={"keywords": "go"}, headers=person.headers)).status_code in (200, 202)

    for wrong in (["--searches-per-day", "-1"], ["--searches-per-day", "lots"], []):
        refused = await zentropy(settings, "users", "set-quotas", person.user_id, *wrong)
        assert refused.exit_code == 2, refused.output


async def test_delete_needs_yes_and_deletes_everything(settings, api, tenancy_inbox, owner_engine):
    person = await sign_up(api, tenancy_inbox)
    refused = await zentropy(settings, "users", "delete", person.email)
    assert refused.exit_code == 1 and "--yes" in refused.output
    assert (await rows_of(owner_engine, person.user_id))["users"] == 1
    done = await zentropy(settings, "users", "delete", person.email, "--yes")
    assert done.exit_code == 0 and f"deleted {person.user_id}" in done.output and "users=1" in done.output
    assert set((await rows_of(owner_engine, person.user_id)).values()) == {0}
    assert (await api.get("/api/v1/me", headers=person.headers)).status_code == 401


async def test_one_user_at_a_time_works_under_row_level_security_as_the_service_role(runtime, api, tenancy_inbox):
    """Acting on one user needs no privilege beyond that user's tenant context; only listing
    crosses tenants, which the service role cannot do."""
    person = await sign_up(api, tenancy_inbox)
    user_id = uuid.UUID(person.user_id)
    assert await list_users(runtime.db) == []
    detail = await show_user(runtime.db, user_id)
    assert detail is not None and detail.email == person.email
    done = await set_disabled(runtime.db, user_id, True)
    assert done is not None and done.sessions_ended == 1
    assert (await api.get("/api/v1/me", headers=person.headers)).status_code == 401
    assert await set_disabled(runtime.db, uuid.uuid4(), True) is None
