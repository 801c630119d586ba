"""Test harness: a real PostgreSQL with pgvector and a real Redis.

ZENTROPY_TEST_DATABASE_URL (an owner/superuser URL of a server with pgvector) and
ZENTROPY_TEST_REDIS_URL pick servers; unset, the embedded default starts them under .test-data/
(the same code `zentropy serve` uses), so the suite also runs on a machine with no servers.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from alembic import command
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from zentropy import embedded
from zentropy.db.migrate import alembic_config, upgrade
from zentropy.db import Database
from zentropy.db.urls import app_url, async_url
from zentropy.plugins import ENTRY_POINT_GROUP
from zentropy.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
TEST_DATA = ROOT / ".test-data"
TEST_DATABASE = f"zentropy_test_{os.getpid()}"  # concurrent runs never share a database
FIXTURES = ROOT.parent / "shared" / "fixtures"


def bundled_plugin_names() -> list[str]:
    return sorted(
        ep.name for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        if ep.dist is not None and ep.dist.metadata["Name"] == "zentropy"
    )


# Isolation from whatever third-party plugins are installed: only the bundled ones load.
os.environ["ZENTROPY_PLUGINS"] = ",".join(bundled_plugin_names())
os.environ.pop("ZENTROPY_DISABLE_PLUGINS", None)


@pytest.fixture(scope="session")
def server_url() -> str:
    """Owner URL of the server's maintenance database."""
    given = os.environ.get("ZENTROPY_TEST_DATABASE_URL")
    if given:
        return given
    url = embedded.start_postgres(TEST_DATA)
    return str(make_url(url).set(database="postgres").render_as_string(hide_password=False))


@asynccontextmanager
async def migrated_by_an_ordinary_role(server_url: str) -> AsyncIterator[tuple[URL, Database]]:
    """A database of its own, migrated by an owner that is not a superuser, as on a managed database
    (FORCE'd row security then applies to the owner, and so to its SECURITY DEFINER functions);
    (owner URL, the service role's `Database`). Dropped after, with its roles."""
    suffix = uuid.uuid4().hex[:8]
    owner, app_role, database = f"zentropy_owner_{suffix}", f"zentropy_app_{suffix}", f"zentropy_nosuper_{suffix}"
    admin = create_async_engine(async_url(server_url), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f"CREATE ROLE {owner} LOGIN NOSUPERUSER CREATEROLE PASSWORD 'pw-{suffix}'"))
        await conn.execute(text(f"CREATE DATABASE {database} OWNER {owner}"))
    superuser_db = make_url(server_url).set(database=database)
    async with create_async_engine(async_url(superuser_db), isolation_level="AUTOCOMMIT").connect() as conn:
        await conn.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))  # extensions need a superuser
        await conn.execute(text(f"GRANT ALL ON SCHEMA public TO {owner}"))
        await conn.engine.dispose()
    owner_url = superuser_db.set(username=owner, password=f"pw-{suffix}")
    db = None
    try:
        await upgrade(owner_url, app_role, f"app-{suffix}")
        db = Database(app_url(owner_url, app_role, f"app-{suffix}"), pool_size=2)
        yield owner_url, db
    finally:
        if db is not None:
            await db.dispose()
        async with admin.connect() as conn:
            await conn.execute(text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
            await conn.execute(text(f"DROP ROLE IF EXISTS {app_role}"))
            await conn.execute(text(f"DROP ROLE IF EXISTS {owner}"))
        await admin.dispose()


@pytest.fixture(scope="session")
async def owner_url(server_url: str) -> AsyncIterator[str]:
    """A fresh, empty test database on the server (dropped afterwards); its owner URL."""
    admin = create_async_engine(async_url(server_url), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f"DROP DATABASE IF EXISTS {TEST_DATABASE} WITH (FORCE)"))
        await conn.execute(text(f"CREATE DATABASE {TEST_DATABASE}"))
    yield make_url(server_url).set(database=TEST_DATABASE).render_as_string(hide_password=False)
    async with admin.connect() as conn:
        await conn.execute(text(f"DROP DATABASE IF EXISTS {TEST_DATABASE} WITH (FORCE)"))
    await admin.dispose()


@pytest.fixture
async def scratch_database(server_url: str) -> AsyncIterator[tuple[URL, AsyncEngine]]:
    """An empty database of its own (for migration tests), its URL and an engine on it; dropped afterwards."""
    name = f"zentropy_scratch_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(async_url(server_url), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f"CREATE DATABASE {name}"))
    url = make_url(server_url).set(database=name)
    engine = create_async_engine(async_url(url))
    try:
        yield url, engine
    finally:
        await engine.dispose()
        async with admin.connect() as conn:
            await conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        await admin.dispose()


async def alembic_run(url: URL, verb: str, revision: str) -> None:
    """`alembic upgrade|downgrade <revision>` on the database at `url` (alembic's env.py runs its own
    event loop when not handed a connection: in a thread)."""
    await asyncio.to_thread(getattr(command, verb), alembic_config(url), revision)


@pytest.fixture(scope="session")
def redis_url() -> str:
    return os.environ.get("ZENTROPY_TEST_REDIS_URL") or embedded.start_redis(TEST_DATA, stop_at_exit=False)


@pytest.fixture(scope="session")
def settings(owner_url: str, redis_url: str) -> Settings:
    return Settings(
        database_url=owner_url,
        database_app_user="zentropy_test_app",
        database_app_password="test-app-password",
        redis_url=redis_url,
        data_dir=str(TEST_DATA / "data"),
        public_url="http://zentropy.test",
        secret_key="test-secret-key-0123456789-abcdefghijklmnop",
        plugins=os.environ["ZENTROPY_PLUGINS"],
        queue_name=f"zentropy-test-{uuid.uuid4().hex[:8]}",
        log_format="console",
    )


@pytest.fixture(scope="session")
async def migrated(settings: Settings) -> Settings:
    await upgrade(settings.database_url, settings.database_app_user, settings.database_app_password)
    return settings


@pytest.fixture(scope="session")
async def owner_engine(migrated: Settings) -> AsyncIterator[AsyncEngine]:
    """The schema owner's connection: for test set-up and for looking behind RLS (FORCE applies to
    the owner too, so owner sessions still need a tenant set or `SET row_security = off` as superuser)."""
    engine = create_async_engine(async_url(migrated.database_url))
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def runtime(migrated: Settings):
    from zentropy.runtime import Runtime

    rt = await Runtime.start(migrated, migrate=False)
    yield rt
    await rt.close()


CATALOG_TABLES = ("postings", "posting_sources", "posting_keys", "posting_agency_keys", "hot_keys", "posting_content",
                  "catalog_company_keys", "posting_merges")


async def empty_catalog(engine: AsyncEngine, runtime=None, also: tuple[str, ...] = ()) -> None:  # noqa: ANN001
    """Empty the shared catalog (every test of a run shares it), and make `runtime` forget the hot
    keys it knew of it (`zentropy.catalog.store.HotKeys`)."""
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {', '.join(CATALOG_TABLES + also)}"))
    if runtime is not None:
        runtime.extras.pop("catalog.hot_keys", None)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def client(runtime):
    """An HTTP client on the app in this event loop (Litestar's AsyncTestClient runs the app in a
    thread of its own, which would split asyncpg and Redis connections across loops)."""
    import httpx

    from zentropy.app import create_app

    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://zentropy.test") as c:
        yield c
