"""The tier engine: cache, then free sources, then premium, until the search has what it wants.

    run = SearchRun(query, want=20, plan=plan, allow_premium=True, budget=budget)
    await TierEngine.of(runtime).run(run)      # run.report, run.results

Tier 1 (the cache) counts the fresh catalog matches of the query's fingerprint; when they are
enough, no source is called. Otherwise the free tier's sources, then the premium tier's, each in
the plan's (the user's) order, are read page by page, each page ingested into the catalog, until
the search has `want` results. Premium sources run only when the free tier fell short, the search
allows premium, and the user's premium budget has a call left (else the tier is skipped and the
report says why). A failing source is recorded and skipped. A page identical searches need at the
same time is fetched once (single-flight across processes). `run` may be resumed: it continues
from the report's state (sources done are not called again; a source cut short continues from
its cursor).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from hashlib import blake2b
from typing import Any, Protocol

import msgspec

from zentropy import metrics
from zentropy.catalog import ingest
from zentropy.search.cache import CacheTier, cache_tier
from zentropy.search.priorities import TIERS, Plan
from zentropy.search.query import NormalizedQuery
from zentropy.search.report import CacheReport, SearchReport, SourceReport, TierReport
from zentropy.search.settings import SearchSettings, search_settings
from zentropy.search.singleflight import SingleFlight
from zentropy.sources.contract import SEARCH_FIELDS, SourceError, SourceInfo
from zentropy.sources.normalize import matches
from zentropy.sources.service import SourceService

log = logging.getLogger(__name__)
Event = dict[str, Any]


class Budget(Protocol):
    async def available(self) -> bool: ...
    async def take(self) -> bool: ...
    async def give_back(self) -> None: ...


class PageOutcome(msgspec.Struct, kw_only=True):
    """One source page as the engine uses it; shared with identical searches running at once."""

    ok: bool
    posting_ids: list[int] = []  # catalog postings of the page that match the search, in order
    new: list[bool] = []  # per posting: new to the catalog
    next_cursor: str | None = None
    cost: float = 0.0
    error_code: str | None = None
    error: str | None = None


class _NoBudget(Exception):
    """The user's premium budget is spent: this call is not made (and not shared)."""


async def _ignore(*_: Any) -> None:
    return None


class SearchRun:
    """One search's state as the engine advances it: the report and the results so far."""

    def __init__(self, query: NormalizedQuery, *, want: int, plan: Plan, allow_premium: bool, budget: Budget,
                 report: SearchReport | None = None, results: dict[int, str] | None = None,
                 on_event: Callable[[Event], Awaitable[None]] = _ignore,
                 on_checkpoint: Callable[[SearchRun], Awaitable[None]] = _ignore) -> None:
        self.query, self.want, self.plan = query, want, plan
        self.allow_premium, self.budget = allow_premium, budget
        self.fingerprint = query.fingerprint()
        self.report = report or SearchReport()
        self.results: dict[int, str] = dict(results or {})  # posting id -> the source that found it
        self.on_event, self.on_checkpoint = on_event, on_checkpoint
        self.wrote_catalog = False

    @property
    def enough(self) -> bool:
        return len(self.results) >= self.want

    def add(self, posting_ids: list[int], source: str) -> int:
        added = 0
        for posting_id in posting_ids:
            if posting_id not in self.results:
                self.results[posting_id] = source
                added += 1
        self.report.results = len(self.results)
        return added


