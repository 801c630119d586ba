"""`SourceService`: how the rest of Zentropy calls a job source (the tier engine, the CLI).

    async with SourceService(runtime) as sources:
        for state in sources.sources(): ...            # SourceInfo + configured, for each source
        page = await sources.search("adzuna", SearchQuery(keywords="python"), cursor=None)
        posting = await sources.fetch("greenhouse", "stripe:8172510")

Every failure is a `SourceError` with a stable `code`; every call is written to the ledger.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec

from zentropy.settings import SettingsError, env_names, read_settings, secret_fields
from zentropy.sources.contract import (
    Page,
    Posting,
    Quota,
    SearchQuery,
    Source,
    SourceError,
    SourceInfo,
)
from zentropy.sources.guard import Guard
from zentropy.sources.http import SourceHTTP, track
from zentropy.sources.ledger import LedgerEntry, record
from zentropy.sources.settings import HttpPolicy, sources_settings

log = logging.getLogger(__name__)


class SourceState(msgspec.Struct, kw_only=True):
    name: str
    plugin: str
    info: SourceInfo
    configured: bool
    problem: str | None = None  # why it is not configured: the setting to fix


@dataclass
class _Registered:
    plugin: str
    factory: Any


def registered_sources(plugins: Any) -> dict[str, _Registered]:
    """The source factories plugins registered, by name (a malformed or duplicate one is logged)."""
    registered: dict[str, _Registered] = {}
    for plugin, factory in plugins.objects("register_sources"):
        info = getattr(factory, "info", None)
        if not isinstance(info, SourceInfo) or not callable(factory):
            log.error("source registration ignored: not a source factory", extra={"plugin": plugin})
            continue
        if info.name in registered:
            log.error("source registration ignored: duplicate name", extra={"plugin": plugin, "source": info.name})
            continue
        registered[info.name] = _Registered(plugin, factory)
    return registered


def source_states(plugins: Any) -> list[SourceState]:
    """Each registered source with its configured state (no connection needed)."""
    return [_state(name, entry) for name, entry in sorted(registered_sources(plugins).items())]


def _state(name: str, entry: _Registered) -> SourceState:
    problem = _problem(entry.factory)
    return SourceState(name=name, plugin=entry.plugin, info=entry.factory.info, configured=problem is None,
                       problem=problem)


def _problem(factory: Any) -> str | None:
    settings = getattr(factory, "settings", None)
    if settings is None:
        return None
    try:
        read_settings(settings)
    except SettingsError as exc:
        return str(exc)
    return None


RUNTIME_KEY = "search.sources"  # the process's SourceService, in `runtime.extras` (tier engine, postings)


async def close_sources(runtime: Any) -> None:
    """Close the process's `SourceService` (its pooled HTTP clients), if one was made: `Runtime.close`
    calls it, so the API (app lifespan) and the worker (`zentropy worker`) both do at shutdown. Used
    again, it opens new ones."""
    service = runtime.extras.get(RUNTIME_KEY)
    if service is not None:
        await service.aclose()


class SourceService:
    """The registered sources, built on first use, each with its own pooled `SourceHTTP`."""

    def __init__(self, runtime: Any, *, policy: HttpPolicy | None = None, key_prefix: str | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.runtime = runtime
        defaults = sources_settings() if policy is None or key_prefix is None else None
        self.policy = policy or defaults.policy()  # type: ignore[union-attr]
        self.key_prefix = key_prefix or defaults.key_prefix  # type: ignore[union-attr]
        self._transport = transport
        self._registered = registered_sources(runtime.plugins)
        self._built: dict[str, tuple[Source, SourceHTTP]] = {}

    async def __aenter__(self) -> SourceService:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every source's HTTP client (one failing to close does not keep the others open)."""
        built, self._built = self._built, {}
        for name, (_, http) in built.items():
            try:
                await http.aclose()
            except Exception:
                log.warning("closing a source's HTTP client failed", extra={"source": name}, exc_info=True)

    # -- what there is -----------------------------------------------------------------------
    def names(self) -> list[str]:
        return sorted(self._registered)

    def info(self, name: str) -> SourceInfo:
        return self._entry(name).factory.info

    def sources(self) -> list[SourceState]:
        return [self.state(name) for name in self.names()]

    def state(self, name: str) -> SourceState:
        return _state(name, self._entry(name))

    # -- calls -------------------------------------------------------------------------------
    async def search(self, name: str, query: SearchQuery, cursor: str | None = None) -> Page:
        entry = LedgerEntry(source=name, operation="search", query=msgspec.to_builtins(query), cursor=cursor)
        started = time.monotonic()
        reserved = 0.0
        with track() as stats:
            try:
                source, http = self._source(name)
                reserved = await self._spend_budget(name, source, http)
                page = await source.search(query, cursor)
                if not isinstance(page, Page):
                    raise TypeError(f"search returned {type(page).__name__}, not a Page")
                for posting in page.postings:
                    posting.source = name
            except BaseException as exc:
                error = self._as_source_error(name, exc)
                if reserved and stats.cost == 0:
                    await self._guard(name).refund_budget(reserved)
                await self._record(entry, started, stats, error)
                if error is exc:
                    raise
                raise error from None
        entry.items, entry.skipped = len(page.postings), page.skipped
        await self._record(entry, started, stats, None)
        return page

    async def fetch(self, name: str, external_id: str) -> Posting | None:
        """The posting's current content, or None when the source no longer has it."""
        entry = LedgerEntry(source=name, operation="fetch", query={"external_id": external_id})
        started = time.monotonic()
        with track() as stats:
            try:
                source, _ = self._source(name)
                fetch = getattr(source, "fetch", None)
                if not self.info(name).supports_fetch or fetch is None:
                    raise SourceError(name, "unsupported_query", "this source cannot fetch a single posting")
                posting = await fetch(external_id)
                if posting is not None:
                    posting.source = name
            except BaseException as exc:
                error = self._as_source_error(name, exc)
                if error.code == "not_found":
                    posting = None
                else:
                    await self._record(entry, started, stats, error)
                    if error is exc:
                        raise
                    raise error from None
        entry.items = int(posting is not None)
        await self._record(entry, started, stats, None)
        return posting

    async def quota(self, name: str) -> Quota | None:
        """What the provider says the account has left (None: the source reports no quota)."""
        source, http = self._source(name)
        return await self._read_quota(name, source)

    # -- internals ---------------------------------------------------------------------------
    def _entry(self, name: str) -> _Registered:
        try:
            return self._registered[name]
        except KeyError:
            known = ", ".join(self.names()) or "none"
            raise SourceError(name, "unknown_source", f"no source named {name!r} (registered: {known})") from None

    def _guard(self, name: str) -> Guard:
        if name in self._built:
            return self._built[name][1].guard
        info = self.info(name)
        return Guard(self.runtime.redis, self.key_prefix, name, info.rate_limits, self.policy)

    def _source(self, name: str) -> tuple[Source, SourceHTTP]:
        if name in self._built:
            return self._built[name]
        entry = self._entry(name)
        problem = _problem(entry.factory)
        if problem is not None:
            raise SourceError(name, "not_configured", f"not configured: {problem}")
        info: SourceInfo = entry.factory.info
        http = SourceHTTP(info, redis=self.runtime.redis, guard=self._guard(name), policy=self.policy,
                          key_prefix=self.key_prefix, credentials=self._credentials(entry.factory),
                          transport=self._transport)
        try:
            source = entry.factory(http)
        except SettingsError as exc:
            raise SourceError(name, "not_configured", f"not configured: {exc}") from None
        self._built[name] = (source, http)
        return source, http

    @staticmethod
    def _credentials(factory: Any) -> tuple[str, ...]:
        declared = getattr(factory, "credentials", None)
        if declared:
            return tuple(declared)
        settings = getattr(factory, "settings", None)
        if settings is None:
            return ()
        names = env_names(settings)
        return tuple(names[field] for field in sorted(secret_fields(settings)))

    async def _spend_budget(self, name: str, source: Source, http: SourceHTTP) -> float:
        """Take one search's cost from the provider-credit budget all processes share (if any)."""
        cost = http.info.cost_per_call
        if not hasattr(source, "quota") or cost <= 0:
            return 0.0
        if await http.guard.take_budget(cost):
            return cost
        try:
            quota = await self._read_quota(name, source)
        except SourceError as exc:
            if exc.code in ("auth_failed", "payment_required"):
                raise
            log.warning("source quota unreadable; calling without a budget", extra={"source": name, "code": exc.code})
            return 0.0
        if quota is None:
            return 0.0
        if not await http.guard.take_budget(cost):
            return 0.0
        return cost

    async def _read_quota(self, name: str, source: Source) -> Quota | None:
        read = getattr(source, "quota", None)
        if read is None:
            return None
        entry = LedgerEntry(source=name, operation="quota", query={})
        started = time.monotonic()
        with track() as stats:
            try:
                quota = await read()
            except BaseException as exc:
                error = self._as_source_error(name, exc)
                await self._record(entry, started, stats, error)
                if error is exc:
                    raise
                raise error from None
        await self._record(entry, started, stats, None)
        if quota is not None:
            await self._guard(name).set_budget(quota.remaining)
        return quota

    @staticmethod
    def _as_source_error(name: str, exc: BaseException) -> SourceError:
        if isinstance(exc, SourceError):
            return exc
        if not isinstance(exc, Exception):  # cancellation and the like: not ours to translate
            raise exc
        log.exception("source failed to read an answer", extra={"source": name})
        return SourceError(name, "bad_response", f"could not read the provider's answer ({type(exc).__name__})")

    async def _record(self, entry: LedgerEntry, started: float, stats: Any, error: SourceError | None) -> None:
        if error is not None and error.code == "unknown_source":
            return  # no source was involved
        entry.requests, entry.cost = stats.requests, stats.cost
        entry.latency_ms = int((time.monotonic() - started) * 1000)
        if error is not None:
            entry.status, entry.error_code = "error", error.code
        await record(self.runtime.db, entry)
