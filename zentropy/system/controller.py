from __future__ import annotations

from litestar.di import NamedDependency
from litestar import Controller, get

from zentropy.plugins import PluginInfo
from zentropy.runtime import Runtime


class PluginsController(Controller):
    path = "/api/v1/plugins"
    tags = ["system"]

    @get("/", summary="Loaded and failed plugins")
    async def list_plugins(self, runtime: NamedDependency[Runtime]) -> list[PluginInfo]:
        return runtime.plugins.info()
