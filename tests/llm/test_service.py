"""Routing, retries and fallbacks of the LLM service, with every call metered in the real database."""

from __future__ import annotations

import pytest
from zentropy_plugins.llm.openrouter import OpenRouterProvider

from tests.llm.conftest import usage_rows
from tests.llm.loopback import completion, embeddings, error, stream
from zentropy.llm import embed, embedding_model, extract_posting
from zentropy.llm.contract import ChatResult, Delta, Message
from zentropy.llm.errors import LLMError

HI = [Message("user", "Hi")]


async def test_429_retry_after_is_honoured_then_the_call_succeeds(make_service, openrouter, loopback, new_user,
                                                                  runtime):
    service, sleeps = make_service([openrouter])
    user = await new_user()
    loopback.reply(error(429, "Rate limit exceeded", retry_after="3"), completion("fine", model="openai/gpt-4.1-nano"))
    result = await service.chat("scoring", HI, user_id=user)
    assert result.content == "fine"
    assert sleeps == [3.0]  # waited what the provider asked, once
    assert len(loopback.chats()) == 2
    rows = await usage_rows(runtime, user)
    assert [(r.status, r.error_code) for r in rows] == [("failed", "llm_provider_rate_limited"), ("ok", None)]


async def test_a_retry_after_longer_than_allowed_fails_at_once_with_it(make_service, openrouter, loopback):
    service, sleeps = make_service([openrouter], max_retry_wait=10)
    loopback.reply(error(429, "Rate limit exceeded", retry_after="120"))
    with pytest.raises(LLMError) as caught:
        await service.chat("scoring", HI)
    assert sleeps == [] and len(loopback.chats()) == 1
    problem = caught.value.problem()
    assert problem.status_code == 429 and problem.code == "llm_provider_rate_limited"
    assert problem.headers["Retry-After"] == "120"


async def test_5xx_is_retried_with_backoff_up_to_the_limit(make_service, openrouter, loopback, system_rows):
    service, sleeps = make_service([openrouter], max_retries=2)
    loopback.reply(error(502, "bad gateway"), error(502, "bad gateway"), error(502, "bad gateway"))
    with pytest.raises(LLMError) as caught:
        await service.chat("scoring", HI)
    assert caught.value.code == "llm_provider_unavailable"
    assert len(loopback.chats()) == 3 and len(sleeps) == 2 and sleeps[0] < sleeps[1]
    assert [r.status for r in await system_rows()] == ["failed"] * 3


async def test_402_is_not_retried_and_the_user_sees_a_clear_error(make_service, openrouter, loopback, new_user,
                                                                 runtime):
    service, sleeps = make_service([openrouter])
    user = await new_user()
    loopback.reply(error(402, "Insufficient credits"))
    with pytest.raises(LLMError) as caught:
        await service.chat("scoring", HI, user_id=user)
    problem = caught.value.problem()
    assert (problem.status_code, problem.code) == (402, "llm_out_of_credits")
    assert "out of credits" in problem.detail
    assert len(loopback.chats()) == 1 and sleeps == []
    [row] = await usage_rows(runtime, user)
    assert (row.status, row.error_code, row.cost_usd) == ("failed", "llm_out_of_credits", None)


async def test_out_of_credits_extraction_falls_back_to_the_deterministic_extractor(
        make_service, openrouter, local_provider, loopback, system_rows, runtime):
    make_service([openrouter, local_provider])
    loopback.reply(error(402, "Insufficient credits"))
    extraction = await extract_posting(runtime, "Senior Python Engineer\nFully remote. 5+ years of experience.")
    assert extraction.method == "rules"
    assert extraction.required_skills == ["Python"] and extraction.remote == "remote"
    assert len(loopback.chats()) == 1  # 402: the second OpenRouter model was not tried either
    rows = await system_rows()
    assert [(r.provider, r.status, r.error_code) for r in rows] == [
        ("openrouter", "failed", "llm_out_of_credits"), ("local", "ok", None)]


async def test_consecutive_openrouter_models_go_in_one_request_and_the_answering_model_is_metered(
        make_service, openrouter, loopback, new_user, runtime):
    service, _ = make_service([openrouter])
    user = await new_user()
    loopback.reply(completion("hi", model="openai/gpt-4.1", gen_id="gen-fallback", cost=0.002))
    result = await service.chat("generation", HI, user_id=user)
    assert result.model == "openai/gpt-4.1"
    [sent] = loopback.chats()
    assert sent.body["models"] == ["anthropic/claude-sonnet-4", "openai/gpt-4.1"]
    [row] = await usage_rows(runtime, user)
    assert (row.model, row.generation_id, float(row.cost_usd), row.task) == ("openai/gpt-4.1", "gen-fallback",
                                                                             0.002, "generation")
    assert row.prompt_tokens == 412 and row.completion_tokens == 96 and row.latency_ms >= 0


