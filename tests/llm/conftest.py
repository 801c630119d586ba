from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from zentropy_plugins.llm.local import LocalProvider, find_model_dir
from zentropy_plugins.llm.openrouter import OpenRouterProvider, ProviderPreferences

from tests.llm.loopback import LoopbackLLM
from zentropy.db import tenant
from zentropy.llm.models import LLMSystemUsage, LLMUsage
from zentropy.llm.service import LLMService
from zentropy.llm.settings import LLMSettings

SYSTEM_KEY = "sk-or-v1-system-key-for-tests-0000"
TEST_ROUTES = {
    "extraction_models": "openrouter:google/gemini-2.5-flash-lite, openrouter:openai/gpt-4.1-nano, local:rules",
    "scoring_models": "openrouter:openai/gpt-4.1-nano",
    "generation_models": "openrouter:anthropic/claude-sonnet-4, openrouter:openai/gpt-4.1",
    "embedding_models": "openrouter:openai/text-embedding-3-small",
}


class Sleeps(list):
    """Stands in for asyncio.sleep: records each wait instead of waiting."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
async def loopback():
    server = await LoopbackLLM().start()
    yield server
    await server.stop()


@pytest.fixture
def openrouter(loopback) -> OpenRouterProvider:
    return OpenRouterProvider(api_key=SYSTEM_KEY, base_url=loopback.url, app_title="Zentropy Test",
                              preferences=ProviderPreferences(sort="price", data_collection="deny"))


@pytest.fixture(scope="session")
def local_provider() -> LocalProvider:
    return LocalProvider(find_model_dir(None))


@pytest.fixture
def make_service(runtime, monkeypatch):
    """An LLMService on the test runtime with the given providers and settings; `extract_posting`
    and `embed` use it for the test's duration."""

    def make(providers, **overrides) -> tuple[LLMService, Sleeps]:
        settings = LLMSettings(**{**TEST_ROUTES, **overrides})
        sleeps = Sleeps()
        service = LLMService(runtime, settings, {p.info.name: p for p in providers}, sleep=sleeps)
        monkeypatch.setitem(runtime.extras, "llm", service)
        return service, sleeps

    return make


@pytest.fixture
def new_user(runtime):
    async def make() -> uuid.UUID:
        user_id = uuid.uuid4()
        with tenant(user_id):
            async with runtime.db.session() as session:
                await session.execute(sa.text("INSERT INTO users (id, email) VALUES (:id, :email)"),
                                      {"id": user_id, "email": f"{user_id.hex}@example.test"})
        return user_id

    return make


async def usage_rows(runtime, user_id: uuid.UUID) -> list[LLMUsage]:
    with tenant(user_id):
        async with runtime.db.session() as session:
            return list((await session.scalars(sa.select(LLMUsage).order_by(LLMUsage.id))).all())


@pytest.fixture
async def system_rows(runtime):
    """Rows of llm_system_usage written during the test."""
    async with runtime.db.session() as session:
        start = await session.scalar(sa.select(sa.func.coalesce(sa.func.max(LLMSystemUsage.id), 0)))

    async def rows() -> list[LLMSystemUsage]:
        async with runtime.db.session() as session:
            return list((await session.scalars(
                sa.select(LLMSystemUsage).where(LLMSystemUsage.id > start).order_by(LLMSystemUsage.id))).all())

    return rows
