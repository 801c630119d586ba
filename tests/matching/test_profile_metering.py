"""A user's profile vector is their call: metered to them, held to their rate limit and budget, made
with their own key when that key reaches the postings' embedding model — and always with that model."""

from __future__ import annotations

import json

import pytest
from zentropy_plugins.llm.openai import OpenAIProvider

from tests.llm.conftest import SYSTEM_KEY, usage_rows
from tests.matching.conftest import GOOD, add, posting, rows
from zentropy.llm.crypto import opaque_user_id
from zentropy.llm.errors import LLMError
from zentropy.llm.keys import store_user_key
from zentropy.matching import match
from zentropy.matching.pipeline import run_pipeline

OWN_KEY = "sk-or-v1-0123456789abcdef-users-own-key"


async def _embedded_posting(runtime) -> int:
    [pid] = await add(runtime, posting("p1"))
    report = await run_pipeline(runtime)
    assert report.embedded == 1
    return pid


async def test_the_local_profile_vector_is_metered_to_the_user(catalog, local, new_user, owner_engine, system_rows):
    pid = await _embedded_posting(catalog)
    before = len(await system_rows())
    user = await new_user(skills=["Python"])
    assert (await match(catalog, user, [pid]))[pid].breakdown.similarity is not None
    [row] = await usage_rows(catalog, user)
    assert (row.task, row.provider, row.model, row.status, row.byok) == (
        "embedding", "local", "all-minilm-l6-v2", "ok", False)
    assert len(await system_rows()) == before  # not the service's call
    await match(catalog, user, [pid])  # unchanged preferences: no second call
    assert len(await usage_rows(catalog, user)) == 1


async def test_the_users_own_key_embeds_their_profile(catalog, remote, loopback, new_user, runtime):
    pid = await _embedded_posting(catalog)
    user = await new_user(skills=["Python"])
    await store_user_key(runtime, user, OWN_KEY)
    loopback.requests.clear()
    assert (await match(catalog, user, [pid]))[pid].breakdown.similarity is not None
    [request] = [r for r in loopback.requests if r.path.endswith("/embeddings")]
    assert request.headers["authorization"] == f"Bearer {OWN_KEY}"
    assert request.body["user"] == opaque_user_id(runtime.settings.secret_key, user)
    assert request.body["model"] == "openai/text-embedding-3-small"  # the postings' model
    [row] = await usage_rows(catalog, user)
    assert (row.task, row.byok, row.status) == ("embedding", True, "ok") and row.cost_usd > 0


async def test_without_a_key_the_service_key_is_used_and_the_user_pays(catalog, remote, loopback, new_user):
    pid = await _embedded_posting(catalog)
    user = await new_user(skills=["Python"])
    loopback.requests.clear()
    await match(catalog, user, [pid])
    [request] = [r for r in loopback.requests if r.path.endswith("/embeddings")]
    assert request.headers["authorization"] == f"Bearer {SYSTEM_KEY}"
    [row] = await usage_rows(catalog, user)
    assert (row.task, row.byok) == ("embedding", False) and row.cost_usd > 0


async def test_a_spent_budget_stops_the_profile_call_but_not_the_match(catalog, make_service, openrouter,
                                                                       local_provider, loopback, new_user,
                                                                       owner_engine):
    make_service([openrouter, local_provider], monthly_budget_usd=0)
    loopback.default_content = json.dumps(GOOD)
    pid = await _embedded_posting(catalog)
    user = await new_user(skills=["Python"])
    loopback.requests.clear()
    seen = (await match(catalog, user, [pid]))[pid]
    assert seen.breakdown.similarity is None and seen.breakdown.skills is not None
    assert not [r for r in loopback.requests if r.path.endswith("/embeddings")]  # nothing sent
    assert await rows(owner_engine, "SELECT 1 FROM user_profile_embeddings WHERE user_id = :u", u=user) == []


async def test_the_rate_limit_applies_to_profile_calls(catalog, make_service, openrouter, local_provider, new_user,
                                                       loopback):
    service, _ = make_service([openrouter, local_provider], rate_limit_calls=1, rate_limit_seconds=3600)
    loopback.default_content = json.dumps(GOOD)
    pid = await _embedded_posting(catalog)
    user = await new_user(skills=["Python"])
    await match(catalog, user, [pid])
    with pytest.raises(LLMError) as caught:
        await service.embed(["anything"], user_id=user)
    assert caught.value.code == "llm_rate_limited"


async def test_a_key_that_cannot_reach_the_postings_model_is_not_used(catalog, make_service, loopback, local_provider,
                                                                     openrouter, new_user, runtime):
    """The postings are embedded by OpenAI's API; the user's OpenRouter key cannot reach that model,
    so their profile is embedded with the service's OpenAI key (same model), metered to them."""
    openai_provider = OpenAIProvider(api_key="sk-openai-service-key-000000", base_url=loopback.url)
    make_service([openai_provider, openrouter, local_provider], embedding_models="openai:text-embedding-3-small")
    loopback.default_content = json.dumps(GOOD)
    pid = await _embedded_posting(catalog)
    user = await new_user(skills=["Python"])
    await store_user_key(runtime, user, OWN_KEY)
    loopback.requests.clear()
    assert (await match(catalog, user, [pid]))[pid].breakdown.similarity is not None
    [request] = [r for r in loopback.requests if r.path.endswith("/embeddings")]
    assert request.headers["authorization"] == "Bearer sk-openai-service-key-000000"
    assert request.body["model"] == "text-embedding-3-small"
    [row] = await usage_rows(catalog, user)
    assert (row.provider, row.task, row.byok) == ("openai", "embedding", False)
