"""A fresh, migrated database for one benchmark run, and a runtime on it."""

from __future__ import annotations

import os
import uuid
from contextlib import asynccontextmanager
from pathlib import Path

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from zentropy import embedded
from zentropy.db import Database
from zentropy.db.migrate import upgrade
from zentropy.db.urls import async_url
from zentropy.plugins import Plugins
from zentropy.runtime import Runtime, service_database_url
from zentropy.settings import Settings

BENCH_DATA = Path(__file__).resolve().parent.parent / ".test-data" / "bench"
APP_USER, APP_PASSWORD = "zentropy_bench_app", "bench-app-password"


# The embedded server comes with PostgreSQL's defaults (128 MB of shared buffers): a deployment
# sizes them to its memory, and so does the benchmark's server, or a million-posting catalog would
# measure the operating system's page cache rather than the catalog's design.
TUNING = {"shared_buffers": "4GB", "max_wal_size": "8GB", "checkpoint_timeout": "15min"}


async def server_url() -> str:
    given = os.environ.get("ZENTROPY_BENCH_DATABASE_URL")
    if given:
        return given
    url = make_url(embedded.start_postgres(BENCH_DATA)).set(database="postgres").render_as_string(hide_password=False)
    await _tune(url)
    return url


async def _tune(url: str) -> None:
    """Apply TUNING to the embedded benchmark server, restarting it once if needed."""
    engine = create_async_engine(async_url(url), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            current = {k: (await conn.execute(text(f"SHOW {k}"))).scalar_one() for k in TUNING}
            for key, value in TUNING.items():
                if current[key] != value:
                    await conn.execute(text(f"ALTER SYSTEM SET {key} = '{value}'"))
    finally:
        await engine.dispose()
    if current["shared_buffers"] != TUNING["shared_buffers"]:
        import pgserver
        from pgserver._commands import pg_ctl

        server = pgserver.get_server(BENCH_DATA / "postgres")
        pg_ctl(["-w", "restart"], pgdata=server.pgdata, user=server.system_user, timeout=120)
    elif current != TUNING:
        engine = create_async_engine(async_url(url), isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text("SELECT pg_reload_conf()"))
        await engine.dispose()


async def server_settings(url: str) -> dict[str, str]:
    engine = create_async_engine(async_url(url))
    try:
        async with engine.connect() as conn:
            return {k: (await conn.execute(text(f"SHOW {k}"))).scalar_one() for k in TUNING}
    finally:
        await engine.dispose()


@asynccontextmanager
async def bench_database():
    """(owner URL, Runtime) of a new database, dropped afterwards. The runtime's Redis (LLM rate
    limits, metrics counters) is `ZENTROPY_BENCH_REDIS_URL`'s or an embedded one; it has no queue."""
    server = await server_url()
    name = f"zentropy_bench_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(async_url(server), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f"CREATE DATABASE {name}"))
    owner_url = make_url(server).set(database=name).render_as_string(hide_password=False)
    runtime = None
    try:
        await upgrade(owner_url, APP_USER, APP_PASSWORD)
        redis_url = os.environ.get("ZENTROPY_BENCH_REDIS_URL") or embedded.start_redis(BENCH_DATA)
        settings = Settings(database_url=owner_url, database_app_user=APP_USER, database_app_password=APP_PASSWORD,
                            redis_url=redis_url, plugins="")
        plugins = Plugins(settings).load(entry_points=[])
        runtime = Runtime(settings=settings, plugins=plugins, db=Database(service_database_url(settings)),
                          redis=Redis.from_url(redis_url), queue=None)  # type: ignore[arg-type]
        yield owner_url, runtime
    finally:
        if runtime is not None:
            await runtime.db.dispose()
            await runtime.redis.aclose()
        async with admin.connect() as conn:
            await conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        await admin.dispose()


async def postgres_version(owner_url: str) -> str:
    """"16.2 (shared_buffers 4GB, ...)": the version and the settings that matter here."""
    engine = create_async_engine(async_url(owner_url))
    try:
        async with engine.connect() as conn:
            version = (await conn.execute(text("SHOW server_version"))).scalar_one().split()[0]
            settings = {k: (await conn.execute(text(f"SHOW {k}"))).scalar_one() for k in TUNING}
    finally:
        await engine.dispose()
    return f"{version} ({', '.join(f'{k} {v}' for k, v in settings.items())})"
