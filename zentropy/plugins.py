"""One plugin manager. Bundled and third-party plugins load alike, from one entry-point group."""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Callable, Iterable
from typing import Any

import msgspec
import pluggy

from zentropy import hookspecs
from zentropy.settings import Settings, is_configured

ENTRY_POINT_GROUP = "zentropy"
log = logging.getLogger(__name__)

KINDS = {
    "register_sources": "source",
    "register_llm_providers": "llm",
    "register_identity_providers": "auth",
    "register_jobs": "jobs",
    "register_cron_jobs": "jobs",
    "register_company_aliases": "dedup",
}


class PluginInfo(msgspec.Struct, kw_only=True):
    name: str
    kinds: list[str]
    distribution: str | None
    version: str | None
    hooks: list[str]
    configured: bool
    error: str | None = None
    warnings: list[str] = []


class Plugins:
    """The loaded plugins, what failed, and calls of registration hooks one plugin at a time."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
        self.pm.add_hookspecs(hookspecs)
        self.failed: dict[str, tuple[importlib.metadata.EntryPoint | None, str]] = {}
        self.dists: dict[str, importlib.metadata.Distribution | None] = {}
        self.warnings: dict[str, list[str]] = {}
        self._registered: dict[str, list[tuple[str, tuple[Any, ...], dict[str, Any]]]] = {}

    # -- loading ---------------------------------------------------------------------------
    def load(self, entry_points: Iterable[importlib.metadata.EntryPoint] | None = None) -> Plugins:
        from zentropy import core_plugin

        self.pm.register(core_plugin, name="core")
        self.dists["core"] = _dist_of("zentropy")
        eps = entry_points if entry_points is not None else importlib.metadata.entry_points(
            group=ENTRY_POINT_GROUP
        )
        allow, block = self.settings.allowlist, set(self.settings.blocklist)
        for ep in eps:
            if ep.name in block or (allow is not None and ep.name not in allow):
                continue
            if self.pm.has_plugin(ep.name):
                continue
            try:
                self.pm.register(ep.load(), name=ep.name)
            except Exception as exc:  # a broken plugin never takes the service down
                self._fail(ep.name, exc, ep)
                continue
            self.dists[ep.name] = ep.dist
        self._report_unknown_hooks()
        self._call_all_hooks()
        return self

    def register(self, plugin: object, name: str) -> None:
        """Register a plugin object directly (tests, embedding applications)."""
        self.pm.register(plugin, name=name)
        self.dists.setdefault(name, None)
        self._report_unknown_hooks()
        self._call_all_hooks()

    def _call_all_hooks(self) -> None:
        """Call every registration hook once now, so a plugin that fails to register shows as failed."""
        self._registered.clear()
        for hook_name, caller in vars(self.pm.hook).items():
            if isinstance(caller, pluggy.HookCaller) and caller.has_spec():
                self.collect(hook_name)

    def _fail(self, name: str, exc: BaseException, ep: importlib.metadata.EntryPoint | None = None) -> None:
        error = f"{type(exc).__name__}: {exc}"
        self.failed[name] = (ep, error)
        log.error("plugin failed", extra={"plugin": name, "error": error})
        if self.pm.has_plugin(name):
            self.pm.unregister(name=name)

    def _report_unknown_hooks(self) -> None:
        for hook_name, caller in vars(self.pm.hook).items():
            if not isinstance(caller, pluggy.HookCaller) or caller.has_spec():
                continue
            for impl in caller.get_hookimpls():
                message = f"hook {hook_name!r} matches no hook specification"
                if message not in self.warnings.setdefault(impl.plugin_name, []):
                    self.warnings[impl.plugin_name].append(message)
                    log.warning("unknown hook", extra={"plugin": impl.plugin_name, "hook": hook_name})

    # -- calling ---------------------------------------------------------------------------
    def collect(self, hook_name: str) -> list[tuple[str, tuple[Any, ...], dict[str, Any]]]:
        """Call registration hook `hook_name` in each plugin; return (plugin, args, kwargs) registered.

        A plugin whose hook raises is marked failed and contributes nothing. Each hook is called
        once; later calls return what was registered then.
        """
        if hook_name in self._registered:
            return [(p, a, dict(k)) for p, a, k in self._registered[hook_name] if p not in self.failed]
        caller: pluggy.HookCaller = getattr(self.pm.hook, hook_name)
        registered: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        for impl in reversed(caller.get_hookimpls()):  # registration order
            if impl.plugin_name in self.failed:
                continue
            mine: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

            def register(*args: Any, _mine: list = mine, _name: str = impl.plugin_name, **kwargs: Any) -> None:
                _mine.append((_name, args, kwargs))

            try:
                impl.function(register=register)
            except Exception as exc:
                self._fail(impl.plugin_name, exc)
                continue
            registered.extend(mine)
        self._registered[hook_name] = registered
        return [(p, a, dict(k)) for p, a, k in registered]

    def objects(self, hook_name: str) -> list[tuple[str, Any]]:
        """(plugin name, object) for hooks whose call pattern is `register(obj)`."""
        return [(plugin, args[0]) for plugin, args, _ in self.collect(hook_name)]

    def settings_classes(self) -> dict[str, list[type]]:
        out: dict[str, list[type]] = {}
        for plugin, cls in self.objects("register_settings"):
            out.setdefault(plugin, []).append(cls)
        return dict(sorted(out.items(), key=lambda item: (item[0] != "core", item[0])))

    # -- reporting -------------------------------------------------------------------------
    def info(self) -> list[PluginInfo]:
        settings = self.settings_classes()
        rows: list[PluginInfo] = []
        for name, plugin in self.pm.list_name_plugin():
            if name is None:
                continue
            hooks = sorted(c.name for c in self.pm.get_hookcallers(plugin) or [])
            dist = self.dists.get(name)
            rows.append(
                PluginInfo(
                    name=name,
                    kinds=sorted({KINDS[h] for h in hooks if h in KINDS}),
                    distribution=dist.metadata["Name"] if dist else None,
                    version=dist.version if dist else None,
                    hooks=hooks,
                    configured=all(is_configured(cls) for cls in settings.get(name, [])),
                    warnings=self.warnings.get(name, []),
                )
            )
        for name, (ep, error) in self.failed.items():
            dist = ep.dist if ep is not None else self.dists.get(name)
            rows.append(
                PluginInfo(
                    name=name, kinds=[], hooks=[], configured=False, error=error,
                    distribution=dist.metadata["Name"] if dist else None,
                    version=dist.version if dist else None,
                )
            )
        return sorted(rows, key=lambda r: (r.name != "core", r.name))


def _dist_of(name: str) -> importlib.metadata.Distribution | None:
    try:
        return importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def load_plugins(settings: Settings | None = None) -> Plugins:
    return Plugins(settings).load()


