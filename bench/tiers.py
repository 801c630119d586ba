"""Tier economics: a simulated month of overlapping saved searches from 1,000 users, run through
the real tier engine (cache tier, free then premium tiers, single-flight, ingest into the catalog),
with three simulated sources in place of the job APIs, next to the baseline of calling every
source every time.

- Queries: users save 1 to 3 searches each, drawn from a pool with Zipf popularity (a few popular
  searches many users share, a long tail of rare ones). Each saved search runs every 24 hours at
  its own time of day, for 30 days; `want` is 20.
- Sources: two free ones and a premium one. A query has a number of matching postings at each
  source (log-normal across queries: many have plenty, some few), growing every day; a source
  answers newest first, 20 a page.
- The engine's clock for the freshness window is the simulated one; each user's premium budget is
  the default 100 calls a month.

Coverage compares what the engine returned with what calling every source (first page) at every
run would have returned: pooled over all feeds (every result of every run of a saved search, over
the month), as the mean of each saved search's feed, and as the mean of each run on its own; and the
share of runs that got their `want` results, either way.

`python -m bench tiers --tiers-users N --tiers-days D` runs a smaller month (the default, 1,000 users
for 30 days, takes ~10 minutes on 2 busy cores; runs scale with users × days). Only the default run
should write docs/benchmarks.md: add `--no-write` to a smaller one. The run's throw-away database
commits asynchronously (`synchronous_commit = off`): the same reads, writes and figures (up to the
usual run-to-run jitter of concurrent single-flights), without waiting for the disk at each of the
engine's commits (the default run took 607 s, against 1,405 s with synchronous commits at a
similar load).
"""

from __future__ import annotations

import asyncio
import math
import random
import time
import uuid
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
from redis.asyncio import Redis

from bench.db import APP_PASSWORD, APP_USER, BENCH_DATA, bench_database, postgres_version
from bench.machine import describe
from zentropy import embedded
from zentropy.db import Database
from zentropy.hookspecs import hookimpl
from zentropy.plugins import Plugins
from zentropy.runtime import Runtime, service_database_url
from zentropy.search.engine import SearchRun, TierEngine, answered_by
from zentropy.search.priorities import ordered, plan_for
from zentropy.search.query import SearchIn, normalize
from zentropy.search.settings import SearchSettings
from zentropy.settings import Settings
from zentropy.sources import Page, Posting, SearchQuery, SourceInfo
from zentropy.sources.service import SourceService
from zentropy.sources.settings import HttpPolicy

START = datetime(2026, 10, 1, tzinfo=timezone.utc)
PAGE = 20
WANT = 20
ROLES = ["engineer", "analyst", "designer", "manager", "developer", "scientist", "writer", "architect"]
SHARE = {"board": 0.55, "aggregator": 0.35, "google": 1.2}  # of a query's size, per source


