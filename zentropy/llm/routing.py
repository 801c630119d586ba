"""Task routing: which provider and model(s) serve a task, and why an entry of a route is skipped."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import msgspec

from zentropy.llm.contract import CallContext, ProviderInfo
from zentropy.llm.settings import LLMSettings, ModelRef, Task
from zentropy.plugins import Plugins

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attempt:
    """One entry of a route, ready to call: a provider, its model(s), and for whom."""

    provider: Any
    models: list[str]
    ctx: CallContext
    byok: bool
    user_id: uuid.UUID | None
    task: Task

    @property
    def info(self) -> ProviderInfo:
        return self.provider.info


class RouteEntry(msgspec.Struct, frozen=True, kw_only=True):
    ref: str
    available: bool
    reason: str = ""


class ProviderStatus(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    plugin: str
    configured: bool
    capabilities: list[str]
    accepts_user_keys: bool
    local: bool
    detail: str = ""


class LLMStatus(msgspec.Struct, frozen=True, kw_only=True):
    providers: list[ProviderStatus]
    routes: dict[str, list[RouteEntry]]
    in_use: dict[str, str | None]  # task -> the first available entry, for calls without a user key


TASK_CAPABILITIES: dict[str, frozenset[str]] = {
    "extraction": frozenset({"structured", "extract"}),
    "embedding": frozenset({"embed"}),
    "scoring": frozenset({"chat"}),
    "generation": frozenset({"chat"}),
}


def providers_from(plugins: Plugins) -> tuple[dict[str, Any], dict[str, str]]:
    """(provider name -> provider, provider name -> plugin) registered through the LLM hook."""
    providers: dict[str, Any] = {}
    plugin_of: dict[str, str] = {}
    for plugin, provider in plugins.objects("register_llm_providers"):
        name = provider.info.name
        if name in providers:
            log.warning("duplicate LLM provider ignored", extra={"provider": name, "plugin": plugin})
            continue
        providers[name] = provider
        plugin_of[name] = plugin
    return providers, plugin_of


class Router:
    """Which provider and model(s) serve a task, for calls with or without a user's own key."""

    def __init__(self, settings: LLMSettings, providers: dict[str, Any], plugin_of: dict[str, str] | None = None,
                 ) -> None:
        self.settings = settings
        self.providers = providers
        self.plugin_of = plugin_of or {name: name for name in providers}

    def entries(self, task: Task, has_user_key: bool = False) -> Iterable[tuple[ModelRef, Any, bool, str]]:
        """(ref, provider or None, byok, why it is skipped, or "")."""
        wanted = TASK_CAPABILITIES[task]
        for ref in self.settings.route(task):
            provider = self.providers.get(ref.provider)
            if provider is None:
                yield ref, None, False, "no such provider loaded"
                continue
            info: ProviderInfo = provider.info
            byok = has_user_key and info.accepts_user_keys
            if not wanted & info.capabilities:
                reason = f"cannot do {task}" + (f" ({info.detail})" if info.local and info.detail else "")
            elif has_user_key and not byok and not info.local:
                reason = "the user's own key is used instead"
            elif not (info.configured or byok):
                reason = "not configured"
            else:
                reason = ""
            yield ref, provider, byok, reason

    def plan(self, task: Task, ctx: CallContext, user_id: uuid.UUID | None = None) -> list[Attempt]:
        attempts: list[Attempt] = []
        for ref, provider, byok, reason in self.entries(task, ctx.api_key is not None):
            if reason:
                continue
            last = attempts[-1] if attempts else None
            if last is not None and last.provider is provider and provider.info.server_fallback:
                last.models.append(ref.model)  # one request; the provider falls back on its side
                continue
            attempts.append(Attempt(provider=provider, models=[ref.model], ctx=ctx, byok=byok, user_id=user_id,
                                    task=task))
        return attempts

    def status(self) -> LLMStatus:
        providers = [
            ProviderStatus(name=name, plugin=self.plugin_of.get(name, name), configured=p.info.configured,
                           capabilities=sorted(p.info.capabilities), accepts_user_keys=p.info.accepts_user_keys,
                           local=p.info.local, detail=p.info.detail)
            for name, p in sorted(self.providers.items())
        ]
        routes: dict[str, list[RouteEntry]] = {}
        in_use: dict[str, str | None] = {}
        for task in TASK_CAPABILITIES:
            entries = [RouteEntry(ref=str(ref), available=not reason, reason=reason)
                       for ref, _, _, reason in self.entries(task)]  # type: ignore[arg-type]
            routes[task] = entries
            in_use[task] = next((e.ref for e in entries if e.available), None)
        return LLMStatus(providers=providers, routes=routes, in_use=in_use)
