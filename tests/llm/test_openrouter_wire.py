"""The OpenRouter (and OpenAI) provider against a loopback server speaking OpenRouter's format."""

from __future__ import annotations

import pytest
from zentropy_plugins.llm.openai import OpenAIProvider

from tests.llm.conftest import SYSTEM_KEY
from tests.llm.loopback import completion, embeddings, error, stream
from zentropy.llm.contract import CallContext, ChatRequest, ChatResult, Delta, Message
from zentropy.llm.errors import LLMError

CTX = CallContext(app_url="https://zentropy.example", user="5f0c0ffee5f0c0ffee5f0c0ffee5f0c0")
REQUEST = ChatRequest(messages=[Message("system", "Be brief."), Message("user", "Hi")],
                      models=["google/gemini-2.5-flash-lite", "openai/gpt-4.1-nano"])


async def collect(provider, request=REQUEST, ctx=CTX):
    events = []
    async for event in provider.stream(request, ctx):
        events.append(event)
    return events


async def test_chat_returns_content_with_usage_cost_generation_id_and_the_model_that_answered(openrouter, loopback):
    # OpenRouter fell back to the second model of `models`: the response names it.
    loopback.reply(completion("Hello!", model="openai/gpt-4.1-nano", gen_id="gen-42", cost=0.00123,
                              prompt=30, completion_tokens=4))
    result = await openrouter.chat(REQUEST, CTX)
    assert result.content == "Hello!"
    assert result.model == "openai/gpt-4.1-nano"
    assert result.generation_id == "gen-42"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens, result.usage.cost) == (30, 4, 0.00123)
    assert result.provider == "openrouter"


async def test_chat_request_carries_attribution_fallbacks_routing_and_an_opaque_user(openrouter, loopback):
    await openrouter.chat(ChatRequest(messages=REQUEST.messages, models=REQUEST.models,
                                      schema={"type": "object", "properties": {}, "required": [],
                                              "additionalProperties": False}, schema_name="thing"), CTX)
    sent = loopback.chats()[0]
    assert sent.headers["authorization"] == f"Bearer {SYSTEM_KEY}"
    assert sent.headers["http-referer"] == "https://zentropy.example"
    assert sent.headers["x-openrouter-title"] == "Zentropy Test"
    assert sent.body["model"] == "google/gemini-2.5-flash-lite"
    assert sent.body["models"] == ["google/gemini-2.5-flash-lite", "openai/gpt-4.1-nano"]
    # routing preferences, and only providers that honour the schema
    assert sent.body["provider"] == {"sort": "price", "data_collection": "deny", "require_parameters": True}
    assert sent.body["user"] == CTX.user
    assert sent.body["response_format"]["type"] == "json_schema"
    assert sent.body["response_format"]["json_schema"]["name"] == "thing"
    assert sent.body["response_format"]["json_schema"]["strict"] is True


async def test_stream_skips_processing_comments_and_ends_with_usage(openrouter, loopback):
    loopback.reply(stream(["Hel", "lo", "!"], model="openai/gpt-4.1-nano", cost=0.000012, comments=3))
    events = await collect(openrouter)
    assert [e.content for e in events if isinstance(e, Delta)] == ["Hel", "lo", "!"]
    result = events[-1]
    assert isinstance(result, ChatResult) and result.content == "Hello!"
    assert result.usage.cost == 0.000012 and result.model == "openai/gpt-4.1-nano"
    assert loopback.chats()[0].body["stream"] is True


async def test_an_error_event_after_the_stream_started_is_a_failure(openrouter, loopback):
    loopback.reply(stream(["Once", " upon", " a time"], error_after=2))
    received = []
    with pytest.raises(LLMError) as caught:
        async for event in openrouter.stream(REQUEST, CTX):
            received.append(event)
    assert caught.value.code == "llm_stream_failed"
    assert caught.value.retryable is False  # content was already handed out
    assert [e.content for e in received] == ["Once", " upon"]
    assert not any(isinstance(e, ChatResult) for e in received)  # no half answer passed off as complete


