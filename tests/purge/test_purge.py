"""The purge drops expired content, whole hourly partitions at a time, and nothing else: metadata,
live content, other sources' content stay; it is idempotent and bounded, and steps back from a
busy table instead of queueing readers behind it."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from tests.purge.conftest import DAY, HOUR, T0, metadata, partitions, posting, rows, source
from zentropy.catalog import ingest, read_content
from zentropy.catalog.partitions import content_expiry
from zentropy.purge import purge
from zentropy.purge import service as purge_service

EXPIRY = content_expiry(T0, 24 * 3600)  # 2030-03-05 10:00


async def seed(ttl) -> dict[str, int]:
    """Three postings with 24 h content, one with 48 h content (another source); their ids."""
    day = await ingest(ttl.rt, source("adzuna"), [
        posting("a1"), posting("a2", title="Data Engineer", description_text="Pipelines and dbt. " * 40),
        posting("a3", title="Site Reliability Engineer", description_text="Pager duty, SLOs. " * 40)], now=T0)
    two_days = await ingest(ttl.rt, source("greenhouse", ttl=48 * 3600), [
        posting("g1", source="greenhouse", title="Product Designer", description_text="Figma, research. " * 40)],
        now=T0)
    ids = {r.external_id: r.posting_id for r in day.results + two_days.results}
    assert len(set(ids.values())) == 4
    return ids


async def test_expired_content_goes_and_everything_else_stays(ttl, monkeypatch):
    counted: list[tuple] = []
    real_count = purge_service.metrics.count

    async def spy(redis, name, amount=1, **labels):  # noqa: ANN001
        counted.append((name, amount))
        await real_count(redis, name, amount, **labels)

    monkeypatch.setattr(purge_service.metrics, "count", spy)
    ids = await seed(ttl)
    before = await metadata(ttl.owner)
    report = await purge(ttl.rt, now=EXPIRY)

    assert [(p.name, p.expired_at, p.contents) for p in report.partitions] == [
        ("posting_content_p2030030510", EXPIRY, 3)]
    assert report.contents == 3 and report.complete and not report.blocked
    assert counted == [("zentropy_purged_contents", 3)]
    assert await metadata(ttl.owner) == before  # no metadata row touched
    assert await partitions(ttl.owner) == ["posting_content_p2030030610"]
    assert await rows(ttl.owner, "SELECT partition_name, expired_at, rows_removed FROM content_purges") == [
        ("posting_content_p2030030510", EXPIRY, 3)]
    async with ttl.rt.db.session() as s:
        statuses = {k: (await read_content(s, pid, EXPIRY)).status for k, pid in ids.items()}
        kept = await read_content(s, ids["g1"], EXPIRY)
    assert statuses == {"a1": "expired", "a2": "expired", "a3": "expired", "g1": "live"}
    assert kept.description_text == "Figma, research. " * 40


async def test_nothing_goes_a_second_before_it_expires_and_a_second_run_changes_nothing(ttl):
    await seed(ttl)
    assert (await purge(ttl.rt, now=EXPIRY - HOUR / 3600)).partitions == []
    assert len(await partitions(ttl.owner)) == 2
    first = await purge(ttl.rt, now=EXPIRY + DAY)
    assert [p.contents for p in first.partitions] == [3, 1]
    after = await metadata(ttl.owner)
    again = await purge(ttl.rt, now=EXPIRY + DAY)
    assert again.partitions == [] and again.contents == 0 and again.complete
    assert await metadata(ttl.owner) == after and await partitions(ttl.owner) == []


async def test_the_clock_of_the_runtime_is_the_default_now(ttl):
    await seed(ttl)
    ttl.clock.at = EXPIRY
    assert (await purge(ttl.rt)).contents == 3


async def test_a_run_is_bounded_and_the_next_one_goes_on(ttl):
    for hour in range(3):
        await ingest(ttl.rt, source(), [posting(f"h{hour}", title=f"Engineer {hour}")], now=T0 + hour * HOUR)
    first = await purge(ttl.rt, now=T0 + 3 * DAY, max_partitions=2)
    assert len(first.partitions) == 2 and not first.complete and not first.blocked
    second = await purge(ttl.rt, now=T0 + 3 * DAY, max_partitions=2)
    assert len(second.partitions) == 1 and second.complete
    assert [p.expired_at for p in first.partitions + second.partitions] == [EXPIRY, EXPIRY + HOUR, EXPIRY + 2 * HOUR]


async def test_content_must_expire_on_the_hour_so_a_dropped_partition_held_nothing_to_keep(ttl):
    await seed(ttl)
    with pytest.raises(IntegrityError, match="ck_posting_content_expires_on_the_hour"):
        async with ttl.owner.begin() as conn:
            await conn.execute(text("INSERT INTO posting_content (source_id, posting_id, fetched_at, expires_at) "
                                    "VALUES (999, 1, :t, :e)"), {"t": T0, "e": EXPIRY + HOUR / 2})


async def test_a_purge_steps_back_from_a_busy_table_and_readers_go_on(ttl):
    ids = await seed(ttl)
    before = await partitions(ttl.owner)
    async with ttl.owner.connect() as long_reader:
        await long_reader.execute(text("BEGIN"))
        await long_reader.execute(text("SELECT count(*) FROM posting_content"))  # holds its lock until it ends

        async def read() -> str:
            async with ttl.rt.db.session() as s:
                return (await read_content(s, ids["g1"], EXPIRY)).status

        blocked, status = await asyncio.wait_for(
            asyncio.gather(purge(ttl.rt, now=EXPIRY, lock_timeout_ms=20), read()), timeout=30)
        assert blocked.blocked and not blocked.complete and blocked.partitions == []
        assert status == "live"  # a reader queued behind the waiting drop got through
        assert await partitions(ttl.owner) == before  # nothing half-done
        await long_reader.execute(text("ROLLBACK"))
    done = await purge(ttl.rt, now=EXPIRY)
    assert done.contents == 3 and done.complete


async def test_a_detach_interrupted_before_it_commits_leaves_everything_in_place(ttl):
    await seed(ttl)
    before = await metadata(ttl.owner)
    async with ttl.rt.db.engine.connect() as conn:
        await conn.execute(text("BEGIN"))
        detached = (await conn.execute(purge_service.DETACH_ONE, {"before": EXPIRY, "lock_timeout_ms": 1000})).first()
        assert detached.rows_removed == 3
        pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        async with ttl.owner.connect() as killer:  # the process dies mid-batch: its connection goes
            await killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(DBAPIError):
            await conn.execute(text("SELECT 1"))
        await conn.invalidate()
    assert len(await partitions(ttl.owner)) == 2
    assert await rows(ttl.owner, "SELECT * FROM content_purges") == []
    assert await metadata(ttl.owner) == before
    assert (await purge(ttl.rt, now=EXPIRY)).contents == 3


async def test_a_partition_detached_by_a_run_that_died_is_dropped_by_the_next(ttl):
    await seed(ttl)
    async with ttl.rt.db.engine.begin() as conn:  # the first step commits, then the process dies
        await conn.execute(purge_service.DETACH_ONE, {"before": EXPIRY, "lock_timeout_ms": 1000})
    assert await partitions(ttl.owner) == ["posting_content_p2030030610"]
    assert await rows(ttl.owner, "SELECT to_regclass('posting_content_p2030030510') IS NOT NULL, dropped_at "
                                 "FROM content_purges") == [(True, None)]
    report = await purge(ttl.rt, now=EXPIRY - DAY)  # even a run with nothing newly expired finishes it
    assert [(p.name, p.contents) for p in report.partitions] == [("posting_content_p2030030510", 3)]
    assert await rows(ttl.owner, "SELECT to_regclass('posting_content_p2030030510') IS NULL, dropped_at IS NOT NULL "
                                 "FROM content_purges") == [(True, True)]
    assert (await purge(ttl.rt, now=EXPIRY)).partitions == []


async def test_the_service_role_may_purge_but_not_drop_tables_itself(ttl):
    await seed(ttl)
    with pytest.raises(DBAPIError, match="must be owner|permission denied"):
        async with ttl.rt.db.engine.begin() as conn:
            await conn.execute(text("DROP TABLE posting_content_p2030030510"))
    assert (await purge(ttl.rt, now=EXPIRY)).contents == 3
