"""`zentropy purge` as an operator runs it: it reports what it removed; killed midway, it loses
nothing it should keep, and the next run finishes the job."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import datetime, timezone

import pytest

from tests.plugin_packages import ROOT, run_cli
from tests.purge.conftest import HOUR, metadata, partitions, posting, rows, source
from zentropy.catalog import ingest
from zentropy.catalog.partitions import content_expiry
from zentropy.purge import purge

pytestmark = pytest.mark.slow


@pytest.fixture
def cli_env(migrated, ttl):
    return {"DATABASE_URL": migrated.database_url, "DATABASE_APP_USER": migrated.database_app_user,
            "DATABASE_APP_PASSWORD": migrated.database_app_password, "REDIS_URL": migrated.redis_url,
            "ZENTROPY_SOURCES_KEY_PREFIX": ttl.key_prefix, "ZENTROPY_LOG_FORMAT": "console"}


async def expired_and_live(ttl) -> tuple[datetime, list[str], str]:
    """Three hours of content expired by the wall clock, one live; (now, expired partitions, live one)."""
    now = datetime.now(timezone.utc)
    for hours_ago in (32, 31, 30):
        await ingest(ttl.rt, source(), [posting(f"x{hours_ago}", title=f"Engineer {hours_ago}",
                                                description_text=f"Job number {hours_ago}, in detail. " * 30)],
                     now=now - hours_ago * HOUR)
    await ingest(ttl.rt, source(), [posting("live", title="Live Engineer",
                                            description_text="Still readable tomorrow. " * 30)], now=now)
    names = await partitions(ttl.owner)
    live = f"posting_content_p{content_expiry(now, 24 * 3600):%Y%m%d%H}"
    expired = [name for name in names if name != live]
    assert len(expired) == 3 and live in names
    return now, expired, live


async def test_purge_reports_what_it_removed(ttl, cli_env):
    _, expired, live = await expired_and_live(ttl)
    result = run_cli("purge", env=cli_env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines[:-1]] == expired
    assert all(line.rstrip().endswith("1 contents") for line in lines[:-1])
    assert lines[-1] == "purged 3 contents in 3 partitions"
    assert await partitions(ttl.owner) == [live]

    again = run_cli("purge", "--json", env=cli_env)
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["partitions"] == [] and report["contents"] == 0 and report["complete"] is True


async def test_a_purge_killed_midway_loses_nothing_and_the_next_run_finishes(ttl, cli_env):
    now, expired, live = await expired_and_live(ttl)
    before = await metadata(ttl.owner)
    kept = await rows(ttl.owner, "SELECT * FROM posting_content ORDER BY source_id")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ZENTROPY_")} | cli_env
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "zentropy.cli", "purge", "--pause", "60", env=environ, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        first = await asyncio.wait_for(process.stdout.readline(), timeout=60)
    finally:
        process.kill()  # SIGKILL: no cleanup of any kind
        await process.wait()
    assert first.decode().split()[0] == expired[0]

    assert await partitions(ttl.owner) == [*expired[1:], live]
    assert await rows(ttl.owner, "SELECT partition_name, rows_removed FROM content_purges") == [(expired[0], 1)]
    assert await metadata(ttl.owner) == before
    assert await rows(ttl.owner, "SELECT * FROM posting_content ORDER BY source_id") == kept[1:]

    report = await purge(ttl.rt, now=datetime.now(timezone.utc))
    assert [p.name for p in report.partitions] == expired[1:] and report.contents == 2 and report.complete
    assert await partitions(ttl.owner) == [live]
    assert await rows(ttl.owner, "SELECT * FROM posting_content") == kept[3:]
    assert await metadata(ttl.owner) == before
    assert await rows(ttl.owner, "SELECT partition_name FROM content_purges ORDER BY id") == [(n,) for n in expired]
