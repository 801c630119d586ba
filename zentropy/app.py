"""`create_app()`: the one place the HTTP service is wired."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.plugins import InitPluginProtocol
from litestar.plugins.prometheus import PrometheusConfig

from zentropy import __version__, embedded
from zentropy.accounts.controller import AccountDataController, delete_account
from zentropy.auth.controller import AuthController
from zentropy.auth.pages import PagesController
from zentropy.auth.plugin import AuthPlugin
from zentropy.feed.controller import FeedController, SavedSearchController
from zentropy.health.controller import HealthController
from zentropy.http.errors import EXCEPTION_HANDLERS
from zentropy.http.request_id import request_id_middleware
from zentropy.llm.controller import LLMAccountController
from zentropy.matching.controller import MatchController, MyMatchesController
from zentropy.postings.controller import JobsController
from zentropy.quotas.controller import QuotasController
from zentropy.runtime import Runtime
from zentropy.search.controller import SearchController, SourcesController
from zentropy.settings import Settings, get_settings
from zentropy.system.controller import MetricsController, PluginsController
from zentropy.users.controller import MeController

CONTROLLERS = [HealthController, PluginsController, MetricsController, AuthController, MeController, PagesController,
               LLMAccountController, AccountDataController, delete_account, SearchController, SourcesController,
               SavedSearchController, FeedController, QuotasController, JobsController,
               MatchController, MyMatchesController]


class ZentropyPlugin(InitPluginProtocol):
    """Wires the runtime (started here unless one is given), routes, errors and middleware."""

    def __init__(self, settings: Settings, runtime: Runtime | None = None) -> None:
        self.settings = settings
        self.runtime = runtime

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.extend(CONTROLLERS)
        app_config.dependencies["runtime"] = Provide(self._runtime, sync_to_thread=False)
        app_config.exception_handlers.update(EXCEPTION_HANDLERS)
        app_config.lifespan.append(self._lifespan)
        app_config.middleware.append(
            PrometheusConfig(app_name="zentropy", prefix="zentropy", group_path=True,
                             exclude=["^/metrics", "^/health"]).middleware
        )
        return app_config

    def _runtime(self) -> Runtime:
        assert self.runtime is not None, "runtime not started"
        return self.runtime

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Litestar) -> AsyncIterator[None]:
        owned = self.runtime is None
        if owned:
            self.runtime = await Runtime.start(self.settings)
        app.state.runtime = self.runtime
        worker_task = None
        if owned and self.runtime.settings.in_process_worker:
            from zentropy.worker.run import run_worker

            worker_task = asyncio.create_task(run_worker(self.runtime, handle_signals=False))
        try:
            yield
        finally:
            if worker_task is not None:
                worker_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker_task
            if owned:
                await self.runtime.close()
                self.runtime = None
                embedded.stop()


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> Litestar:
    settings = runtime.settings if runtime is not None else (settings or get_settings())
    app = Litestar(
        plugins=[ZentropyPlugin(settings, runtime), AuthPlugin()],
        logging_config=None,  # zentropy.logging configures structured logs
        openapi_config=OpenAPIConfig(
            title="Zentropy", version=__version__, path="/schema", render_plugins=[ScalarRenderPlugin()]
        ),
    )
    # Outermost, so that every response (unknown routes included) carries the request id.
    app.asgi_handler = request_id_middleware(app.asgi_handler)
    return app
