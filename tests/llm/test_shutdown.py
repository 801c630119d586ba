"""The providers' HTTP clients (openai SDK) are closed when the runtime closes: on the API's shutdown
(its lifespan) and the worker's (`zentropy worker` closes its runtime)."""

from __future__ import annotations

import msgspec
import pytest
from zentropy_plugins.llm.openrouter import OpenRouterProvider

from tests.llm.conftest import SYSTEM_KEY, TEST_ROUTES
from zentropy.app import create_app
from zentropy.llm.contract import CallContext, ChatRequest, Message
from zentropy.llm.routing import providers_from
from zentropy.llm.service import LLMService, close_llm, llm_service
from zentropy.llm.settings import LLMSettings
from zentropy.runtime import Runtime

HI = [Message("user", "Hi")]


@pytest.fixture
async def own_runtime(migrated):
    runtime = await Runtime.start(migrated, migrate=False)
    yield runtime
    await runtime.close()  # a second close is harmless


def plugin_openrouter(runtime: Runtime, url: str) -> OpenRouterProvider:
    """The OpenRouter provider the plugin registered, pointed at the loopback server."""
    provider = providers_from(runtime.plugins)[0]["openrouter"]
    provider.api_key, provider.base_url = SYSTEM_KEY, url
    return provider


async def test_closing_the_runtime_closes_every_open_client(own_runtime, loopback, openrouter):
    service = LLMService(own_runtime, LLMSettings(**TEST_ROUTES), {"openrouter": openrouter})
    own_runtime.extras["llm"] = service
    await service.chat("scoring", HI)
    injected = openrouter._client
    plugins = plugin_openrouter(own_runtime, loopback.url)
    await plugins.chat(ChatRequest(messages=HI, models=["openai/gpt-4.1-nano"]), CallContext(app_url="http://x"))
    from_plugin = plugins._client
    assert injected is not None and not injected.is_closed()
    assert from_plugin is not None and not from_plugin.is_closed()

    await own_runtime.close()
    assert injected.is_closed() and from_plugin.is_closed()
    assert openrouter._client is None and plugins._client is None


async def test_a_closed_provider_opens_a_new_client_when_called_again(runtime, make_service, openrouter, loopback):
    service, _ = make_service([openrouter])
    await service.chat("scoring", HI)
    first = openrouter._client
    await close_llm(runtime)
    assert first.is_closed()
    await service.chat("scoring", HI)
    assert openrouter._client is not None and openrouter._client is not first and not openrouter._client.is_closed()


async def test_a_provider_that_fails_to_close_does_not_keep_the_others_open(own_runtime, loopback, openrouter):
    class Broken:
        info = openrouter.info

        async def close(self) -> None:
            raise RuntimeError("boom")

    own_runtime.extras["llm"] = LLMService(own_runtime, LLMSettings(**TEST_ROUTES),
                                           {"broken": Broken(), "openrouter": openrouter})
    await llm_service(own_runtime).chat("scoring", HI)
    client = openrouter._client
    await close_llm(own_runtime)
    assert client.is_closed()


async def test_the_apis_shutdown_closes_them(migrated, loopback):
    settings = msgspec.structs.replace(migrated, in_process_worker=False)
    app = create_app(settings)
    async with app.lifespan():
        runtime = app.state.runtime
        provider = plugin_openrouter(runtime, loopback.url)
        await provider.chat(ChatRequest(messages=HI, models=["openai/gpt-4.1-nano"]), CallContext(app_url="http://x"))
        client = provider._client
        assert not client.is_closed()
    assert client.is_closed() and provider._client is None
