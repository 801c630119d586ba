"""A second process for the tier engine's tests, on the test's database, Redis and loopback sources
(their URLs come in the environment).

    python -m tests.search.proc worker SETTINGS_JSON SEARCH_SETTINGS_JSON KEY_PREFIX SIGNAL
        runs the SAQ worker until killed (pushes SIGNAL:ready when it is up)
    python -m tests.search.proc engine SETTINGS_JSON SEARCH_SETTINGS_JSON KEY_PREFIX SIGNAL KEYWORDS
        waits for SIGNAL:go, runs one search through the engine, prints its report as JSON
"""

from __future__ import annotations

import asyncio
import sys

import msgspec

from tests.sources.conftest import FAST
from zentropy.runtime import Runtime
from zentropy.search.settings import SearchSettings
from zentropy.settings import Settings
from zentropy.sources.service import SourceService
from zentropy.sources.settings import HttpPolicy


async def main(mode: str, settings_json: str, search_json: str, key_prefix: str, signal: str, *rest: str) -> None:
    settings = msgspec.json.decode(settings_json, type=Settings)
    runtime = await Runtime.start(settings, migrate=False)
    runtime.extras["search.settings"] = msgspec.json.decode(search_json, type=SearchSettings)
    # the worker gets patient timeouts: the test kills it while a source call hangs
    runtime.extras["search.sources"] = SourceService(runtime, policy=HttpPolicy() if mode == "worker" else FAST,
                                                     key_prefix=key_prefix)
    try:
        await runtime.redis.rpush(f"{signal}:ready", "1")
        await runtime.redis.expire(f"{signal}:ready", 120)
        if mode == "worker":
            from zentropy.worker.run import build_worker

            worker = build_worker(runtime, dequeue_timeout=0.1)
            await worker.start()
        else:
            from tests.search.helpers import run_engine

            while not await runtime.redis.exists(f"{signal}:go"):
                await asyncio.sleep(0.005)
            run = await run_engine(runtime, rest[0], want=10)
            print(msgspec.json.encode({"report": run.report, "results": list(run.results)}).decode())
    finally:
        await runtime.extras["search.sources"].aclose()
        await runtime.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
