"""Schema changes, only through Alembic: `zentropy db upgrade` and the readiness check."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from zentropy.db.roles import provision_app_role
from zentropy.db.urls import async_url

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: URL | str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        rendered = async_url(url).render_as_string(hide_password=False).replace("%", "%%")
        config.set_main_option("sqlalchemy.url", rendered)
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def current_revision(conn: AsyncConnection) -> str | None:
    return await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())


async def upgrade(owner_url: URL | str, app_role: str, app_password: str | None, revision: str = "head") -> None:
    """Migrate as the owner to `revision`, then provision the service role."""
    engine = create_async_engine(async_url(owner_url))
    try:
        async with engine.connect() as conn:
            config = alembic_config(owner_url)
            await conn.run_sync(lambda sync: _upgrade_sync(config, sync, revision))
            await conn.commit()
        async with engine.begin() as conn:
            await provision_app_role(conn, app_role, app_password)
    finally:
        await engine.dispose()


def _upgrade_sync(config: Config, sync_conn, revision: str) -> None:  # noqa: ANN001
    # env.py looks for an async connection; hand it the sync one through run_sync's bridge.
    config.attributes["sync_connection"] = sync_conn
    command.upgrade(config, revision)


def run_upgrade(owner_url: URL | str, app_role: str, app_password: str | None) -> None:
    asyncio.run(upgrade(owner_url, app_role, app_password))
