"""GET /api/v1/me/usage and /api/v1/me/llm-key over HTTP, as a signed-in user (bearer session)."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.llm.test_metering import add_usage
from zentropy.auth.service import Auth
from zentropy.llm.keys import load_user_key

OWN_KEY = "sk-or-v1-0123456789abcdef-users-own-key"


async def bearer(runtime, user_id) -> dict[str, str]:
    session = await Auth.of(runtime).open_session(user_id, via="bearer", user_agent=None)
    return {"Authorization": f"Bearer {session.token}"}


async def test_usage_needs_a_session(client):
    response = await client.get("/api/v1/me/usage")
    assert response.status_code == 401 and response.json()["code"] == "unauthenticated"


async def test_usage_has_the_users_daily_totals_only(client, runtime, new_user, make_service):
    make_service([], monthly_budget_usd=2.0)
    user, other = await new_user(), await new_user()
    noon = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    await add_usage(runtime, user, cost=0.25, prompt=100, completion_tokens=40, when=noon)
    await add_usage(runtime, other, cost=1.0, when=noon)
    response = await client.get("/api/v1/me/usage", headers=await bearer(runtime, user))
    assert response.status_code == 200
    body = response.json()
    assert body["days"] == [{"day": noon.date().isoformat(), "calls": 1, "failed_calls": 0,
                             "prompt_tokens": 100, "completion_tokens": 40, "cost_usd": 0.25,
                             "own_key_cost_usd": 0.0}]
    assert (body["month_cost_usd"], body["monthly_budget_usd"], body["budget_remaining_usd"]) == (0.25, 2.0, 1.75)
    assert body["own_key"] is False
    assert (await client.get("/api/v1/me/usage?days=0", headers=await bearer(runtime, user))).status_code == 400


async def test_own_key_is_stored_never_returned_and_removable(client, runtime, new_user):
    user = await new_user()
    auth = await bearer(runtime, user)
    assert (await client.get("/api/v1/me/llm-key", headers=auth)).json() == {"provider": "openrouter",
                                                                              "has_key": False}
    response = await client.put("/api/v1/me/llm-key", json={"key": OWN_KEY}, headers=auth)
    assert response.status_code == 200 and OWN_KEY not in response.text
    assert response.json() == {"provider": "openrouter", "has_key": True}
    assert await load_user_key(runtime, user) == OWN_KEY
    assert OWN_KEY not in (await client.get("/api/v1/me/llm-key", headers=auth)).text
    assert (await client.delete("/api/v1/me/llm-key", headers=auth)).status_code == 204
    assert (await client.get("/api/v1/me/llm-key", headers=auth)).json()["has_key"] is False


async def test_a_malformed_key_is_refused_without_being_echoed(client, runtime, new_user):
    user = await new_user()
    bad = "not a key, with spaces"
    response = await client.put("/api/v1/me/llm-key", json={"key": bad}, headers=await bearer(runtime, user))
    assert response.status_code == 422 and response.json()["code"] == "llm_key_invalid"
    assert bad not in response.text
    assert await load_user_key(runtime, user) is None


async def test_a_cookie_session_needs_the_csrf_token_to_store_a_key(client, runtime, new_user):
    user = await new_user()
    session = await Auth.of(runtime).open_session(user, via="cookie", user_agent=None)
    from zentropy.auth.cookies import session_cookie_name

    client.cookies.set(session_cookie_name(runtime.settings.public_url), session.token)
    try:
        response = await client.put("/api/v1/me/llm-key", json={"key": OWN_KEY})
        assert response.status_code == 403 and response.json()["code"] == "csrf_failed"
        assert await load_user_key(runtime, user) is None
    finally:
        client.cookies.clear()