class World:
    """Every source's postings for every query, at any simulated time."""

    def __init__(self, queries: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.size = np.maximum(0, rng.lognormal(math.log(25), 1.0, size=queries)).astype(float)
        self.growth = self.size * 0.05  # new postings a day
        self.now = START

    def count(self, source: str, q: int, at: datetime | None = None) -> int:
        days = ((at or self.now) - START).total_seconds() / 86_400
        return int(SHARE[source] * (self.size[q] + self.growth[q] * days))

    def newest(self, source: str, q: int, offset: int, n: int, at: datetime | None = None) -> list[int]:
        total = self.count(source, q, at)
        return list(range(total - 1 - offset, max(-1, total - 1 - offset - n), -1))


def sim_source(name: str, tier: str, cost: float, world: World, calls: dict) -> Any:
    class Simulated:
        info = SourceInfo(name=name, tier=tier, cost_per_call=cost, honours=frozenset({"keywords"}))
        settings = None

        def __init__(self, http: Any) -> None:
            self.http = http

        async def search(self, query: SearchQuery, cursor: str | None = None) -> Page:
            calls[name] += 1
            q = int(query.keywords.split()[0].removeprefix("topic"))
            offset = int(cursor or 0)
            ids = world.newest(name, q, offset, PAGE)
            postings = [Posting(
                source=name, external_id=f"{q}:{k}", title=f"{ROLES[k % len(ROLES)].title()} topic{q} {name} {k}",
                company=f"{name.title()} Employer {q}-{k}", locations=["Berlin"],
                apply_url=f"https://jobs.example/{name}/{q}/{k}",
                description_text=f"Posting {k} of {name} for topic {q}: " + " ".join(
                    f"w{(q * 7919 + k * 104729 + i * 31) % 5000}" for i in range(40)),
            ) for k in ids]
            more = offset + PAGE < world.count(name, q)
            return Page(postings=postings, next_cursor=str(offset + PAGE) if more else None)

    return Simulated


class Budget:
    """A user's premium budget: 100 calls a month (the default)."""

    def __init__(self, limit: int = 100) -> None:
        self.left = limit

    async def available(self) -> bool:
        return self.left > 0

    async def take(self) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        return True

    async def give_back(self) -> None:
        self.left += 1


async def _async_commit(owner_url: str) -> None:
    """`synchronous_commit = off` for this run's (throw-away) database: a commit returns before its
    WAL reaches the disk. What the engine reads and writes is the same; only the waits go."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    from zentropy.db.urls import async_url

    engine = create_async_engine(async_url(owner_url), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'ALTER DATABASE "{make_url(owner_url).database}" SET synchronous_commit = off'))
    finally:
        await engine.dispose()


async def main(users: int, days: int, queries: int, freshness_hours: float, seed: int,
               async_commit: bool = True) -> str:
    rng = random.Random(seed)
    world = World(queries, seed)
    calls: dict[str, int] = defaultdict(int)
    redis_url = embedded.start_redis(BENCH_DATA)
    async with bench_database() as (owner_url, _):
        if async_commit:
            await _async_commit(owner_url)
        settings = Settings(database_url=owner_url, database_app_user=APP_USER, database_app_password=APP_PASSWORD,
                            redis_url=redis_url, plugins="", queue_name=f"zentropy-bench-{uuid.uuid4().hex[:8]}")

        class Plugin:
            @hookimpl
            def register_sources(self, register):
                register(sim_source("board", "free", 0.0, world, calls))
                register(sim_source("aggregator", "free", 0.0, world, calls))
                register(sim_source("google", "premium", 1.0, world, calls))

        plugins = Plugins(settings).load(entry_points=[])
        plugins.register(Plugin(), name="simulated")
        runtime = Runtime(settings=settings, plugins=plugins, db=Database(service_database_url(settings)),
                          redis=Redis.from_url(redis_url), queue=None)  # type: ignore[arg-type]
        runtime.extras["search.settings"] = SearchSettings(freshness_hours=freshness_hours, shared_result_seconds=0.001)
        runtime.extras["search.sources"] = SourceService(runtime, policy=HttpPolicy(), key_prefix=settings.queue_name)
        engine = TierEngine.of(runtime)
        engine.cache.clock = lambda: world.now
        states = engine.sources.sources()
        plan = plan_for(states, ordered(states, {}))
        try:
            result = await simulate(engine, plan, world, rng, users, days, queries, calls)
        finally:
            await runtime.extras["search.sources"].aclose()
            await runtime.redis.aclose()
            await runtime.db.dispose()
        version = await postgres_version(owner_url)
    return render(result, users, days, queries, freshness_hours, version)


async def simulate(engine: TierEngine, plan: Any, world: World, rng: random.Random, users: int, days: int,
                   queries: int, calls: dict) -> dict:
    weights = [1 / (r + 1) ** 1.1 for r in range(queries)]
    saved = []  # (user, query, minute of the day)
    for user in range(users):
        for q in set(rng.choices(range(queries), weights=weights, k=rng.randint(1, 3))):
            saved.append((user, q, rng.randrange(24 * 60)))
    events = sorted(((day * 1440 + minute, user, q) for day in range(days) for user, q, minute in saved))
    budgets = defaultdict(Budget)
    feeds: dict[tuple[int, int], set] = defaultdict(set)
    baseline_feeds: dict[tuple[int, int], set] = defaultdict(set)
    per_run: list[tuple[int, datetime, tuple[int, ...]]] = []  # (query, when, the run's results)
    tiers = defaultdict(int)
    short = baseline_short = 0
    started = time.perf_counter()
    slot = 10  # minutes: runs in one slot go at once
    by_slot: dict[int, list] = defaultdict(list)
    for minute, user, q in events:
        by_slot[minute // slot].append((user, q))
    for index, (slot_number, runs) in enumerate(sorted(by_slot.items())):
        world.now = START + timedelta(minutes=slot_number * slot)

        async def one(user: int, q: int) -> SearchRun:
            run = SearchRun(normalize(SearchIn(keywords=f"topic{q}")), want=WANT, plan=plan, allow_premium=True,
                            budget=budgets[user])
            return await engine.run(run)

        done = await asyncio.gather(*(one(user, q) for user, q in runs))
        for (user, q), run in zip(runs, done):
            tiers[answered_by(run.report)] += 1
            feeds[(user, q)].update(run.results)
            per_run.append((q, world.now, tuple(run.results)))
            short += len(run.results) < WANT
            every = [(s, k) for s in SHARE for k in world.newest(s, q, 0, PAGE)]
            baseline_feeds[(user, q)].update(every)
            baseline_short += len(every) < WANT
        if index % 500 == 0:
            print(f"   day {(world.now - START).days + 1}: {sum(tiers.values()):,} runs "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
    # map catalog posting ids back to (source, index) to compare feeds
    ids = {pid for feed in feeds.values() for pid in feed}
    async with engine.runtime.db.session() as session:
        from sqlalchemy import text

        rows = await session.execute(text("SELECT posting_id, source, external_id FROM posting_sources "
                                          "WHERE posting_id = ANY(CAST(:ids AS bigint[]))"), {"ids": sorted(ids)})
        listing = defaultdict(set)
        for posting_id, source, external_id in rows:
            listing[posting_id].add((source, int(external_id.split(":")[1])))
    covered = total = 0
    per_search = []  # each saved search's feed coverage
    for key, baseline in baseline_feeds.items():
        got = {item for pid in feeds[key] for item in listing[pid]}
        covered += len(baseline & got)
        total += len(baseline)
        if baseline:
            per_search.append(len(baseline & got) / len(baseline))
    # each run on its own: the share of every source's first pages at that moment that the run returned
    per_run_coverage = []
    for q, at, results in per_run:
        every = [(source, k) for source in SHARE for k in world.newest(source, q, 0, PAGE, at)]
        if every:
            got = {item for pid in results for item in listing[pid]}
            per_run_coverage.append(len(got.intersection(every)) / len(every))
    runs = len(events)
    return {"runs": runs, "saved": len(saved), "tiers": dict(tiers), "calls": dict(calls),
            "baseline_calls": {s: runs for s in SHARE}, "short": short, "baseline_short": baseline_short,
            "coverage": covered / total if total else 1.0, "seconds": time.perf_counter() - started,
            "distinct": len({q for _, q, _ in saved}),
            "search_coverage": float(np.mean(per_search)) if per_search else 1.0,
            "run_coverage": float(np.mean(per_run_coverage)) if per_run_coverage else 1.0}


def render(r: dict, users: int, days: int, queries: int, freshness: float, version: str) -> str:
    free = r["calls"].get("board", 0) + r["calls"].get("aggregator", 0)
    premium = r["calls"].get("google", 0)
    base_free = r["baseline_calls"]["board"] + r["baseline_calls"]["aggregator"]
    base_premium = r["baseline_calls"]["google"]
    runs = r["runs"]
    t = r["tiers"]
    lines = [
        "## Tier economics",
        "",
        f"Machine: {describe(version)}.",
        "",
        f"{users:,} users, {r['saved']:,} saved searches over {r['distinct']} distinct queries (of {queries}), "
        f"each run every 24 h for {days} days: {runs:,} runs through the real engine "
        f"({r['seconds']:.0f} s), freshness window {freshness:g} h, want {WANT}.",
        "",
        "| | runs answered by cache | by free tier | by premium | free-source calls | premium calls | "
        "runs short of 20 results |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| tier engine | {t.get('cache', 0):,} ({t.get('cache', 0) / runs:.0%}) | {t.get('free', 0):,} | "
        f"{t.get('premium', 0):,} | {free:,} | {premium:,} | {r['short']:,} |",
        f"| every source every time | - | - | - | {base_free:,} | {base_premium:,} | {r['baseline_short']:,} |",
        "",
        f"Premium calls avoided: {1 - premium / base_premium:.1%} ({base_premium - premium:,} of {base_premium:,}); "
        f"free-source calls avoided: {1 - free / base_free:.1%}. Source calls per run: "
        f"{(free + premium) / runs:.2f} against {(base_free + base_premium) / runs:.0f}.",
        "",
        f"Runs that got their {WANT} results: {1 - r['short'] / runs:.1%} with the tier engine, "
        f"{1 - r['baseline_short'] / runs:.1%} calling every source (first page) every time; runs short of "
        f"{WANT} are those where no tier had more (or the user's premium budget was spent).",
        "",
        "| coverage of what calling every source (first page) at every run would have returned | |",
        "|---|---:|",
        f"| pooled: all saved searches' feeds over the {days} days, each posting once per feed | "
        f"{r['coverage']:.1%} |",
        f"| mean per saved search (its feed over the {days} days) | {r['search_coverage']:.1%} |",
        f"| mean per run (what that run returned, of every source's first pages at that moment) | "
        f"{r['run_coverage']:.1%} |",
        "",
        f"The engine stops at {WANT} results where calling every source returns up to {PAGE * len(SHARE)}, so it "
        "trades the rest of each source's long tail for the calls it saves.",
        f"Runs by tier that completed them: cache {t.get('cache', 0):,}, free {t.get('free', 0):,}, premium "
        f"{t.get('premium', 0):,}, none (no results anywhere) {t.get('none', 0):,}.",
    ]
    return "\n".join(lines)


def run(users: int = 1000, days: int = 30, queries: int = 400, freshness_hours: float = 6.0, seed: int = 11,
        async_commit: bool = True) -> str:
    return asyncio.run(main(users, days, queries, freshness_hours, seed, async_commit))
