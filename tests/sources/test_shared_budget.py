"""Several worker processes share one rate-limit budget through Redis."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid

import msgspec
import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


async def test_two_processes_share_adzunas_25_calls_a_minute(migrated, adzuna_api, key_prefix, redis, ledger):
    fake, server = adzuna_api
    signal = f"{key_prefix}:signal:{uuid.uuid4().hex}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    settings_json = msgspec.json.encode(migrated).decode()
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.sources.budget_worker", settings_json, key_prefix, signal, "20",
            cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        for _ in range(2)
    ]
    try:
        for _ in range(1200):  # both are connected and waiting (polled: a blocking read would time out)
            if await redis.llen(f"{signal}:ready") == len(workers):
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the workers did not start")
        await redis.set(f"{signal}:go", "1", ex=120)  # start them together
        results = [await asyncio.wait_for(w.communicate(), timeout=120) for w in workers]
    finally:
        for worker in workers:
            if worker.returncode is None:
                worker.kill()
    outcomes = []
    for worker, (out, err) in zip(workers, results):
        assert worker.returncode == 0, err.decode()
        outcomes += json.loads(out.decode().strip().splitlines()[-1])

    assert outcomes.count("ok") == 25 and outcomes.count("rate_limited") == 15  # Adzuna: 25 calls a minute
    assert server.count("/v1/api/jobs") == 25  # a call over budget is never made
    rows = await ledger.rows("adzuna")
    assert len(rows) == 40 and sum(r["requests"] for r in rows) == 25
