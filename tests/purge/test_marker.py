"""Once purged, a posting's text exists nowhere: a unique marker planted in a description goes
through the whole product — a search through the API, run by the worker's job against a loopback
source, the job read through the API — then expires (by the clock) and is purged. After that no
table or column of the database (read as the owner, behind no row-level security), no dropped
partition's file, no log record and no Redis key or value (queue payloads, caches, decompressed)
holds it; the only Redis copies while it lived are cached source responses, which expire before
the content does."""

from __future__ import annotations

import logging
import os
import uuid
import zlib
from datetime import datetime, timedelta, timezone

import msgspec
import pytest
from redis.asyncio import Redis
from saq.queue.redis import RedisQueue
from sqlalchemy import text

from tests.purge.conftest import TTLRig, partitions
from tests.sources.conftest import FAST
from tests.sources.fakes import FakeServer, GreenhouseFake, greenhouse_jobs
from zentropy.plugins import Plugins
from zentropy.purge import purge
from zentropy.purge.service import cache_lifetime
from zentropy.runtime import Runtime
from zentropy.search.jobs import run_search
from zentropy.sources.contract import DEFAULT_CONTENT_TTL
from zentropy.sources.service import SourceService


async def database_holders(engine, marker: str) -> list[str]:  # noqa: ANN001
    """Every table (partitions included) with a row whose text contains `marker`."""
    found = []
    async with engine.connect() as conn:
        await conn.execute(text("SET row_security = off"))  # fails, rather than hide rows, if RLS would apply
        tables = (await conn.execute(text(
            "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1"))).scalars().all()
        assert "public.posting_content" in tables and "public.source_calls" in tables
        for table in tables:
            hits = (await conn.execute(text(f"SELECT count(*) FROM {table} t WHERE strpos(t::text, :m) > 0"),
                                       {"m": marker})).scalar_one()
            if hits:
                found.append(table)
        assert (await conn.execute(text("SELECT count(*) FROM pg_largeobject_metadata"))).scalar_one() == 0
    return found


def _values(kind: str, raw) -> list[bytes]:  # noqa: ANN001
    if kind == "string":
        return [raw]
    if kind == "hash":
        return [part for pair in raw.items() for part in pair]
    if kind == "stream":
        return [part for _, fields in raw for pair in fields.items() for part in pair]
    if kind == "zset":
        return [member for member, _ in raw]
    return list(raw)


async def redis_holders(redis: Redis, marker: str) -> dict[str, int]:
    """Every Redis key (of every test run sharing the server) whose name or value, decompressed
    where it is compressed, contains `marker`; with its remaining time to live (ms)."""
    needle = marker.encode()
    readers = {"string": lambda k: redis.get(k), "hash": lambda k: redis.hgetall(k),
               "list": lambda k: redis.lrange(k, 0, -1), "set": lambda k: redis.smembers(k),
               "zset": lambda k: redis.zrange(k, 0, -1, withscores=True), "stream": lambda k: redis.xrange(k)}
    found = {}
    async for key in redis.scan_iter(count=1000):
        kind = (await redis.type(key)).decode()
        if kind == "none":
            continue
        values = _values(kind, await readers[kind](key))
        blobs = [key, *(v for v in values if isinstance(v, bytes))]
        for blob in list(blobs):
            try:
                blobs.append(zlib.decompress(blob))
            except zlib.error:
                pass
        if any(needle in blob for blob in blobs):
            found[key.decode()] = await redis.pttl(key)
    return found


async def relation_files(engine, names: list[str]) -> list[str]:  # noqa: ANN001
    """The data files of these tables and their TOAST tables, when the server's folder is readable here."""
    async with engine.connect() as conn:
        directory = (await conn.execute(text("SHOW data_directory"))).scalar_one()
        paths = []
        for name in names:
            for relation in (name, (await conn.execute(text(
                    "SELECT reltoastrelid::regclass::text FROM pg_class WHERE oid = CAST(:n AS regclass)"),
                    {"n": name})).scalar_one()):
                path = (await conn.execute(text("SELECT pg_relation_filepath(CAST(:r AS regclass))"),
                                           {"r": relation})).scalar_one()
                paths.append(os.path.join(directory, path))
    return paths


