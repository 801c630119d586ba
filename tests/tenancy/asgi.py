"""One request to an ASGI app, as a client with a time bound.

httpx's ASGI transport waits for the whole body, which a stream (server-sent events) never
finishes. Here a response still streaming after `stream_seconds` is read that long, then the client
hangs up with the `http.disconnect` a server sends when a client goes, and the app must stop
within `limit` seconds. Any other response is waited for up to `limit` seconds.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import unquote, urlencode

import httpx


async def call(app: Any, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes = b"",
               *, stream_seconds: float = 0.3, limit: float = 10.0) -> httpx.Response:
    hung_up = asyncio.Event()
    started: dict[str, Any] = {}
    chunks: list[bytes] = []
    asked = False

    async def receive() -> dict[str, Any]:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": body, "more_body": False}
        await hung_up.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            started.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    all_headers = {"host": "zentropy.test", **{k.lower(): v for k, v in headers.items()}}
    if body:
        all_headers["content-length"] = str(len(body))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": unquote(path), "raw_path": path.encode(), "root_path": "", "query_string": urlencode(query).encode(),
             "client": ("127.0.0.1", 50000), "server": ("zentropy.test", 80),
             "headers": [(k.encode(), v.encode()) for k, v in all_headers.items()]}
    served = asyncio.ensure_future(app(scope, receive, send))
    await asyncio.wait([served], timeout=stream_seconds)
    if not served.done():
        streaming = dict(started.get("headers", [])).get(b"content-type", b"").startswith(b"text/event-stream")
        await asyncio.wait([served], timeout=0 if streaming else limit)
        hung_up.set()
        try:
            await asyncio.wait_for(served, limit)
        except TimeoutError:
            raise AssertionError(f"a response went on after its client hung up: {method} {path}") from None
    served.result()
    return httpx.Response(started["status"], headers=[(k.decode(), v.decode()) for k, v in started["headers"]],
                          content=b"".join(chunks))
