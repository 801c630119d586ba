"""A minimal source plugin for tests of the core: its limits and URL are chosen per test."""

from __future__ import annotations

import dataclasses
from typing import Any

from zentropy.hookspecs import hookimpl
from zentropy.plugins import Plugins
from zentropy.settings import Settings
from zentropy.sources import Page, Posting, RateLimit, SearchQuery, SourceInfo
from zentropy.sources.http import SourceHTTP
from zentropy.sources.normalize import normalize_items


def tiny_source(name: str, url: str, limits: tuple[RateLimit, ...] = (), cost: float = 0.0, quota: bool = False):
    """A source class named `name` reading `{url}/jobs` ({"jobs": [{"id", "title"}]})."""

    class Tiny:
        info = SourceInfo(name=name, tier="free", rate_limits=limits, cost_per_call=cost)
        settings = None

        def __init__(self, http: SourceHTTP) -> None:
            self.http = http

        async def search(self, query: SearchQuery, cursor: str | None = None) -> Page:
            data = await self.http.get_json(f"{url}/jobs", params={"q": query.keywords or None})
            postings, skipped = normalize_items(name, data["jobs"], lambda item: Posting(
                source=name, external_id=str(item["id"]), title=item["title"]))
            return Page(postings=postings, skipped=skipped)

    if quota:
        from zentropy.sources import Quota

        async def read_quota(self: Any) -> Quota:
            data = await self.http.get_json(f"{url}/account", billable=False)
            return Quota(remaining=data["left"])

        Tiny.quota = read_quota  # type: ignore[attr-defined]
    return Tiny


def with_sources(runtime: Any, *factories: Any) -> Any:
    """`runtime` with a plugin registry holding only `factories`."""

    class Plugin:
        @hookimpl
        def register_sources(self, register):
            for factory in factories:
                register(factory)

    plugins = Plugins(Settings(plugins="none")).load()
    plugins.register(Plugin(), name="tiny")
    return dataclasses.replace(runtime, plugins=plugins)
