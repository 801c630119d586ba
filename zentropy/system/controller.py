from __future__ import annotations

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from prometheus_client import CONTENT_TYPE_LATEST

from zentropy import metrics

from zentropy.plugins import PluginInfo
from zentropy.runtime import Runtime


class PluginsController(Controller):
    path = "/api/v1/plugins"
    tags = ["system"]

    @get("/", summary="Loaded and failed plugins")
    async def list_plugins(self, runtime: NamedDependency[Runtime]) -> list[PluginInfo]:
        return runtime.plugins.info()


class MetricsController(Controller):
    path = "/metrics"
    tags = ["system"]
    include_in_schema = False

    @get("/", summary="Prometheus metrics")
    async def metrics(self, runtime: NamedDependency[Runtime]) -> Response[bytes]:
        return Response(await metrics.render(runtime.redis), media_type=CONTENT_TYPE_LATEST)
