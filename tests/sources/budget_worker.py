"""One worker process of the shared-budget test: waits for the go signal, then searches Adzuna.

    python -m tests.sources.budget_worker SETTINGS_JSON KEY_PREFIX SIGNAL_KEY CALLS

Prints the outcome of each call as JSON ("ok" or the SourceError code).
"""

from __future__ import annotations

import asyncio
import json
import sys

import msgspec

from tests.sources.conftest import FAST
from zentropy.runtime import Runtime
from zentropy.settings import Settings
from zentropy.sources import SearchQuery, SourceError
from zentropy.sources.service import SourceService


async def main(settings_json: str, key_prefix: str, signal: str, calls: int) -> list[str]:
    settings = msgspec.json.decode(settings_json, type=Settings)
    runtime = await Runtime.start(settings, migrate=False)
    outcomes = []
    try:
        async with SourceService(runtime, policy=FAST, key_prefix=key_prefix) as sources:
            await runtime.redis.rpush(f"{signal}:ready", "1")
            await runtime.redis.expire(f"{signal}:ready", 120)
            while not await runtime.redis.exists(f"{signal}:go"):
                await asyncio.sleep(0.01)
            for _ in range(calls):
                try:
                    await sources.search("adzuna", SearchQuery(keywords="analyst"))
                    outcomes.append("ok")
                except SourceError as exc:
                    outcomes.append(exc.code)
    finally:
        await runtime.close()
    return outcomes


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))))
