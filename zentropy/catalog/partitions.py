"""Content partitions: one per hour of expiry, created ahead and dropped whole once expired.

A listing's content expires at `content_expiry(fetched_at, ttl)`: the start of the hour its TTL
ends in (up to an hour early, never late). Every row of a partition therefore expires at once,
and purging is `DROP TABLE` of whole partitions: no row deletes, no dead tuples, next to no WAL.
The service role may not create or drop tables; it calls the SECURITY DEFINER functions of
migration 0005, which do that and nothing else.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

HOUR = timedelta(hours=1)


class DroppedPartition(msgspec.Struct, frozen=True):
    name: str
    expired_at: datetime
    rows: int | None


def floor_hour(moment: datetime) -> datetime:
    moment = moment.astimezone(timezone.utc)
    return moment.replace(minute=0, second=0, microsecond=0)


def content_expiry(fetched_at: datetime, ttl_seconds: int) -> datetime:
    return floor_hour(fetched_at + timedelta(seconds=ttl_seconds))


class PartitionCache:
    """The hours known to have a partition, so ingest calls the creating function only when an
    hour is new to this process (a dropped partition is never written to again: its hour is past)."""

    def __init__(self) -> None:
        self.hours: set[datetime] = set()

    async def ensure(self, engine: AsyncEngine, hours: set[datetime]) -> None:
        missing = hours - self.hours
        if not missing:
            return
        # in a transaction of its own: creating a partition locks the parent table until commit
        async with engine.begin() as conn:
            await ensure_partitions(conn, min(missing), max(missing))
        self.hours |= {floor_hour(min(missing)) + i * HOUR
                       for i in range(int((max(missing) - min(missing)) / HOUR) + 1)}


async def ensure_partitions(conn: AsyncConnection, start: datetime, end: datetime) -> int:
    """Create the missing hourly partitions from `start` to `end` (inclusive); how many were made."""
    result = await conn.execute(text("SELECT catalog_ensure_content_partitions(:start, :end)"),
                                {"start": start, "end": end})
    return int(result.scalar_one())


async def drop_expired_partitions(conn: AsyncConnection, before: datetime, *, max_partitions: int = 24,
                                  count_rows: bool = False) -> list[DroppedPartition]:
    """Drop the partitions whose content expired at or before `before`, oldest first."""
    result = await conn.execute(
        text("SELECT partition_name, expired_at, rows_removed "
             "FROM catalog_drop_content_partitions(:before, :max_partitions, :count_rows)"),
        {"before": before, "max_partitions": max_partitions, "count_rows": count_rows},
    )
    return [DroppedPartition(name, expired_at, rows) for name, expired_at, rows in result.all()]