async def test_stream_through_the_service_is_metered(make_service, openrouter, loopback, new_user, runtime):
    service, _ = make_service([openrouter])
    user = await new_user()
    loopback.reply(stream(["a", "b"], cost=0.0005, gen_id="gen-s"))
    events = [e async for e in service.stream("scoring", HI, user_id=user)]
    assert [e.content for e in events if isinstance(e, Delta)] == ["a", "b"]
    assert isinstance(events[-1], ChatResult)
    [row] = await usage_rows(runtime, user)
    assert (row.status, row.generation_id, float(row.cost_usd)) == ("ok", "gen-s", 0.0005)


async def test_a_mid_stream_error_fails_the_stream_and_is_recorded(make_service, openrouter, loopback, new_user,
                                                                   runtime):
    service, sleeps = make_service([openrouter])
    user = await new_user()
    loopback.reply(stream(["partial", " answer", " more"], error_after=2))
    received = []
    with pytest.raises(LLMError) as caught:
        async for event in service.stream("scoring", HI, user_id=user):
            received.append(event)
    assert caught.value.code == "llm_stream_failed" and caught.value.status == 502
    assert [e.content for e in received] == ["partial", " answer"]
    assert len(loopback.chats()) == 1 and sleeps == []  # not retried: the consumer has part of an answer
    [row] = await usage_rows(runtime, user)
    assert (row.status, row.error_code) == ("failed", "llm_stream_failed")


async def test_an_error_before_any_content_is_retried(make_service, openrouter, loopback):
    service, sleeps = make_service([openrouter])
    loopback.reply(stream(["x"], error_after=0), stream(["fine"]))
    events = [e async for e in service.stream("scoring", HI)]
    assert events[-1].content == "fine" and len(sleeps) == 1


async def test_with_no_key_extraction_and_embeddings_run_locally_and_chat_says_why_not(
        make_service, loopback, local_provider, runtime, system_rows):
    unconfigured = OpenRouterProvider(api_key=None, base_url=loopback.url)
    service, _ = make_service([unconfigured, local_provider], embedding_models="openrouter:openai/text-embedding-3-small,"
                              " local:all-minilm-l6-v2")
    extraction = await extract_posting(runtime, "Junior Data Analyst. SQL and Excel. Hybrid, 2 days in office.")
    assert extraction.method == "rules" and extraction.seniority == "junior" and extraction.remote == "hybrid"
    if "embed" in local_provider.info.capabilities:
        [vector] = await embed(runtime, ["data analyst"])
        assert len(vector) == 384
        assert embedding_model(runtime) == "local:all-minilm-l6-v2"
    with pytest.raises(LLMError) as caught:
        await service.chat("scoring", HI)
    assert caught.value.code == "llm_unavailable" and caught.value.status == 503
    assert loopback.requests == []  # nothing was sent anywhere
    assert {r.provider for r in await system_rows()} == {"local"}


async def test_remote_embeddings_are_asked_for_384_dimensions_and_other_sizes_are_refused(
        make_service, openrouter, loopback, runtime, system_rows):
    make_service([openrouter])
    vectors = await embed(runtime, ["a", "b"])
    assert [len(v) for v in vectors] == [384, 384]
    assert loopback.requests[0].body["dimensions"] == 384
    loopback.reply(embeddings([[0.1] * 1536]))
    with pytest.raises(LLMError) as caught:
        await embed(runtime, ["c"])
    assert caught.value.code == "llm_embedding_dimension"
    assert [r.status for r in await system_rows()] == ["ok", "failed"]


async def test_embeddings_do_not_fall_back_to_another_model(make_service, openrouter, local_provider, loopback,
                                                            runtime):
    make_service([openrouter, local_provider],
                 embedding_models="openrouter:openai/text-embedding-3-small, local:all-minilm-l6-v2")
    loopback.reply(error(402, "Insufficient credits"))
    with pytest.raises(LLMError) as caught:
        await embed(runtime, ["a"])
    assert caught.value.code == "llm_out_of_credits"  # not silently a vector from another model's space
    assert embedding_model(runtime) == "openrouter:openai/text-embedding-3-small"
