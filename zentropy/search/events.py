"""Live progress of a search: events in a Redis stream per search, read as server-sent events.

The worker appends `{"type": ..., ...}` events (`search`, `tier`, `source`, `done`); the API
streams them from the start, or from the client's `Last-Event-ID`. The stream expires an hour
after its last event; a finished search whose stream is gone gets one `done` event built from its
row.
"""

from __future__ import annotations

from typing import Any

import msgspec

STREAM_SECONDS = 3600
MAX_EVENTS = 1000


def stream_key(runtime: Any, search_id: Any) -> str:
    return f"{runtime.settings.queue_name}:search:events:{search_id}"


class EventStream:
    def __init__(self, runtime: Any, search_id: Any) -> None:
        self.redis = runtime.redis
        self.key = stream_key(runtime, search_id)

    async def publish(self, event: dict[str, Any]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.xadd(self.key, {"type": event["type"], "data": msgspec.json.encode(event)},
                      maxlen=MAX_EVENTS, approximate=True)
            pipe.expire(self.key, STREAM_SECONDS)
            await pipe.execute()

    async def read(self, after: str, block_ms: int | None = None) -> list[tuple[str, str, bytes]]:
        """(event id, type, JSON data) after `after`, waiting up to `block_ms` for the first
        (None: not waiting)."""
        answer = await self.redis.xread({self.key: after}, count=100, block=block_ms or None)
        out = []
        for _, entries in answer or []:
            for event_id, fields in entries:
                out.append((_text(event_id), _text(fields[b"type"]), fields[b"data"]))
        return out

    async def exists(self) -> bool:
        return bool(await self.redis.exists(self.key))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
