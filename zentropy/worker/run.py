from __future__ import annotations

import asyncio
import logging
from typing import Any

from saq import Worker

from zentropy.runtime import Runtime
from zentropy.worker.jobs import collect

log = logging.getLogger(__name__)


def build_worker(runtime: Runtime, **options: Any) -> Worker:
    functions, crons = collect(runtime.plugins)

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["runtime"] = runtime

    return Worker(
        runtime.queue,
        functions=functions,
        cron_jobs=crons,
        concurrency=runtime.settings.worker_concurrency,
        startup=startup,
        shutdown_grace_period_s=options.pop("shutdown_grace_period_s", 20),
        **options,
    )


async def run_worker(runtime: Runtime) -> None:
    worker = build_worker(runtime)
    log.info("worker started", extra={"queue": runtime.settings.queue_name})
    try:
        await worker.start()
    finally:
        await worker.stop()
