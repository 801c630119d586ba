"""Tier 1, the cache: the catalog answers a search when sources returned enough postings for the
same normalized query (its fingerprint) within the freshness window.

Which postings sources returned for which fingerprint, and when, is kept in two shared tables
(`query_matches`, `query_runs`; no user data). In front of them each process keeps a small
in-memory cache of hot answers — the encoded result list, ready to send — so a hot query costs no
database or Redis round trip. An in-memory answer is dropped when the catalog version (a Redis
counter the engine bumps after writing to the catalog, read at most every
`version_check_seconds`) moves, when it is `hot_cache_seconds` old, when its oldest match leaves
the freshness window, or when a result's content expires (its `content_status` would change).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from datetime import datetime, timedelta, timezone
from typing import Any

import msgspec
from sqlalchemy import text

from zentropy.search.results import SELECT_POSTING, JobSummary, summary
from zentropy.search.settings import SearchSettings, search_settings


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class CacheAnswer(msgspec.Struct, kw_only=True):
    """Fresh matches of a fingerprint, at most `want`; `body` is `items` encoded as JSON."""

    posting_ids: list[int]
    sources: list[str]
    body: bytes
    free_exhausted: bool = False  # a fresh run found every free source out of results
    premium_exhausted: bool = False
    deadline: float = 0.0  # wall-clock time after which this answer must be read again

    @property
    def count(self) -> int:
        return len(self.posting_ids)

    def answers(self, want: int, premium_possible: bool) -> bool:
        """Whether this answers a search for `want` results: it has them, or a fresh run showed the
        sources the search could use have no more."""
        if self.count >= want:
            return True
        return self.free_exhausted and (self.premium_exhausted or not premium_possible)


class CatalogVersion:
    """A counter in Redis that moves whenever the engine changed the catalog; each process reads it
    at most every `check_seconds` (and knows at once of its own bumps)."""

    def __init__(self, redis: Any, key: str, check_seconds: float) -> None:
        self.redis, self.key, self.check_seconds = redis, key, check_seconds
        self.value = -1
        self.checked = 0.0

    async def current(self) -> int:
        now = time.monotonic()
        if now - self.checked >= self.check_seconds:
            self.checked = now
            raw = await self.redis.get(self.key)
            self.value = int(raw or 0)
        return self.value

    async def bump(self) -> None:
        self.value = int(await self.redis.incr(self.key))
        self.checked = time.monotonic()


class HotCache:
    """A bounded LRU of cache answers by (fingerprint, want), each valid for one catalog version."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[tuple[str, int], tuple[int, CacheAnswer]] = OrderedDict()

    def get(self, key: tuple[str, int], version: int, now: float) -> CacheAnswer | None:
        entry = self.entries.get(key)
        if entry is None:
            return None
        if entry[0] != version or entry[1].deadline <= now:
            del self.entries[key]
            return None
        self.entries.move_to_end(key)
        return entry[1]

    def put(self, key: tuple[str, int], version: int, answer: CacheAnswer) -> None:
        if self.size <= 0:
            return
        self.entries[key] = (version, answer)
        self.entries.move_to_end(key)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)

    def clear(self) -> None:
        self.entries.clear()


MATCHES_SQL = text(f"""
    SELECT {SELECT_POSTING}, m.source AS found_by, m.matched_at
    FROM query_matches m JOIN postings p ON p.id = m.posting_id
    WHERE m.fingerprint = :fingerprint AND m.matched_at >= :since
    ORDER BY m.rank, m.posting_id
    LIMIT :want
""")
RUN_SQL = text("SELECT free_exhausted, premium_exhausted FROM query_runs "
               "WHERE fingerprint = :fingerprint AND ran_at >= :since")
# The cache tier's memory is rebuilt by the next search if a crash loses its last moment: its
# writes do not wait for the disk.
ASYNC_COMMIT = "async_commit AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true))"
RECORD_MATCHES_SQL = text(f"""
    WITH {ASYNC_COMMIT}
    INSERT INTO query_matches (fingerprint, posting_id, rank, source, matched_at)
    SELECT :fingerprint, m.posting_id, m.rank, m.source, :now
    FROM unnest(CAST(:ids AS bigint[]), CAST(:ranks AS integer[]), CAST(:sources AS text[]))
         AS m(posting_id, rank, source),
         async_commit
    ON CONFLICT (fingerprint, posting_id) DO UPDATE
    SET matched_at = excluded.matched_at, rank = LEAST(query_matches.rank, excluded.rank)
""")
RECORD_RUN_SQL = text(f"""
    WITH {ASYNC_COMMIT}
    INSERT INTO query_runs (fingerprint, ran_at, free_exhausted, premium_exhausted, results)
    SELECT :fingerprint, :now, :free_exhausted, :premium_exhausted, :results FROM async_commit
    ON CONFLICT (fingerprint) DO UPDATE
    SET ran_at = excluded.ran_at, free_exhausted = excluded.free_exhausted,
        premium_exhausted = excluded.premium_exhausted, results = excluded.results
""")
PRUNE_SQL = (text("DELETE FROM query_matches WHERE matched_at < :before"),
             text("DELETE FROM query_runs WHERE ran_at < :before"))


