from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from sqlalchemy import text

from tests.sources.fakes import (
    AdzunaFake,
    ArbeitnowFake,
    FakeServer,
    GreenhouseFake,
    LeverFake,
    RemotiveFake,
    SerpApiFake,
)
from zentropy.sources.service import SourceService
from zentropy.sources.settings import HttpPolicy

# Tiny timeouts and backoffs: fault tests stay fast.
FAST = HttpPolicy(connect_timeout=0.5, read_timeout=0.4, total_timeout=0.8, retries=2, backoff_base=0.005,
                  backoff_max=0.02, max_retry_after=0.3, breaker_threshold=3, breaker_cooldown=0.3,
                  breaker_window=10, quota_refresh=60, quota_block=60, rate_block=0.5)

SOURCE_ENV = ("ADZUNA_APP_ID", "ADZUNA_APP_KEY", "ADZUNA_COUNTRY", "ADZUNA_BASE_URL", "SERPAPI_API_KEY",
              "SERPAPI_BASE_URL", "SERPAPI_HL", "REMOTIVE_BASE_URL", "REMOTIVE_REFRESH_HOURS", "ARBEITNOW_BASE_URL",
              "ARBEITNOW_PAGES_PER_SEARCH", "GREENHOUSE_BOARDS", "GREENHOUSE_BASE_URL", "LEVER_SITES",
              "LEVER_BASE_URL")


@pytest.fixture(autouse=True)
def _no_real_source_settings(monkeypatch):
    """Tests see only the source settings they set (never a developer's real keys or URLs)."""
    for name in SOURCE_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def key_prefix(redis) -> AsyncIterator[str]:
    """A Redis namespace of this test's own (Redis is shared by concurrent test runs); removed after."""
    prefix = f"zentropy-test:{uuid.uuid4().hex}:sources"
    yield prefix
    keys = [key async for key in redis.scan_iter(match=f"{prefix}:*", count=500)]
    if keys:
        await redis.delete(*keys)


@pytest.fixture
async def make_service(runtime, key_prefix) -> AsyncIterator[Callable[..., SourceService]]:
    made: list[SourceService] = []

    def make(policy: HttpPolicy = FAST, **kwargs) -> SourceService:
        service = SourceService(runtime, policy=policy, key_prefix=key_prefix, **kwargs)
        made.append(service)
        return service

    yield make
    for service in made:
        await service.aclose()


@pytest.fixture
async def sources(make_service) -> SourceService:
    return make_service()


class Ledger:
    """The ledger rows written since the test began."""

    def __init__(self, engine, start: int) -> None:
        self.engine = engine
        self.start = start

    async def rows(self, source: str | None = None) -> list[dict]:
        sql = "SELECT * FROM source_calls WHERE id > :start" + (" AND source = :source" if source else "") + " ORDER BY id"
        async with self.engine.connect() as conn:
            result = await conn.execute(text(sql), {"start": self.start, "source": source})
            return [dict(row._mapping) for row in result]


@pytest.fixture
async def ledger(owner_engine) -> Ledger:
    async with owner_engine.connect() as conn:
        start = (await conn.execute(text("SELECT coalesce(max(id), 0) FROM source_calls"))).scalar_one()
    return Ledger(owner_engine, start)


def _serve(monkeypatch, fake, env: dict[str, str]) -> Iterator[tuple]:
    with FakeServer(fake) as server:
        for key, value in env.items():
            monkeypatch.setenv(key, value.format(url=server.url))
        yield fake, server


@pytest.fixture
def adzuna_api(monkeypatch):
    fake = AdzunaFake()
    yield from _serve(monkeypatch, fake, {"ADZUNA_BASE_URL": "{url}", "ADZUNA_APP_ID": fake.app_id,
                                          "ADZUNA_APP_KEY": fake.app_key})


@pytest.fixture
def serpapi_api(monkeypatch):
    fake = SerpApiFake()
    yield from _serve(monkeypatch, fake, {"SERPAPI_BASE_URL": "{url}", "SERPAPI_API_KEY": fake.api_key})


@pytest.fixture
def remotive_api(monkeypatch):
    yield from _serve(monkeypatch, RemotiveFake(), {"REMOTIVE_BASE_URL": "{url}"})


@pytest.fixture
def arbeitnow_api(monkeypatch):
    yield from _serve(monkeypatch, ArbeitnowFake(), {"ARBEITNOW_BASE_URL": "{url}"})


@pytest.fixture
def greenhouse_api(monkeypatch):
    yield from _serve(monkeypatch, GreenhouseFake(), {"GREENHOUSE_BASE_URL": "{url}", "GREENHOUSE_BOARDS": "stripe"})


@pytest.fixture
def lever_api(monkeypatch):
    yield from _serve(monkeypatch, LeverFake(), {"LEVER_BASE_URL": "{url}", "LEVER_SITES": "leverdemo"})