class TierEngine:
    def __init__(self, runtime: Any, sources: SourceService, settings: SearchSettings, cache: CacheTier) -> None:
        self.runtime, self.sources, self.settings, self.cache = runtime, sources, settings, cache
        self.flights = SingleFlight(runtime.redis, f"{runtime.settings.queue_name}:search:flight:",
                                    lease_seconds=settings.single_flight_seconds,
                                    keep_seconds=settings.shared_result_seconds)

    @classmethod
    def of(cls, runtime: Any) -> TierEngine:
        """The process's engine, with its one `SourceService` (pooled connections to every source)."""
        if "search.engine" not in runtime.extras:
            sources = runtime.extras.get("search.sources") or SourceService(runtime)
            runtime.extras["search.sources"] = sources
            runtime.extras["search.engine"] = cls(runtime, sources, search_settings(runtime), cache_tier(runtime))
        return runtime.extras["search.engine"]

    async def run(self, run: SearchRun) -> SearchRun:
        if run.report.cache is None:
            await self._cache_tier(run)
        if not run.report.cache.answered:
            for tier in TIERS:
                await self._tier(run, tier)
            await self._remember(run)
        if run.wrote_catalog:
            await self.cache.version.bump()
        await metrics.count(self.runtime.redis, "zentropy_tier_hits", tier=answered_by(run.report))
        return run

    # -- tier 1 -----------------------------------------------------------------------------------
    async def _cache_tier(self, run: SearchRun) -> None:
        answer = await self.cache.lookup(run.fingerprint, run.want)
        premium_possible = bool(run.allow_premium and run.plan.runnable("premium") and await run.budget.available())
        answered = answer.answers(run.want, premium_possible)
        for posting_id, source in zip(answer.posting_ids, answer.sources):
            run.add([posting_id], source)
        run.report.cache = CacheReport(answered=answered, matches=answer.count)
        run.report.tiers = [TierReport(tier=tier, sources=[
            SourceReport(source=p.info.name, cost_unit=p.info.cost_unit,
                         status="skipped" if p.reason else "pending", reason=p.reason)
            for p in run.plan.tiers.get(tier, [])]) for tier in TIERS]
        if answered:
            for tier in run.report.tiers:
                tier.status = "not_needed"
                for source in tier.sources:
                    if source.status == "pending":
                        source.status = "not_needed"
        await run.on_event({"type": "tier", "tier": "cache", "status": "answered" if answered else "partial",
                            "matches": answer.count, "results": len(run.results)})
        await run.on_checkpoint(run)

    # -- tiers 2 and 3 ----------------------------------------------------------------------------
    async def _tier(self, run: SearchRun, tier: str) -> None:
        report = run.report.tier(tier)
        if report.status != "pending":
            return
        pending = [s for s in report.sources if s.status == "pending"]
        if run.enough:
            report.status = "not_needed"
            for source in pending:
                source.status = "not_needed"
        elif not pending:
            report.status, report.reason = "skipped", "no_sources"
        elif tier == "premium" and not run.allow_premium:
            report.status, report.reason = "skipped", "premium_not_allowed"
            for source in pending:
                source.status, source.reason = "skipped", "premium_not_allowed"
        if report.status != "pending":
            await run.on_event({"type": "tier", "tier": tier, "status": report.status, "reason": report.reason})
            await run.on_checkpoint(run)
            return
        await run.on_event({"type": "tier", "tier": tier, "status": "started"})
        infos = {p.info.name: p.info for p in run.plan.tiers[tier]}
        for source in report.sources:
            if source.status != "pending":
                continue
            if run.enough:
                source.status = "not_needed"
                continue
            if source.source not in infos:  # a resumed search: the source is no longer configured
                source.status, source.reason = "skipped", "not_configured"
                continue
            before = len(run.results)
            out_of_budget = await self._source(run, tier, infos[source.source], source)
            report.results += len(run.results) - before
            if out_of_budget:
                report.reason = "premium_quota_exhausted"
                for rest in report.sources:
                    if rest.status == "pending":
                        rest.status, rest.reason = "skipped", "premium_quota_exhausted"
                if not any(s.calls or s.shared_pages for s in report.sources):
                    report.status = "skipped"
                break
        if report.status == "pending":
            report.status = "ran"
        await run.on_event({"type": "tier", "tier": tier, "status": report.status, "reason": report.reason,
                            "results": report.results})
        await run.on_checkpoint(run)

    async def _source(self, run: SearchRun, tier: str, info: SourceInfo, report: SourceReport) -> bool:
        """Read `info`'s pages until the search has enough; True when the premium budget ran out."""
        query = run.query.source_query(self.settings.page_size)
        while not run.enough and report.pages < self.settings.pages_per_source:
            await run.on_event({"type": "source", "tier": tier, "source": info.name, "status": "calling",
                                "page": report.pages + 1})
            try:
                outcome, shared = await self._page(run, tier, info, query, report.cursor)
            except _NoBudget:
                report.status, report.reason = "skipped", "premium_quota_exhausted"
                await self._source_event(run, tier, report)
                return True
            if not outcome.ok:
                report.status, report.error_code, report.error = "failed", outcome.error_code, outcome.error
                await self._source_event(run, tier, report)
                await run.on_checkpoint(run)
                return False
            report.pages += 1
            if shared:
                report.shared_pages += 1
            else:
                report.calls += 1
                report.cost += outcome.cost
                run.report.cost += outcome.cost
                if tier == "premium":
                    run.report.premium_calls += 1
            report.results += len(outcome.posting_ids)
            report.new += sum(outcome.new)
            report.duplicates += len(outcome.posting_ids) - sum(outcome.new)
            report.added += run.add(outcome.posting_ids, info.name)
            report.cursor = outcome.next_cursor
            if outcome.next_cursor is None:
                report.status = "exhausted"
            elif run.enough or report.pages >= self.settings.pages_per_source:
                report.status = "ok"
            await self._source_event(run, tier, report)
            await run.on_checkpoint(run)
            if report.status != "pending":
                return False
        report.status = "ok"
        return False

    async def _source_event(self, run: SearchRun, tier: str, report: SourceReport) -> None:
        event = {"type": "source", "tier": tier, **{k: v for k, v in msgspec.to_builtins(report).items()
                                                     if k != "cursor"}, "total": len(run.results)}
        if report.status == "pending":
            event["status"] = "running"  # a page read, more to come
        await run.on_event(event)

    async def _page(self, run: SearchRun, tier: str, info: SourceInfo, query: Any,
                    cursor: str | None) -> tuple[PageOutcome, bool]:
        cursor_key = blake2b((cursor or "").encode(), digest_size=8).hexdigest()
        key = f"{run.fingerprint}:{query.page_size}:{info.name}:{cursor_key}"

        async def work() -> PageOutcome:
            if tier == "premium" and not await run.budget.take():
                raise _NoBudget
            outcome = await self._call(run, info, query, cursor)
            if tier == "premium" and not outcome.ok:
                await run.budget.give_back()
            return outcome

        return await self.flights.run(key, work, PageOutcome)

    async def _call(self, run: SearchRun, info: SourceInfo, query: Any, cursor: str | None) -> PageOutcome:
        try:
            page = await self.sources.search(info.name, query, cursor)
        except SourceError as exc:
            log.info("source failed; skipped", extra={"source": info.name, "code": exc.code})
            await metrics.count(self.runtime.redis, "zentropy_source_calls", source=info.name, status=exc.code)
            return PageOutcome(ok=False, error_code=exc.code, error=exc.message)
        await metrics.count(self.runtime.redis, "zentropy_source_calls", source=info.name, status="ok")
        try:
            report = await ingest(self.runtime, info, page.postings)
        except Exception:
            log.exception("ingest failed; source skipped", extra={"source": info.name})
            return PageOutcome(ok=False, error_code="ingest_failed", error="The source's postings could not be stored.",
                               cost=info.cost_per_call)
        run.wrote_catalog = True
        placed = {r.external_id: r for r in report.results}
        local = (SEARCH_FIELDS - info.honours) & {"keywords", "location", "country", "remote_only",
                                                  "posted_within_days", "employment_type"}
        ids, new = [], []
        for posting in page.postings:
            result = placed.get(posting.external_id)
            if result is None or result.posting_id in ids or not matches(posting, query, local):
                continue
            ids.append(result.posting_id)
            new.append(result.outcome == "new")
        base = len(run.results)
        await self.cache.record_matches(run.fingerprint, ids, list(range(base, base + len(ids))),
                                        [info.name] * len(ids))
        return PageOutcome(ok=True, posting_ids=ids, new=new, next_cursor=page.next_cursor, cost=info.cost_per_call)

    async def _remember(self, run: SearchRun) -> None:
        """Record the run for the cache tier: which tiers it found out of results."""
        tiers = {t.tier: t for t in run.report.tiers}
        configured = {tier: {s.name for s in self.sources.sources() if s.configured and s.info.tier == tier}
                      for tier in TIERS}

        def exhausted(tier: str) -> bool:
            done = {s.source for s in tiers[tier].sources if s.status == "exhausted"}
            return configured[tier] <= done

        await self.cache.record_run(run.fingerprint, free_exhausted=exhausted("free"),
                                    premium_exhausted=exhausted("premium"), results=len(run.results))


def answered_by(report: SearchReport) -> str:
    """The tier that completed the search: `cache`, `free`, `premium`, or `none` (no source had results)."""
    if report.cache is not None and report.cache.answered:
        return "cache"
    for tier in reversed(report.tiers):
        if any(source.results for source in tier.sources):
            return tier.tier
    return "none"
