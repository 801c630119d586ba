"""The tier engine's test rig: a runtime whose only sources are Adzuna and Greenhouse (free) and
SerpApi (premium), each pointed at a loopback server speaking its real wire format, with Redis
namespaces (queue, limits, caches) of the test's own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec
import pytest
import sqlalchemy as sa
from redis.asyncio import Redis
from saq.queue.redis import RedisQueue

from tests.search.loopback import adzuna_jobs, greenhouse_jobs, serpapi_jobs
from tests.sources.conftest import FAST, SOURCE_ENV
from tests.sources.fakes import AdzunaFake, FakeServer, GreenhouseFake, SerpApiFake
from zentropy.auth.service import Auth
from zentropy.db import tenant
from zentropy.plugins import Plugins
from zentropy.quotas.settings import QuotaSettings
from zentropy.runtime import Runtime
from zentropy.search.settings import SearchSettings
from zentropy.sources.service import SourceService

PUBLIC = "http://zentropy.test"
SOURCES = "adzuna,greenhouse,serpapi"


@pytest.fixture(autouse=True)
def _no_real_source_settings(monkeypatch):
    for name in SOURCE_ENV:
        monkeypatch.delenv(name, raising=False)


@dataclass
class Rig:
    rt: Runtime
    token: str
    adzuna: AdzunaFake
    serpapi: SerpApiFake
    greenhouse: GreenhouseFake
    servers: dict[str, FakeServer]
    env: dict[str, str]
    users: list[uuid.UUID] = field(default_factory=list)

    def calls(self, name: str) -> int:
        """Search calls the source's server received (SerpApi's free account reads not counted)."""
        prefix = {"adzuna": "/v1/api/jobs", "serpapi": "/search.json", "greenhouse": "/v1/boards"}[name]
        return self.servers[name].count(prefix)

    async def user(self, onboarded: bool = True) -> uuid.UUID:
        user_id = uuid.uuid4()
        with tenant(user_id):
            async with self.rt.db.session() as session:
                await session.execute(sa.text("INSERT INTO users (id, email) VALUES (:id, :email)"),
                                      {"id": user_id, "email": f"{user_id.hex}@example.test"})
                if onboarded:
                    await session.execute(sa.text(
                        "INSERT INTO user_preferences (user_id, skills, remote, salary_min, salary_currency, "
                        "completed_at) VALUES (:id, '{python}', true, 1, 'EUR', now())"), {"id": user_id})
        self.users.append(user_id)
        return user_id

    async def bearer(self, user_id: uuid.UUID) -> dict[str, str]:
        session = await Auth.of(self.rt).open_session(user_id, via="bearer", user_agent=None)
        return {"Authorization": f"Bearer {session.token}"}

    def client(self) -> httpx.AsyncClient:
        from zentropy.app import create_app

        transport = httpx.ASGITransport(app=create_app(runtime=self.rt))
        return httpx.AsyncClient(transport=transport, base_url=PUBLIC)

    def configure(self, **search: Any) -> None:
        """Change search settings (and reset what was built from them)."""
        current = self.rt.extras["search.settings"]
        self.rt.extras["search.settings"] = msgspec.structs.replace(current, **search)
        for key in ("search.engine", "search.cache"):
            self.rt.extras.pop(key, None)

    def quotas(self, **values: int) -> None:
        self.rt.extras["quotas.settings"] = QuotaSettings(**values)


def rig_runtime(runtime: Runtime, queue_name: str, sources: str = SOURCES) -> Runtime:
    settings = msgspec.structs.replace(runtime.settings, queue_name=queue_name, plugins=sources)
    queue = RedisQueue(Redis.from_url(settings.redis_url), name=queue_name)
    return Runtime(settings=settings, plugins=Plugins(settings).load(), db=runtime.db, redis=runtime.redis, queue=queue)


TEST_SEARCH = dict(hot_cache_seconds=60.0, version_check_seconds=0.0, single_flight_seconds=2.0,
                   shared_result_seconds=5.0, job_heartbeat=2, stalled_seconds=5, events_seconds=20.0)


@pytest.fixture
async def rig(runtime, monkeypatch, redis) -> AsyncIterator[Rig]:
    token = "zq" + uuid.uuid4().hex[:10]
    adzuna = AdzunaFake(adzuna_jobs(token, 30))
    serpapi = SerpApiFake(serpapi_jobs(token, 30), searches_left=1000)
    greenhouse = GreenhouseFake({token: greenhouse_jobs(token, 30)})
    servers = {"adzuna": FakeServer(adzuna), "serpapi": FakeServer(serpapi), "greenhouse": FakeServer(greenhouse)}
    for server in servers.values():
        server.__enter__()
    env = {"ADZUNA_BASE_URL": servers["adzuna"].url, "ADZUNA_APP_ID": adzuna.app_id, "ADZUNA_APP_KEY": adzuna.app_key,
           "SERPAPI_BASE_URL": servers["serpapi"].url, "SERPAPI_API_KEY": serpapi.api_key,
           "GREENHOUSE_BASE_URL": servers["greenhouse"].url, "GREENHOUSE_BOARDS": token}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    queue_name = f"zentropy-test-search-{token}"
    key_prefix = f"{queue_name}:sources"
    rt = rig_runtime(runtime, queue_name)
    rt.extras["search.settings"] = SearchSettings(**TEST_SEARCH)
    rt.extras["quotas.settings"] = QuotaSettings()
    rt.extras["search.sources"] = SourceService(rt, policy=FAST, key_prefix=key_prefix)
    rig = Rig(rt=rt, token=token, adzuna=adzuna, serpapi=serpapi, greenhouse=greenhouse, servers=servers,
              env={**env, "ZENTROPY_SOURCES_KEY_PREFIX": key_prefix, "ZENTROPY_QUEUE": queue_name})
    try:
        yield rig
    finally:
        await rt.extras["search.sources"].aclose()
        await rt.queue.disconnect()
        for server in servers.values():
            server.__exit__(None, None, None)
        keys = [key async for key in redis.scan_iter(match=f"{queue_name}*", count=1000)]
        if keys:
            await redis.delete(*keys)


@pytest.fixture
async def signed_in(rig):
    """(user, an HTTP client with their bearer token)."""
    user = await rig.user()
    async with rig.client() as client:
        client.headers.update(await rig.bearer(user))
        yield user, client
