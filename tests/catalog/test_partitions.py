"""Partitions are created and dropped through SECURITY DEFINER functions; the service role can do
nothing else with tables."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.catalog.conftest import NOW, posting, source
from zentropy.catalog import ingest
from zentropy.catalog.partitions import drop_expired_partitions, ensure_partitions

HOUR = timedelta(hours=1)
BASE = datetime(2031, 1, 1, tzinfo=timezone.utc)  # hours no other test uses


async def partitions(engine) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                                       "WHERE i.inhparent = 'posting_content'::regclass ORDER BY 1"))
        return [r[0] for r in rows]


async def test_the_service_role_creates_and_drops_partitions_through_the_functions(runtime, owner_engine):
    async with runtime.db.engine.begin() as conn:
        assert await ensure_partitions(conn, BASE, BASE + 2 * HOUR + timedelta(minutes=5)) == 3
        assert await ensure_partitions(conn, BASE, BASE + 2 * HOUR) == 0  # idempotent
    names = {"posting_content_p2031010100", "posting_content_p2031010101", "posting_content_p2031010102"}
    assert names <= set(await partitions(owner_engine))
    async with owner_engine.begin() as conn:
        await conn.execute(text("INSERT INTO posting_content (source_id, posting_id, fetched_at, expires_at) "
                                "VALUES (1, 1, :t, :t), (2, 1, :t, :t), (3, 1, :u, :u)"),
                           {"t": BASE, "u": BASE + HOUR})
    async with runtime.db.engine.begin() as conn:
        dropped = await drop_expired_partitions(conn, BASE + HOUR - timedelta(seconds=1), count_rows=True,
                                                max_partitions=10_000)
    mine = [d for d in dropped if d.name in names]
    assert [(d.name, d.expired_at, d.rows) for d in mine] == [("posting_content_p2031010100", BASE, 2)]
    remaining = set(await partitions(owner_engine))
    assert "posting_content_p2031010100" not in remaining and "posting_content_p2031010101" in remaining
    async with runtime.db.engine.begin() as conn:  # dropping is idempotent
        assert [d for d in await drop_expired_partitions(conn, BASE + HOUR - timedelta(seconds=1))
                if d.name in names] == []


async def test_the_service_role_cannot_create_or_drop_tables_itself(runtime):
    for statement in ("CREATE TABLE posting_content_evil PARTITION OF posting_content "
                      "FOR VALUES FROM ('2040-01-01') TO ('2040-01-02')",
                      "DROP TABLE posting_content"):
        with pytest.raises(DBAPIError, match="permission denied|must be owner"):
            async with runtime.db.engine.begin() as conn:
                await conn.execute(text(statement))


async def test_the_functions_refuse_unreasonable_ranges(runtime):
    with pytest.raises(DBAPIError, match="at most 400 days"):
        async with runtime.db.engine.begin() as conn:
            await ensure_partitions(conn, BASE, BASE + timedelta(days=500))
    with pytest.raises(DBAPIError, match="from_ts <= to_ts"):
        async with runtime.db.engine.begin() as conn:
            await ensure_partitions(conn, BASE + HOUR, BASE)


async def test_ingest_recreates_a_partition_dropped_behind_its_back(catalog, owner_engine):
    await ingest(catalog, source(), [posting("1")], now=NOW)  # partition for NOW + 24 h, now cached
    expiry = "posting_content_p2026110310"
    assert expiry in await partitions(owner_engine)
    async with owner_engine.begin() as conn:
        await conn.execute(text(f"DROP TABLE {expiry}"))
    report = await ingest(catalog, source(), [posting("2", title="Data Engineer", description_text="Pipes. " * 30)],
                          now=NOW)
    assert report.new == 1 and expiry in await partitions(owner_engine)
