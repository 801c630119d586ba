"""Across processes: single-flight between two engines, and a worker killed mid-search (the job
is retried and resumes; no posting is duplicated; one that cannot be resumed is failed clearly)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import msgspec
import pytest
from sqlalchemy import text

from tests.search.test_api import parse_sse
from zentropy.search.jobs import sweep_stalled_searches
from zentropy.worker.run import build_worker

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def spawn(rig, mode: str, signal_key: str, *rest: str) -> subprocess.Popen:
    args = [sys.executable, "-m", "tests.search.proc", mode, msgspec.json.encode(rig.rt.settings).decode(),
            msgspec.json.encode(rig.rt.extras["search.settings"]).decode(), rig.env["ZENTROPY_SOURCES_KEY_PREFIX"],
            signal_key, *rest]
    return subprocess.Popen(args, cwd=ROOT, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


async def wait_for(predicate, seconds: float = 30.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def test_two_engines_in_two_processes_call_each_source_once(rig, redis):
    signal_key = f"{rig.rt.settings.queue_name}:signal"
    handler = rig.servers["adzuna"].handler

    def slow(request):  # long enough for both processes to want the same page
        reply = handler(request)
        reply.delay = 0.3
        return reply

    rig.servers["adzuna"].handler = slow
    procs = [spawn(rig, "engine", signal_key, rig.token) for _ in range(2)]
    try:
        await wait_for(lambda: _ready(redis, signal_key, 2), 60)
        await redis.set(f"{signal_key}:go", "1", ex=60)
        outputs = [await asyncio.to_thread(p.communicate, timeout=60) for p in procs]
    finally:
        for p in procs:
            p.kill()
    assert all(p.returncode == 0 for p in procs), [err for _, err in outputs]
    runs = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    assert rig.calls("adzuna") == 1
    adzuna = [next(s for s in run["report"]["tiers"][0]["sources"] if s["source"] == "adzuna") for run in runs]
    assert sorted((a["calls"], a["shared_pages"]) for a in adzuna) == [(0, 1), (1, 0)]
    assert runs[0]["results"] == runs[1]["results"] and len(runs[0]["results"]) == 20


async def _ready(redis, signal_key: str, n: int) -> bool:
    return await redis.llen(f"{signal_key}:ready") >= n


async def test_a_worker_killed_mid_search_is_retried_and_resumes_without_duplicates(rig, redis, owner_engine):
    user = await rig.user()
    released = threading.Event()
    handler = rig.servers["adzuna"].handler

    def hang_on_page_two(request):  # page 2 hangs until the worker that asked for it is dead
        reply = handler(request)
        if request.path.endswith("/2") and not released.is_set():
            reply.delay = 30
        return reply

    rig.servers["adzuna"].handler = hang_on_page_two
    async with rig.client() as client:
        client.headers.update(await rig.bearer(user))
        search_id = (await client.post("/api/v1/searches", json={"keywords": rig.token, "want": 25})).json()["id"]
        signal_key = f"{rig.rt.settings.queue_name}:signal"
        proc = spawn(rig, "worker", signal_key)
        try:
            await wait_for(lambda: _asked_for_page_two(rig), 60)
            killed_report = (await client.get(f"/api/v1/searches/{search_id}")).json()
            proc.send_signal(signal.SIGKILL)
            await asyncio.to_thread(proc.wait, 10)
        finally:
            proc.kill()
        released.set()
        assert killed_report["status"] == "running" and killed_report["results_count"] == 20

        # SAQ finds the job silent past its heartbeat and puts it back in the queue
        await asyncio.sleep(rig.rt.extras["search.settings"].job_heartbeat)

        async def swept() -> bool:
            await redis.delete(rig.rt.queue.namespace("sweep"))  # a worker's own sweep locks others out a while
            return bool(await rig.rt.queue.sweep(lock=1, abort=0.1))

        await wait_for(swept, 20)
        worker = build_worker(rig.rt, dequeue_timeout=0.1)
        task = asyncio.create_task(worker.start())
        try:
            await wait_for(lambda: _status_is(client, search_id, "done"), 30)
        finally:
            await worker.stop()
            task.cancel()

        search = (await client.get(f"/api/v1/searches/{search_id}")).json()
        assert search["attempts"] == 2 and search["results_count"] == 30
        adzuna = search["report"]["tiers"][0]["sources"][0]
        assert (adzuna["source"], adzuna["pages"], adzuna["status"]) == ("adzuna", 2, "exhausted")
        pages = [r.path for r in rig.servers["adzuna"].requests]
        assert pages.count("/v1/api/jobs/gb/search/1") == 1  # resumed from its cursor, page 1 not asked again
        assert pages.count("/v1/api/jobs/gb/search/2") == 2
        jobs = (await client.get(f"/api/v1/searches/{search_id}/jobs", params={"limit": 100})).json()["items"]
        assert len({j["id"] for j in jobs}) == 30
    async with owner_engine.connect() as conn:
        listings = (await conn.execute(text("SELECT count(*), count(DISTINCT posting_id) FROM posting_sources "
                                            "WHERE source = 'adzuna' AND title LIKE :t"), {"t": f"%{rig.token}%"})).one()
    assert tuple(listings) == (30, 30)


async def _asked_for_page_two(rig) -> bool:
    return any(r.path.endswith("/2") for r in rig.servers["adzuna"].requests)


async def _status_is(client, search_id: str, status: str) -> bool:
    return (await client.get(f"/api/v1/searches/{search_id}")).json()["status"] == status


async def test_a_search_whose_worker_stopped_beating_is_failed_with_a_clear_status(rig, owner_engine):
    user = await rig.user()
    async with rig.client() as client:
        client.headers.update(await rig.bearer(user))
        search_id = (await client.post("/api/v1/searches", json={"keywords": rig.token})).json()["id"]
        async with owner_engine.begin() as conn:  # as a worker that died after starting it would leave it
            await conn.execute(text("UPDATE searches SET status = 'running', attempts = 3, "
                                    "heartbeat_at = now() - interval '1 hour' WHERE id = :i"), {"i": search_id})
        assert await sweep_stalled_searches({"runtime": rig.rt}) == 1
        assert await sweep_stalled_searches({"runtime": rig.rt}) == 0
        search = (await client.get(f"/api/v1/searches/{search_id}")).json()
        assert (search["status"], search["error_code"]) == ("failed", "worker_lost")
        assert "stopped" in search["error"] and search["finished_at"] is not None
        events = parse_sse((await client.get(f"/api/v1/searches/{search_id}/events")).text)
        assert events[-1]["type"] == "done" and events[-1]["status"] == "failed"
        assert events[-1]["error_code"] == "worker_lost"
        # a running search of another user that still beats is left alone
        other = await rig.user()
        async with rig.client() as theirs:
            theirs.headers.update(await rig.bearer(other))
            other_id = (await theirs.post("/api/v1/searches", json={"keywords": rig.token})).json()["id"]
        async with owner_engine.begin() as conn:
            await conn.execute(text("UPDATE searches SET status = 'running', heartbeat_at = now() WHERE id = :i"),
                               {"i": other_id})
        assert await sweep_stalled_searches({"runtime": rig.rt}) == 0