async def test_an_error_event_before_any_content_may_be_retried(openrouter, loopback):
    loopback.reply(stream(["x"], error_after=0))
    with pytest.raises(LLMError) as caught:
        await collect(openrouter)
    assert caught.value.code == "llm_stream_failed" and caught.value.retryable is True


async def test_402_is_out_of_credits_not_retryable_with_a_clear_message(openrouter, loopback):
    loopback.reply(error(402, "Insufficient credits. Add more using https://openrouter.ai/settings/credits"))
    with pytest.raises(LLMError) as caught:
        await openrouter.chat(REQUEST, CTX)
    exc = caught.value
    assert exc.code == "llm_out_of_credits" and exc.retryable is False and exc.status == 402
    assert "out of credits" in exc.message and SYSTEM_KEY not in exc.message
    assert len(loopback.chats()) == 1  # the provider itself never retries


async def test_429_carries_retry_after(openrouter, loopback):
    loopback.reply(error(429, "Rate limit exceeded: free-models-per-min.", retry_after="7"))
    with pytest.raises(LLMError) as caught:
        await openrouter.chat(REQUEST, CTX)
    assert caught.value.code == "llm_provider_rate_limited"
    assert caught.value.retryable is True and caught.value.retry_after == 7.0


@pytest.mark.parametrize(("status", "code", "retryable"), [
    (401, "llm_provider_auth", False), (404, "llm_model_unavailable", False), (400, "llm_bad_request", False),
    (502, "llm_provider_unavailable", True), (503, "llm_provider_unavailable", True),
])
async def test_other_statuses_map_to_stable_codes(openrouter, loopback, status, code, retryable):
    loopback.reply(error(status, "upstream says no"))
    with pytest.raises(LLMError) as caught:
        await openrouter.chat(REQUEST, CTX)
    assert (caught.value.code, caught.value.retryable) == (code, retryable)


async def test_embeddings_with_cost_and_the_requested_dimensions(openrouter, loopback):
    loopback.reply(embeddings([[0.6, 0.8], [1.0, 0.0]], cost=0.00000016))
    result = await openrouter.embed(["a", "b"], "openai/text-embedding-3-small", CTX, dimensions=2)
    assert result.vectors == [[0.6, 0.8], [1.0, 0.0]]
    assert result.usage.cost == 0.00000016 and result.usage.prompt_tokens == 16
    sent = loopback.requests[0]
    assert sent.path == "/api/v1/embeddings"
    assert sent.body["dimensions"] == 2 and sent.body["encoding_format"] == "float"
    assert sent.body["input"] == ["a", "b"] and sent.body["user"] == CTX.user
    assert sent.headers["http-referer"] == "https://zentropy.example"


async def test_a_users_own_key_is_sent_in_place_of_the_service_key(openrouter, loopback):
    own = "sk-or-v1-users-own-key-1234567890"
    await openrouter.chat(REQUEST, CallContext(app_url="https://zentropy.example", user="u", api_key=own))
    await openrouter.chat(REQUEST, CTX)
    first, second = loopback.chats()
    assert first.headers["authorization"] == f"Bearer {own}"
    assert second.headers["authorization"] == f"Bearer {SYSTEM_KEY}"


async def test_openai_provider_sends_no_openrouter_fields_and_needs_a_key(loopback):
    provider = OpenAIProvider(api_key="sk-openai-test", base_url=loopback.url)
    await provider.chat(ChatRequest(messages=REQUEST.messages, models=["gpt-4.1-nano"]), CTX)
    sent = loopback.chats()[0]
    assert "http-referer" not in sent.headers and "models" not in sent.body and "provider" not in sent.body
    assert sent.body["user"] == CTX.user
    # a user's key is never used with a provider that does not take users' keys
    await provider.chat(ChatRequest(messages=REQUEST.messages, models=["gpt-4.1-nano"]),
                        CallContext(app_url="x", api_key="sk-or-v1-someone-elses-key-000"))
    assert loopback.chats()[1].headers["authorization"] == "Bearer sk-openai-test"
    unconfigured = OpenAIProvider(api_key=None, base_url=loopback.url)
    assert unconfigured.info.configured is False
    with pytest.raises(LLMError) as caught:
        await unconfigured.chat(REQUEST, CTX)
    assert caught.value.code == "llm_unavailable"
    await provider.close()
