"""What the API and the worker share at run time: settings, plugins, database, Redis, queue."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import URL
from redis.asyncio import Redis
from saq.queue.redis import RedisQueue

from zentropy import embedded
from zentropy.db import Database
from zentropy.db.migrate import upgrade
from zentropy.db.urls import app_url, async_url
from zentropy.plugins import Plugins, load_plugins
from zentropy.settings import Settings


def service_database_url(settings: Settings) -> URL:
    """The service role's URL: DATABASE_APP_URL, or DATABASE_URL with the service role's credentials."""
    if settings.database_app_url:
        return async_url(settings.database_app_url)
    assert settings.database_url is not None
    return app_url(settings.database_url, settings.database_app_user, settings.database_app_password)


@dataclass
class Runtime:
    settings: Settings
    plugins: Plugins
    db: Database
    redis: Redis
    queue: RedisQueue
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    async def start(cls, settings: Settings, plugins: Plugins | None = None, *, migrate: bool | None = None) -> Runtime:
        """Connect to the configured servers, starting embedded ones for those not configured.

        Migrations are applied here only for the embedded default (`migrate=None`); a deployment
        runs `zentropy db upgrade` before it starts.
        """
        was_embedded = settings.database_url is None
        settings = embedded.resolve(settings)
        if migrate or (migrate is None and was_embedded):
            await upgrade(settings.database_url, settings.database_app_user, settings.database_app_password)
        plugins = plugins or load_plugins(settings)
        redis = Redis.from_url(settings.redis_url)
        queue = RedisQueue(Redis.from_url(settings.redis_url), name=settings.queue_name)
        db = Database(service_database_url(settings), pool_size=settings.database_pool_size)
        return cls(settings=settings, plugins=plugins, db=db, redis=redis, queue=queue)

    async def close(self) -> None:
        from zentropy.catalog.ingest import stop_writer  # the catalog writer's task
        from zentropy.llm.service import close_llm  # the LLM providers' HTTP clients
        from zentropy.sources.service import close_sources  # the sources' pooled HTTP clients

        await stop_writer(self)
        await close_sources(self)
        await close_llm(self)
        await self.queue.disconnect()
        await self.redis.aclose()
        await self.db.dispose()
