"""The content-TTL rig: a runtime of the test's own (its own clock, content settings, sources and
Redis namespace) on an empty catalog with no content partitions, and a signed-in API client."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import empty_catalog
from tests.sources.conftest import FAST, SOURCE_ENV
from zentropy.auth.service import Auth
from zentropy.db import tenant
from zentropy.postings.sources import KEY as SOURCES_KEY
from zentropy.purge.clock import CLOCK
from zentropy.purge.settings import SETTINGS_KEY, ContentSettings
from zentropy.runtime import Runtime
from zentropy.sources.contract import Posting, SourceInfo
from zentropy.sources.service import SourceService

PUBLIC = "http://zentropy.test"
T0 = datetime(2030, 3, 4, 10, 20, tzinfo=timezone.utc)  # hours no other test's content uses
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
DESCRIPTION = (
    "Northwind runs the cold chain for three hundred grocery stores. We are hiring a backend engineer to "
    "build the services that track every pallet from the farm to the shelf: Python and PostgreSQL, event "
    "streams, and the tools our drivers and warehouse staff use every day. You have shipped production "
    "services, care about data being right, and like talking to the people who use what you build. Hybrid "
    "in Rotterdam, 28 days of holiday, a yearly learning budget and a bike plan."
)


class Clock:
    """An injectable "now" (`runtime.extras["clock"]`)."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> datetime:
        self.at += delta
        return self.at


async def partitions(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                                       "WHERE i.inhparent = 'posting_content'::regclass ORDER BY 1"))
        return [r[0] for r in rows]


async def reset_catalog(engine: AsyncEngine) -> None:
    """An empty catalog without any content partition (the catalog is shared by the tests of a run)."""
    await empty_catalog(engine, also=("content_purges",))
    async with engine.begin() as conn:
        for name in await partitions(engine):
            await conn.execute(text(f"DROP TABLE IF EXISTS {name}"))


async def rows(engine: AsyncEngine, sql: str, **params: Any) -> list[tuple]:
    async with engine.connect() as conn:
        return [tuple(r) for r in await conn.execute(text(sql), params)]


async def metadata(engine: AsyncEngine) -> dict[str, list[tuple]]:
    """Every metadata row of the catalog, for before/after comparisons."""
    return {table: await rows(engine, f"SELECT * FROM {table} ORDER BY 1, 2")
            for table in ("postings", "posting_sources", "posting_keys", "posting_agency_keys")}


def source(name: str = "adzuna", ttl: int = 24 * 3600) -> SourceInfo:
    return SourceInfo(name=name, tier="free", content_ttl_seconds=ttl)


def posting(external_id: str, *, source: str = "adzuna", **fields: Any) -> Posting:
    defaults: dict[str, Any] = dict(title="Backend Engineer", company="Northwind BV", locations=["Rotterdam"],
                                    description_text=DESCRIPTION,
                                    source_url=f"https://jobs.example/{source}/{external_id}")
    defaults.update(fields)
    return Posting(source=source, external_id=external_id, **defaults)


@dataclass
class TTLRig:
    rt: Runtime
    clock: Clock
    owner: AsyncEngine
    key_prefix: str

    def content_settings(self, **values: Any) -> None:
        self.rt.extras[SETTINGS_KEY] = ContentSettings(**values)

    def sources(self) -> SourceService:
        if SOURCES_KEY not in self.rt.extras:
            self.rt.extras[SOURCES_KEY] = SourceService(self.rt, policy=FAST, key_prefix=self.key_prefix)
        return self.rt.extras[SOURCES_KEY]

    async def user(self) -> uuid.UUID:
        """A new, onboarded user."""
        user_id = uuid.uuid4()
        with tenant(user_id):
            async with self.rt.db.session() as session:
                await session.execute(sa.text("INSERT INTO users (id, email) VALUES (:id, :email)"),
                                      {"id": user_id, "email": f"{user_id.hex}@example.test"})
                await session.execute(sa.text(
                    "INSERT INTO user_preferences (user_id, skills, remote, salary_min, salary_currency, "
                    "completed_at) VALUES (:id, '{python}', true, 1, 'EUR', now())"), {"id": user_id})
        return user_id

    def client(self, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
        from zentropy.app import create_app

        transport = httpx.ASGITransport(app=create_app(runtime=self.rt))
        return httpx.AsyncClient(transport=transport, base_url=PUBLIC, headers=headers)

    async def signed_in(self, user_id: uuid.UUID | None = None) -> httpx.AsyncClient:
        user_id = user_id or await self.user()
        session = await Auth.of(self.rt).open_session(user_id, via="bearer", user_agent=None)
        return self.client({"Authorization": f"Bearer {session.token}"})


@pytest.fixture
async def ttl(runtime, owner_engine, redis, monkeypatch) -> AsyncIterator[TTLRig]:
    for name in SOURCE_ENV:
        monkeypatch.delenv(name, raising=False)
    await reset_catalog(owner_engine)
    rt = Runtime(settings=runtime.settings, plugins=runtime.plugins, db=runtime.db, redis=runtime.redis,
                 queue=runtime.queue)
    clock = Clock(T0)
    rt.extras[CLOCK] = clock
    rt.extras[SETTINGS_KEY] = ContentSettings()
    prefix = f"zentropy-test:{uuid.uuid4().hex}:sources"
    rig = TTLRig(rt=rt, clock=clock, owner=owner_engine, key_prefix=prefix)
    try:
        yield rig
    finally:
        service = rt.extras.get(SOURCES_KEY)
        if service is not None:
            await service.aclose()
        keys = [key async for key in redis.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await redis.delete(*keys)
