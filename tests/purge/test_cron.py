"""The worker purges on a schedule: every five minutes, once per slot however many workers run."""

from __future__ import annotations

import random
from types import SimpleNamespace

from tests.purge.conftest import HOUR, T0, partitions, posting, source
from zentropy.catalog import ingest
from zentropy.worker.jobs import SKIPPED, collect


async def test_the_purge_is_a_cron_job_every_five_minutes_that_purges(ttl, redis):
    _, crons = collect(ttl.rt.plugins)
    [job] = [c for c in crons if c.function.__name__ == "purge_expired_content"]
    assert job.cron == "*/5 * * * *" and job.timeout <= 300

    await ingest(ttl.rt, source(), [posting("1"), posting("2", title="QA Engineer", description_text="Tests. " * 60)],
                 now=T0)
    ttl.clock.at = T0 + 25 * HOUR  # the job's "now" is the runtime's clock
    slot = random.randrange(10**12, 10**13)  # a slot no other run claims (Redis is shared)
    ctx = {"runtime": ttl.rt, "job": SimpleNamespace(scheduled=slot)}
    try:
        assert await job.function(ctx) == 2
        assert await partitions(ttl.owner) == []
        assert await job.function(ctx) == SKIPPED  # the same slot does not run twice
    finally:
        await redis.delete(f"zentropy:cron:purge_expired_content:{slot}")
