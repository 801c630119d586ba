"""The purge: expired posting content goes, metadata stays.

    report = await purge(runtime)              # the cron job and `zentropy purge`
    report.partitions, report.contents, report.complete

Content lives in hourly partitions of `posting_content`, by the hour it expires in (see
docs/dedup.md). A batch is one partition, in two short transactions through the SECURITY DEFINER
functions of migration 0008: the partition is counted, detached and logged in `content_purges`;
then the detached table is dropped and the log row completed. Detaching holds an ACCESS
EXCLUSIVE lock on `posting_content` for about a millisecond; it waits at most
`purge_lock_timeout_ms` for it (readers queue behind a waiting lock, so never longer than that),
then steps back, retries a few times, and leaves the rest to the next run if the table stays busy.
Dropping (tens of milliseconds: the table's buffers and files go) locks only the detached table,
which no reader uses. No row is deleted: next to no WAL, no dead tuples, no vacuum.

A purge stopped at any point has dropped whole partitions, or detached one that the next run
drops first (its log row has no `dropped_at`), or nothing; the next run finishes the job.

The sources' response caches in Redis hold content too: their expiry is shortened so that no
cached response outlives the content fetched from it (`shorten_response_caches`).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import msgspec
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from zentropy import metrics
from zentropy.postings.sources import source_service
from zentropy.purge.clock import now as clock_now
from zentropy.purge.settings import content_settings
from zentropy.sources.contract import SourceInfo
from zentropy.sources.service import registered_sources

log = logging.getLogger(__name__)

PURGE_EVERY = timedelta(minutes=5)  # the cron schedule below
PURGE_CRON = "*/5 * * * *"
LOCK_RETRIES = 4  # attempts after the first when a lock is not granted in time
LOCK_NOT_AVAILABLE = "55P03"
DETACH_ONE = text("SELECT partition_name, expired_at, rows_removed "
                  "FROM purge_detach_expired_content_partition(:before, :lock_timeout_ms)")
DROP_DETACHED = text("SELECT partition_name, expired_at, rows_removed FROM purge_drop_detached_content(:lock_timeout_ms)")


class PurgedPartition(msgspec.Struct, frozen=True):
    name: str
    expired_at: datetime
    contents: int


class PurgeReport(msgspec.Struct, kw_only=True):
    now: datetime
    partitions: list[PurgedPartition] = []
    contents: int = 0
    complete: bool = True  # False: stopped early (lock not granted, or the per-run bound); the next run goes on
    blocked: bool = False  # stopped because posting_content stayed busy (its lock was not granted)
    caches_shortened: int = 0  # cached source responses whose expiry was brought forward (or deleted)


async def purge(runtime, *, now: datetime | None = None, max_partitions: int | None = None,  # noqa: ANN001
                lock_timeout_ms: int | None = None, pause: float = 0.0,
                after_batch: Callable[[PurgedPartition], Awaitable[None]] | None = None) -> PurgeReport:
    """Purge every content partition expired at `now` (default: the runtime's clock), oldest first,
    one at a time; at most `max_partitions`, waiting `pause` seconds between them. `after_batch` is
    called with each partition once it is gone."""
    settings = content_settings(runtime)
    now = now or clock_now(runtime)
    limit = max_partitions or settings.purge_max_partitions
    lock_ms = lock_timeout_ms or settings.purge_lock_timeout_ms
    report = PurgeReport(now=now)

    async def dropped(partitions: list[PurgedPartition]) -> None:
        for partition in partitions:
            report.partitions.append(partition)
            report.contents += partition.contents
            await _count(runtime, partition.contents)
            if after_batch is not None:
                await after_batch(partition)

    try:
        await dropped(await _drop_detached(runtime, lock_ms))  # left by a run stopped between the two steps
        for _ in range(limit):
            if not await _detach_one(runtime, now, lock_ms):
                break
            await dropped(await _drop_detached(runtime, lock_ms))
            if pause:
                await asyncio.sleep(pause)
        else:
            report.complete = False
    except _Busy:
        report.complete, report.blocked = False, True
        log.warning("content purge stepped back: posting_content stayed busy; the next run goes on",
                    extra={"partitions": len(report.partitions)})
    report.caches_shortened = await shorten_response_caches(runtime)
    log.info("content purge finished", extra={"partitions": len(report.partitions), "contents": report.contents,
                                              "complete": report.complete})
    return report


class _Busy(Exception):
    pass


async def _with_lock_retries(runtime, statement, params: dict) -> list:  # noqa: ANN001
    """Run `statement` in a transaction of its own; retried with jitter while its lock is not granted."""
    for attempt in range(LOCK_RETRIES + 1):
        try:
            async with runtime.db.engine.begin() as conn:
                return (await conn.execute(statement, params)).all()
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                raise
            if attempt == LOCK_RETRIES:
                raise _Busy from None
            await asyncio.sleep(random.uniform(0, 0.05 * 2 ** attempt))
    raise AssertionError("unreachable")  # pragma: no cover


async def _detach_one(runtime, now: datetime, lock_ms: int) -> bool:  # noqa: ANN001
    return bool(await _with_lock_retries(runtime, DETACH_ONE, {"before": now, "lock_timeout_ms": lock_ms}))


async def _drop_detached(runtime, lock_ms: int) -> list[PurgedPartition]:  # noqa: ANN001
    rows = await _with_lock_retries(runtime, DROP_DETACHED, {"lock_timeout_ms": lock_ms})
    return [PurgedPartition(row.partition_name, row.expired_at, int(row.rows_removed)) for row in rows]


async def _count(runtime, contents: int) -> None:  # noqa: ANN001
    if runtime.redis is None or not contents:
        return
    try:
        await metrics.count(runtime.redis, "zentropy_purged_contents", contents)
    except (RedisError, OSError):
        log.warning("purge metrics not counted: Redis unavailable")


# -- the sources' response caches ---------------------------------------------------------------
def cache_lifetime(ttl_seconds: int) -> float:
    """The longest a cached source response may still live, in seconds, so that it is gone before
    the content fetched from it expires: content expires up to an hour early (rounded down to the
    hour), and a response cached just after a purge run is seen by the next run only."""
    return ttl_seconds - 3600 - PURGE_EVERY.total_seconds()


async def shorten_response_caches(runtime) -> int:  # noqa: ANN001
    """Bring forward the expiry of every cached source response that would outlive the content
    fetched from it (delete it when its source keeps content under an hour); how many."""
    if runtime.redis is None:
        return 0
    settings = content_settings(runtime)
    infos = {name: entry.factory.info for name, entry in registered_sources(runtime.plugins).items()}
    prefix = source_service(runtime).key_prefix + ":"
    changed = 0
    try:
        async for key in runtime.redis.scan_iter(match=f"{prefix}*:cache:*", count=1000):
            name = key.decode()[len(prefix):].split(":cache:", 1)[0]
            info = infos.get(name) or SourceInfo(name=name, tier="free")
            allowed = cache_lifetime(settings.ttl(info))
            if allowed <= 0:
                changed += await runtime.redis.delete(key)
                continue
            left = await runtime.redis.pttl(key)
            if left == -2:  # gone meanwhile
                continue
            if left == -1 or left > allowed * 1000:
                changed += int(bool(await runtime.redis.pexpire(key, int(allowed * 1000))))
    except (RedisError, OSError):
        log.warning("source response caches not checked: Redis unavailable")
    return changed