class CacheTier:
    def __init__(self, runtime: Any, settings: SearchSettings) -> None:
        self.runtime = runtime
        self.settings = settings
        self.window = timedelta(hours=settings.freshness_hours)
        self.version = CatalogVersion(runtime.redis, f"{runtime.settings.queue_name}:search:catalog-version",
                                      settings.version_check_seconds)
        self.hot = HotCache(settings.hot_cache_size)
        self.public_url = runtime.settings.public_url
        self.clock = _utcnow  # what "now" is for freshness (a simulation sets its own)

    async def lookup(self, fingerprint: str, want: int) -> CacheAnswer:
        """The fresh matches of `fingerprint` (at most `want`), from memory when it is hot."""
        known = self.version
        if time.monotonic() - known.checked < known.check_seconds:
            version = known.value  # read lately: no await, no Redis
        else:
            version = await known.current()
        key = (fingerprint, want)
        answer = self.hot.get(key, version, time.time() if self.clock is _utcnow else self.clock().timestamp())
        if answer is not None:
            return answer
        answer = await self._read(fingerprint, want)
        if answer.count >= want or answer.free_exhausted:
            self.hot.put(key, version, answer)
        return answer

    async def _read(self, fingerprint: str, want: int) -> CacheAnswer:
        now = self.clock()
        since = now - self.window
        params = {"fingerprint": fingerprint, "since": since, "want": want}
        async with self.runtime.db.session() as session:
            rows = (await session.execute(MATCHES_SQL, params)).all()
            run = (await session.execute(RUN_SQL, params)).first()
        items: list[JobSummary] = [summary(row, self.public_url, now, row.found_by) for row in rows]
        deadline = now + timedelta(seconds=self.settings.hot_cache_seconds)
        for row in rows:
            deadline = min(deadline, row.matched_at + self.window)
            if row.content_expires_at is not None and row.content_expires_at > now:
                deadline = min(deadline, row.content_expires_at)
        return CacheAnswer(posting_ids=[item.id for item in items], sources=[row.found_by for row in rows],
                           body=msgspec.json.encode(items), free_exhausted=bool(run and run.free_exhausted),
                           premium_exhausted=bool(run and run.premium_exhausted), deadline=deadline.timestamp())

    async def record_matches(self, fingerprint: str, posting_ids: list[int], ranks: list[int], sources: list[str],
                             now: datetime | None = None) -> None:
        if not posting_ids:
            return
        async with self.runtime.db.session() as session:
            await session.execute(RECORD_MATCHES_SQL, {
                "fingerprint": fingerprint, "ids": posting_ids, "ranks": ranks, "sources": sources,
                "now": now or self.clock()})

    async def record_run(self, fingerprint: str, *, free_exhausted: bool, premium_exhausted: bool, results: int,
                         now: datetime | None = None) -> None:
        async with self.runtime.db.session() as session:
            await session.execute(RECORD_RUN_SQL, {
                "fingerprint": fingerprint, "now": now or self.clock(), "free_exhausted": free_exhausted,
                "premium_exhausted": premium_exhausted, "results": results})

    async def prune(self, now: datetime | None = None) -> None:
        """Forget matches and runs that left the freshness window."""
        before = (now or self.clock()) - self.window
        async with self.runtime.db.session() as session:
            for statement in PRUNE_SQL:
                await session.execute(statement, {"before": before})


class CacheHits:
    """Cache answers given by this process, added to the cluster counter `zentropy_tier_hits` at
    most once a second (a Redis call per answer would cost the cache tier a good part of its speed)."""

    def __init__(self, redis: Any, every_seconds: float = 1.0) -> None:
        self.redis, self.every = redis, every_seconds
        self.pending = 0
        self.flushed = time.monotonic()

    async def add(self) -> None:
        self.pending += 1
        if time.monotonic() - self.flushed >= self.every:
            await self.flush()

    async def flush(self) -> None:
        from zentropy import metrics

        pending, self.pending, self.flushed = self.pending, 0, time.monotonic()
        if pending:
            await metrics.count(self.redis, "zentropy_tier_hits", pending, tier="cache")


def cache_hits(runtime: Any) -> CacheHits:
    if "search.cache_hits" not in runtime.extras:
        runtime.extras["search.cache_hits"] = CacheHits(runtime.redis)
    return runtime.extras["search.cache_hits"]


def cache_tier(runtime: Any) -> CacheTier:
    """The process's cache tier (its in-memory answers are shared by every request of the process)."""
    if "search.cache" not in runtime.extras:
        runtime.extras["search.cache"] = CacheTier(runtime, search_settings(runtime))
    return runtime.extras["search.cache"]
