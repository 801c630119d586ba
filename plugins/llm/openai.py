"""OpenAI (and any OpenAI-compatible API) on the `openai` SDK: chat, structured output, streaming,
embeddings. Retries are the core's (zentropy.llm.service), so the SDK's own are off."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import msgspec
import openai

from zentropy.hookspecs import hookimpl
from zentropy.llm.contract import (
    CallContext,
    ChatRequest,
    ChatResult,
    Delta,
    EmbeddingResult,
    ProviderInfo,
    Usage,
)
from zentropy.llm.errors import LLMError, parse_retry_after
from zentropy.settings import SettingsError, env, read_settings

CHAT_CAPABILITIES = frozenset({"chat", "structured", "stream", "embed"})


class OpenAIKey(msgspec.Struct, frozen=True, kw_only=True):
    api_key: Annotated[str, env("OPENAI_API_KEY", secret=True, doc="OpenAI API key.")]


class OpenAIConnection(msgspec.Struct, frozen=True, kw_only=True):
    base_url: Annotated[
        str | None, env("OPENAI_BASE_URL", doc="OpenAI-compatible API base URL (default: OpenAI's).")
    ] = None
    timeout: Annotated[float, msgspec.Meta(gt=0), env("OPENAI_TIMEOUT", doc="Seconds per request.")] = 60.0


def optional_key(cls: type[msgspec.Struct]) -> str | None:
    try:
        return read_settings(cls).api_key  # type: ignore[attr-defined]
    except SettingsError:
        return None


class OpenAICompatibleProvider:
    """One provider over an OpenAI-compatible HTTP API. Subclasses add headers and body fields."""

    name = "openai"
    accepts_user_keys = False
    server_fallback = False

    def __init__(self, *, api_key: str | None, base_url: str | None = None, timeout: float = 60.0) -> None:
        self.api_key = api_key
        self.base_url = base_url
        self.timeout = timeout
        self._client: openai.AsyncOpenAI | None = None
        self.info = ProviderInfo(
            name=self.name, capabilities=CHAT_CAPABILITIES, configured=api_key is not None,
            accepts_user_keys=self.accepts_user_keys, server_fallback=self.server_fallback,
            detail=base_url or "",
        )

    # -- wire details subclasses change -----------------------------------------------------
    def headers(self, ctx: CallContext) -> dict[str, str]:
        return {}

    def body(self, request: ChatRequest | None, ctx: CallContext) -> dict[str, Any]:
        return {}

    def usage(self, usage: Any) -> Usage:
        if usage is None:
            return Usage()
        extra = getattr(usage, "model_extra", None) or {}
        cost = extra.get("cost")
        return Usage(prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
                     completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
                     cost=float(cost) if isinstance(cost, int | float) else None)

    # -- clients ------------------------------------------------------------------------------
    def _make_client(self, api_key: str) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(api_key=api_key, base_url=self.base_url, timeout=self.timeout, max_retries=0)

    def _client_for(self, ctx: CallContext) -> tuple[openai.AsyncOpenAI, bool]:
        """(client, owned): a user's own key gets a client of its own, closed after the call."""
        if ctx.api_key is not None and self.accepts_user_keys:
            return self._make_client(ctx.api_key), True
        if self.api_key is None:
            raise LLMError("llm_unavailable", f"{self.name}: no API key configured", provider=self.name)
        if self._client is None:
            self._client = self._make_client(self.api_key)
        return self._client, False

    def _byok(self, ctx: CallContext) -> bool:
        return ctx.api_key is not None and self.accepts_user_keys

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    # -- calls --------------------------------------------------------------------------------
    def _chat_kwargs(self, request: ChatRequest, ctx: CallContext) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": request.models[0],
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "extra_headers": self.headers(ctx),
            "extra_body": self.body(request, ctx),
        }
        if ctx.user:
            kwargs["user"] = ctx.user
        if request.temperature is not None:
            kwargs["temperature"] = request.temperature
        if request.max_tokens is not None:
            kwargs["max_tokens"] = request.max_tokens
        if request.schema is not None:
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": request.schema_name, "strict": True, "schema": request.schema},
            }
        return kwargs

    async def chat(self, request: ChatRequest, ctx: CallContext) -> ChatResult:
        client, owned = self._client_for(ctx)
        try:
            response = await client.chat.completions.create(**self._chat_kwargs(request, ctx))
        except openai.APIError as exc:
            raise self.error(exc, ctx) from None
        finally:
            if owned:
                await client.close()
        error = (response.model_extra or {}).get("error")
        choice = response.choices[0] if response.choices else None
        if error or choice is None or choice.finish_reason == "error":
            raise LLMError("llm_provider_error", f"{self.name}: {_error_message(error) or 'no answer'}",
                           provider=self.name, retryable=True)
        return ChatResult(
            content=choice.message.content or "", usage=self.usage(response.usage), model=response.model,
            provider=self.name, generation_id=response.id, finish_reason=choice.finish_reason,
        )

    async def stream(self, request: ChatRequest, ctx: CallContext) -> AsyncIterator[Delta | ChatResult]:
        """Deltas, then one ChatResult. An error event after content has started is a failure
        (`llm_stream_failed`, not retryable: the consumer already has part of an answer)."""
        client, owned = self._client_for(ctx)
        parts: list[str] = []
        usage, model, generation_id, finish = Usage(), request.models[0], None, None
        stream = None
        try:
            stream = await client.chat.completions.create(
                **self._chat_kwargs(request, ctx), stream=True, stream_options={"include_usage": True})
            async for chunk in stream:
                model = chunk.model or model
                generation_id = chunk.id or generation_id
                if chunk.usage is not None:
                    usage = self.usage(chunk.usage)
                for choice in chunk.choices:
                    if choice.finish_reason == "error":
                        raise LLMError("llm_stream_failed", f"{self.name}: the model failed mid-answer",
                                       provider=self.name, retryable=not parts)
                    finish = choice.finish_reason or finish
                    if choice.delta and choice.delta.content:
                        parts.append(choice.delta.content)
                        yield Delta(choice.delta.content)
        except openai.APIError as exc:
            if isinstance(exc, openai.APIStatusError | openai.APIConnectionError):
                raise self.error(exc, ctx) from None
            raise LLMError("llm_stream_failed", f"{self.name}: {exc.message}", provider=self.name,
                           retryable=not parts) from None
        finally:
            if stream is not None:
                await stream.close()
            if owned:
                await client.close()
        yield ChatResult(content="".join(parts), usage=usage, model=model, provider=self.name,
                         generation_id=generation_id, finish_reason=finish)

    async def embed(self, texts: list[str], model: str, ctx: CallContext, *,
                    dimensions: int | None = None) -> EmbeddingResult:
        client, owned = self._client_for(ctx)
        kwargs: dict[str, Any] = {"model": model, "input": texts, "encoding_format": "float",
                                  "extra_headers": self.headers(ctx), "extra_body": self.body(None, ctx)}
        if dimensions is not None:
            kwargs["dimensions"] = dimensions
        if ctx.user:
            kwargs["user"] = ctx.user
        try:
            response = await client.embeddings.create(**kwargs)
        except openai.APIError as exc:
            raise self.error(exc, ctx) from None
        finally:
            if owned:
                await client.close()
        rows = sorted(response.data, key=lambda d: d.index)
        if len(rows) != len(texts):
            raise LLMError("llm_provider_error", f"{self.name}: {len(rows)} embeddings for {len(texts)} texts",
                           provider=self.name, retryable=True)
        return EmbeddingResult(
            vectors=[list(map(float, row.embedding)) for row in rows], usage=self.usage(response.usage),
            model=response.model or model, provider=self.name,
            generation_id=(response.model_extra or {}).get("id"),
        )

    # -- errors -------------------------------------------------------------------------------
    def error(self, exc: openai.APIError, ctx: CallContext) -> LLMError:
        whose = "your own API key" if self._byok(ctx) else "the service's account"
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            detail = _error_message(exc.body) or exc.message
            if status == 402:
                return LLMError("llm_out_of_credits",
                                f"{self.name}: {whose} is out of credits; add credits and try again",
                                provider=self.name, retryable=False)
            if status == 429:
                return LLMError("llm_provider_rate_limited", f"{self.name}: rate limited", provider=self.name,
                                retryable=True, retry_after=parse_retry_after(exc.response.headers.get("retry-after")))
            if status in (401, 403):
                return LLMError("llm_provider_auth", f"{self.name}: {whose} was refused ({status}): {detail}",
                                provider=self.name)
            if status == 404:
                return LLMError("llm_model_unavailable", f"{self.name}: {detail}", provider=self.name)
            if status == 408 or status >= 500:
                return LLMError("llm_provider_unavailable", f"{self.name}: {status} {detail}", provider=self.name,
                                retryable=True, retry_after=parse_retry_after(exc.response.headers.get("retry-after")))
            return LLMError("llm_bad_request", f"{self.name}: {status} {detail}", provider=self.name)
        if isinstance(exc, openai.APIConnectionError):  # includes timeouts
            return LLMError("llm_provider_unavailable", f"{self.name}: unreachable", provider=self.name, retryable=True)
        return LLMError("llm_provider_error", f"{self.name}: {exc.message}", provider=self.name, retryable=True)


def _error_message(body: Any) -> str | None:
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return inner["message"]
        if isinstance(body.get("message"), str):
            return body["message"]
    return None


class OpenAIProvider(OpenAICompatibleProvider):
    name = "openai"


def provider_from_env() -> OpenAIProvider:
    connection = read_settings(OpenAIConnection)
    return OpenAIProvider(api_key=optional_key(OpenAIKey), base_url=connection.base_url, timeout=connection.timeout)


@hookimpl
def register_settings(register):
    register(OpenAIKey)
    register(OpenAIConnection)


@hookimpl
def register_llm_providers(register):
    register(provider_from_env())
