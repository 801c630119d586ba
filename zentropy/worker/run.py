from __future__ import annotations

import asyncio
import gc
import logging
from typing import Any

from saq import Worker

from zentropy.runtime import Runtime
from zentropy.worker.jobs import collect

log = logging.getLogger(__name__)


class ZentropyWorker(Worker):
    """SAQ's worker, but a stop waits only for jobs in flight: the upkeep loops (which sleep up to
    a minute between rounds) are cancelled at once instead of sitting out the grace period."""

    async def upkeep(self) -> list[asyncio.Task[None]]:
        self._upkeep = await super().upkeep()
        return self._upkeep

    async def stop(self) -> None:
        for task in getattr(self, "_upkeep", []):
            task.cancel()
        await super().stop()


# The youngest generation is collected every GC_THRESHOLD[0] net allocations of tracked objects
# (CPython's default, 700, collected some 300 times per 20,000 ingested postings: 5% of the ingest's
# time, measured with bench/ingest.py; a few times at 10,000). The catalog's plain-data structs are
# untracked (`gc=False`), so this delays little garbage.
GC_THRESHOLD = (10_000, 20, 10)


def settle_gc() -> None:
    """Tune the cycle collector for a long-running ingesting process, once its startup is done.

    What startup made (modules, plugins, settings) lives as long as the process: frozen out of the
    collector's full passes, which otherwise walk all of it every few thousand ingested postings
    (a pause of 130-150 ms each, measured with bench/ingest.py; 6-12 ms after)."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


def build_worker(runtime: Runtime, **options: Any) -> Worker:
    functions, crons = collect(runtime.plugins)

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["runtime"] = runtime
        settle_gc()

    return ZentropyWorker(
        runtime.queue,
        functions=functions,
        cron_jobs=crons,
        concurrency=runtime.settings.worker_concurrency,
        startup=startup,
        # Idle dequeue loops wake each second, so a stop waits only for jobs in flight (up to the
        # grace period) instead of always sitting out the whole grace period.
        dequeue_timeout=options.pop("dequeue_timeout", 1.0),
        shutdown_grace_period_s=options.pop("shutdown_grace_period_s", runtime.settings.worker_shutdown_grace),
        **options,
    )


async def run_worker(runtime: Runtime, *, handle_signals: bool = True) -> None:
    """Run until stopped; inside `zentropy serve` the server owns SIGTERM/SIGINT, not the worker."""
    worker = build_worker(runtime)
    if not handle_signals:
        worker.SIGNALS = []
    log.info("worker started", extra={"queue": runtime.settings.queue_name})
    try:
        await worker.start()
    finally:
        await worker.stop()
