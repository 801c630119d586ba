"""A loopback OpenAI-compatible server speaking OpenRouter's wire format (127.0.0.1, a free port).

Tests queue replies (`server.reply(...)`); each request is recorded (path, headers, JSON body).
With nothing queued, chat answers `server.default_content`. The payload shapes follow OpenRouter's
API reference (chat completion with `usage.cost`, SSE chunks with `: OPENROUTER PROCESSING`
comments, `{"error": {"code", "message"}}` bodies, mid-stream `error` chunks, embeddings).
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Reply:
    status: int = 200
    json: Any = None
    sse: list[str] | None = None  # raw SSE text pieces, sent one by one
    headers: dict[str, str] = field(default_factory=dict)


def usage(prompt: int = 412, completion: int = 96, cost: float | None = 0.0000731) -> dict[str, Any]:
    body: dict[str, Any] = {
        "prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0},
        "is_byok": False,
    }
    if cost is not None:
        body["cost"] = cost
        body["cost_details"] = {"upstream_inference_cost": None}
    return body


def completion(content: str, *, model: str = "google/gemini-2.5-flash-lite", gen_id: str = "gen-1764112345-abc123",
               cost: float | None = 0.0000731, prompt: int = 412, completion_tokens: int = 96,
               finish_reason: str = "stop") -> Reply:
    return Reply(json={
        "id": gen_id, "provider": "Google", "model": model, "object": "chat.completion", "created": int(time.time()),
        "choices": [{"logprobs": None, "finish_reason": finish_reason, "native_finish_reason": "STOP", "index": 0,
                     "message": {"role": "assistant", "content": content, "refusal": None, "reasoning": None}}],
        "usage": usage(prompt, completion_tokens, cost),
    })


def error(status: int, message: str, *, retry_after: str | None = None, metadata: dict | None = None) -> Reply:
    payload: dict[str, Any] = {"code": status, "message": message}
    if metadata is not None:
        payload["metadata"] = metadata
    return Reply(status=status, json={"error": payload}, headers={"Retry-After": retry_after} if retry_after else {})


def _chunk(gen_id: str, model: str, delta: dict, finish: str | None = None, **extra: Any) -> str:
    data = {"id": gen_id, "provider": "OpenAI", "model": model, "object": "chat.completion.chunk",
            "created": int(time.time()),
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "native_finish_reason": finish,
                         "logprobs": None}], **extra}
    return f"data: {json.dumps(data)}\n\n"


def stream(pieces: list[str], *, model: str = "openai/gpt-4.1-nano", gen_id: str = "gen-1764112399-str",
           cost: float = 0.000012, comments: int = 2, error_after: int | None = None) -> Reply:
    """SSE as OpenRouter sends it: processing comments first, deltas, a finish chunk, a usage chunk,
    [DONE]. With `error_after=n`, after n deltas an error chunk ends the stream (HTTP 200 already sent)."""
    events = [": OPENROUTER PROCESSING\n\n"] * comments
    for i, piece in enumerate(pieces):
        if error_after is not None and i == error_after:
            events.append(_chunk(gen_id, model, {"content": ""}, "error",
                                 error={"code": "server_error", "message": "Provider disconnected unexpectedly"}))
            return Reply(sse=events, headers={"Content-Type": "text/event-stream"})
        events.append(_chunk(gen_id, model, {"role": "assistant", "content": piece}))
        if i == 0:
            events.append(": OPENROUTER PROCESSING\n\n")
    events.append(_chunk(gen_id, model, {"role": "assistant", "content": ""}, "stop"))
    usage_chunk = {"id": gen_id, "provider": "OpenAI", "model": model, "object": "chat.completion.chunk",
                   "created": int(time.time()), "choices": [], "usage": usage(20, len(pieces), cost)}
    events.append(f"data: {json.dumps(usage_chunk)}\n\n")
    events.append("data: [DONE]\n\n")
    return Reply(sse=events, headers={"Content-Type": "text/event-stream"})


def embeddings(vectors: list[list[float]], *, model: str = "openai/text-embedding-3-small",
               cost: float = 0.00000016) -> Reply:
    return Reply(json={
        "id": "gen-emb-1764112400-xyz", "object": "list", "model": model,
        "data": [{"object": "embedding", "embedding": v, "index": i} for i, v in enumerate(vectors)],
        "usage": {"prompt_tokens": 8 * len(vectors), "total_tokens": 8 * len(vectors), "cost": cost},
    })


class LoopbackLLM:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.replies: deque[Reply | Callable[[Recorded], Reply]] = deque()
        self.default_content = "ok"
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task | None = None
        self.url = ""

    def reply(self, *replies: Reply | Callable[[Recorded], Reply]) -> None:
        self.replies.extend(replies)

    def chats(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    async def start(self) -> LoopbackLLM:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        self._server = uvicorn.Server(uvicorn.Config(self.app, interface="asgi3", lifespan="off", log_level="warning",
                                                     access_log=False))
        self._server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            await asyncio.sleep(0.005)
        self.url = f"http://127.0.0.1:{port}/api/v1"
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            await self._task

    async def app(self, scope, receive, send) -> None:  # noqa: ANN001
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        request = Recorded(method=scope["method"], path=scope["path"],
                           headers={k.decode().lower(): v.decode() for k, v in scope["headers"]},
                           body=json.loads(body) if body else None)
        self.requests.append(request)
        reply = self.replies.popleft() if self.replies else self._default(request)
        if callable(reply):
            reply = reply(request)
        headers = [(k.lower().encode(), v.encode()) for k, v in reply.headers.items()]
        if reply.sse is not None:
            await send({"type": "http.response.start", "status": reply.status, "headers": headers})
            for piece in reply.sse:
                await send({"type": "http.response.body", "body": piece.encode(), "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        payload = json.dumps(reply.json).encode()
        headers.append((b"content-type", b"application/json"))
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    def _default(self, request: Recorded) -> Reply:
        if request.path.endswith("/embeddings"):
            inputs = request.body["input"]
            dims = request.body.get("dimensions") or 8
            return embeddings([[1.0] + [0.0] * (dims - 1) for _ in inputs], model=request.body["model"])
        if request.body and request.body.get("stream"):
            return stream([self.default_content])
        return completion(self.default_content, model=request.body["model"] if request.body else "x")
