"""What an LLM provider is: the calls it offers and what every call returns (content and usage).

A provider plugin registers an object following `Provider` through `register_llm_providers`. The
core never sees a provider's wire format; it sees `ChatResult`, `Delta` and `EmbeddingResult`, each
with `Usage` (tokens, cost when the provider reports it), the provider's generation id and the model
that actually answered (which may be a fallback model).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Literal, Protocol, runtime_checkable

import msgspec

Role = Literal["system", "user", "assistant"]
Capability = Literal["chat", "structured", "stream", "embed", "extract"]


class Message(msgspec.Struct, frozen=True):
    role: Role
    content: str


class Usage(msgspec.Struct, frozen=True, kw_only=True):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None  # in USD (OpenRouter credits), when the provider reports it


class ChatRequest(msgspec.Struct, frozen=True, kw_only=True):
    messages: list[Message]
    models: list[str]  # the first is wanted; the others are fallbacks, in order
    schema: dict[str, Any] | None = None  # JSON schema for structured output
    schema_name: str = "output"
    temperature: float | None = None
    max_tokens: int | None = None


class CallContext(msgspec.Struct, frozen=True, kw_only=True):
    """Who a call is for, set by the core: never derived from a request's content."""

    app_url: str  # Settings.public_url, for attribution headers
    user: str | None = None  # an opaque per-user id (HMAC of the user id), never the id itself
    api_key: str | None = None  # the user's own key (BYOK) when they stored one; else the system key


class ChatResult(msgspec.Struct, frozen=True, kw_only=True):
    content: str
    usage: Usage
    model: str  # the model that answered
    provider: str
    generation_id: str | None = None
    finish_reason: str | None = None


class Delta(msgspec.Struct, frozen=True):
    """A piece of streamed content. A stream ends with one `ChatResult` holding all of it."""

    content: str


class EmbeddingResult(msgspec.Struct, frozen=True, kw_only=True):
    vectors: list[list[float]]
    usage: Usage
    model: str
    provider: str
    generation_id: str | None = None


class ProviderInfo(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    capabilities: frozenset[Capability]
    configured: bool  # a system key (or nothing needed); a user's own key can stand in for it
    accepts_user_keys: bool = False  # BYOK: a user's stored key can be used in place of the system key
    server_fallback: bool = False  # takes the whole `models` list and falls back on its side
    local: bool = False  # runs on this machine: no key, no cost, nothing leaves it
    detail: str = ""


@runtime_checkable
class Provider(Protocol):
    """Methods for capabilities the provider lacks may be missing; `info.capabilities` says which exist.

    - `async chat(request, ctx) -> ChatResult` (capability `chat`; `structured` when `request.schema`
      is honoured)
    - `stream(request, ctx) -> AsyncIterator[Delta | ChatResult]` (capability `stream`)
    - `async embed(texts, model, ctx, *, dimensions=None) -> EmbeddingResult` (capability `embed`)
    - `async extract(text) -> Extraction` (capability `extract`: a deterministic extractor)

    Failures raise `zentropy.llm.errors.LLMError`.
    """

    info: ProviderInfo


class ChatProvider(Provider, Protocol):
    async def chat(self, request: ChatRequest, ctx: CallContext) -> ChatResult: ...

    def stream(self, request: ChatRequest, ctx: CallContext) -> AsyncIterator[Delta | ChatResult]: ...


class EmbeddingProvider(Provider, Protocol):
    async def embed(self, texts: list[str], model: str, ctx: CallContext, *,
                    dimensions: int | None = None) -> EmbeddingResult: ...


def json_schema(cls: type[msgspec.Struct]) -> dict[str, Any]:
    """`cls`'s JSON schema with the object at its root (as structured-output APIs require)."""
    schema = msgspec.json.schema(cls)
    defs: dict[str, Any] = dict(schema.get("$defs", {}))
    name = schema["$ref"].rsplit("/", 1)[-1]
    root = dict(defs.pop(name))
    if defs:
        root["$defs"] = defs
    return root
