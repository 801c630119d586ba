from __future__ import annotations

import uuid

from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from zentropy.db.migrate import alembic_config, head_revision, upgrade
from zentropy.db.urls import async_url


async def test_migrations_from_empty_down_and_up_again(server_url, settings):
    name = f"zentropy_mig_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(async_url(server_url), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f"CREATE DATABASE {name}"))
    url = make_url(server_url).set(database=name)
    engine = create_async_engine(async_url(url))
    try:
        await upgrade(url, settings.database_app_user, settings.database_app_password)
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar() == head_revision()
            assert (await conn.execute(text("SELECT count(*) FROM pg_extension WHERE extname = 'vector'"))).scalar() == 1
        await engine.dispose()
        # every migration can be undone, and redone
        config = alembic_config(url)
        await _run_sync(config, "downgrade", "base")
        async with engine.connect() as conn:
            left = (await conn.execute(text(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"))).scalar()
            assert left == 0
        await engine.dispose()
        await upgrade(url, settings.database_app_user, settings.database_app_password)
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar() == head_revision()
    finally:
        await engine.dispose()
        async with admin.connect() as conn:
            await conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        await admin.dispose()


async def _run_sync(config, verb: str, revision: str) -> None:
    import asyncio

    # alembic's env.py runs its own event loop when not handed a connection: use a thread.
    await asyncio.to_thread(getattr(command, verb), config, revision)