@pytest.fixture
async def search_rt(ttl: TTLRig, monkeypatch, redis):
    """The rig's runtime with Greenhouse as its only source, on a loopback board whose one job has the
    marker in its description, and a queue of the test's own."""
    marker = f"zqmark{uuid.uuid4().hex}"
    token = f"coldchain{uuid.uuid4().hex[:8]}"
    [job] = greenhouse_jobs(1, company="Northwind")
    job["title"] = f"Cold Chain Engineer {token}"
    job["content"] = f"&lt;p&gt;Track every pallet. Codeword {marker} for applicants.&lt;/p&gt;" * 3
    board = f"nw{token}"
    server = FakeServer(GreenhouseFake({board: [job]}))
    server.__enter__()
    monkeypatch.setenv("GREENHOUSE_BASE_URL", server.url)
    monkeypatch.setenv("GREENHOUSE_BOARDS", board)
    queue_name = f"zentropy-test-ttl-{token}"
    settings = msgspec.structs.replace(ttl.rt.settings, queue_name=queue_name, plugins="greenhouse")
    rt = Runtime(settings=settings, plugins=Plugins(settings).load(), db=ttl.rt.db, redis=ttl.rt.redis,
                 queue=RedisQueue(Redis.from_url(settings.redis_url), name=queue_name))
    rt.extras.update(ttl.rt.extras)
    rt.extras["search.sources"] = SourceService(rt, policy=FAST, key_prefix=f"{queue_name}:sources")
    ttl.rt = rt
    try:
        yield ttl, marker, token, queue_name
    finally:
        await rt.extras["search.sources"].aclose()
        await rt.queue.disconnect()
        server.__exit__(None, None, None)
        keys = [key async for key in redis.scan_iter(match=f"{queue_name}*", count=1000)]
        if keys:
            await redis.delete(*keys)


async def test_once_purged_the_text_is_nowhere(search_rt, redis, caplog, capfd):
    ttl, marker, token, queue_name = search_rt
    caplog.set_level(logging.DEBUG)
    for noisy in ("httpx", "httpcore", "saq"):
        caplog.set_level(logging.DEBUG, logger=noisy)
    fetched = datetime.now(timezone.utc)
    ttl.clock.at = fetched
    user = await ttl.user()
    async with await ttl.signed_in(user) as client:
        response = await client.post("/api/v1/searches", json={"keywords": token, "want": 5})
        assert response.status_code == 202, response.text
        search_id = response.json()["id"]
        assert await run_search({"runtime": ttl.rt}, user_id=str(user), search_id=search_id) == "done"
        [item] = (await client.get(f"/api/v1/searches/{search_id}/jobs")).json()["items"]
        live = (await client.get(f"/api/v1/jobs/{item['id']}")).json()
        assert live["content_status"] == "live" and marker in live["content"]["description_text"]
        expires_at = datetime.fromisoformat(live["content_expires_at"])

        assert await database_holders(ttl.owner, marker) == ["public.posting_content",
                                                             f"public.posting_content_p{expires_at:%Y%m%d%H}"]
        [partition] = await partitions(ttl.owner)
        files = await relation_files(ttl.owner, [partition])

        ttl.clock.at = fetched + timedelta(hours=25)  # a day later
        report = await purge(ttl.rt)
        assert [p.name for p in report.partitions] == [partition] and report.contents == 1
        expired = await client.get(f"/api/v1/jobs/{item['id']}")
        assert expired.json()["content_status"] == "expired" and marker not in expired.text

    assert await database_holders(ttl.owner, marker) == []
    assert await partitions(ttl.owner) == []
    for path in files:  # dropped: unlinked, or emptied until the next checkpoint unlinks it
        assert not os.path.exists(path) or os.path.getsize(path) == 0, path

    # Redis: cached source responses only, each gone by itself before the content expired
    # (Redis keeps wall-clock time; in the rig's clock, a day later, they are long gone).
    held = await redis_holders(redis, marker)
    assert held, "the loopback board's response was not cached: the check below would prove nothing"
    for key, ttl_ms in held.items():
        assert key.startswith(f"{queue_name}:sources:greenhouse:cache:"), key
        assert 0 < ttl_ms <= cache_lifetime(DEFAULT_CONTENT_TTL) * 1000
        assert datetime.now(timezone.utc) + timedelta(milliseconds=ttl_ms) <= expires_at

    # Logs: every record (its message and every attribute) and everything written to the terminal.
    assert caplog.records, "no logs were captured: the check below would prove nothing"
    for record in caplog.records:
        assert marker not in record.getMessage() and marker not in repr(vars(record)), record
    out, err = capfd.readouterr()
    assert marker not in out and marker not in err
