"""Calls to LLM providers for a task: routing, the user's own key, checks, retries, metering.

`llm_service(runtime)` is the one entry point. A task's route (settings) is an ordered list of
provider:model; providers that are missing, unconfigured or lack the capability are skipped; the
rest are tried in order. Each provider call is preceded by the user's rate-limit and budget checks,
retried on 429 (honouring Retry-After) and 5xx, and recorded — success or failure — in the usage
tables.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

import msgspec
from cryptography.exceptions import InvalidTag

from zentropy import metrics
from zentropy.llm.contract import CallContext, ChatRequest, ChatResult, Delta, EmbeddingResult, Message, Usage
from zentropy.llm.crypto import opaque_user_id
from zentropy.llm.errors import LLMError
from zentropy.llm.keys import load_user_key
from zentropy.llm.metering import CallRecord, check_budget, check_rate, record
from zentropy.llm.routing import Attempt, Router, providers_from
from zentropy.llm.settings import EMBEDDING_DIMENSION, LLMSettings, Task, read_llm_settings
from zentropy.runtime import Runtime

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")
EMBED_BATCH = 64


class LLMService:
    def __init__(self, runtime: Runtime, settings: LLMSettings | None = None, providers: dict[str, Any] | None = None,
                 *, sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        self.runtime = runtime
        self.settings = settings or read_llm_settings()
        plugin_of = None
        if providers is None:
            providers, plugin_of = providers_from(runtime.plugins)
        self.router = Router(self.settings, providers, plugin_of)
        self.sleep = sleep

    # -- routing ------------------------------------------------------------------------------
    async def context(self, user_id: uuid.UUID | None) -> CallContext:
        secret = self.runtime.settings.secret_key
        if user_id is None:
            return CallContext(app_url=self.runtime.settings.public_url)
        try:
            api_key = await load_user_key(self.runtime, user_id)
        except InvalidTag:  # encrypted under another secret key: unusable, and never guessed around
            raise LLMError("llm_provider_auth", "Your stored OpenRouter key can no longer be read (the service's "
                           "secret key changed): store it again, or remove it.", fallback=False) from None
        return CallContext(app_url=self.runtime.settings.public_url, user=opaque_user_id(secret, user_id),
                           api_key=api_key)

    async def run(self, task: Task, user_id: uuid.UUID | None, handler: Callable[[Attempt], Awaitable[T]]) -> T:
        """`handler(attempt)` for each attempt of the route until one succeeds; an error that may not
        fall back (the user's budget or rate limit, an invalid answer) ends the run."""
        ctx = await self.context(user_id)
        attempts = self.router.plan(task, ctx, user_id)
        if not attempts:
            raise LLMError("llm_unavailable", f"No LLM provider can do {task}: set OPENROUTER_API_KEY or change "
                           f"ZENTROPY_LLM_{task.upper()}_MODELS.", fallback=False)
        last: LLMError | None = None
        for attempt in attempts:
            try:
                return await handler(attempt)
            except LLMError as exc:
                if not exc.fallback:
                    raise
                log.warning("LLM attempt failed, trying the next", extra={
                    "task": task, "provider": attempt.info.name, "models": attempt.models, "code": exc.code})
                last = exc
        assert last is not None
        raise last

    # -- one provider call ----------------------------------------------------------------------
    async def guard(self, attempt: Attempt) -> None:
        """The user's rate limit, then their budget (not for their own key nor for local providers)."""
        if attempt.user_id is None:
            return
        await check_rate(self.runtime.redis, attempt.user_id, self.settings.rate_limit_calls,
                         self.settings.rate_limit_seconds)
        if not attempt.byok and not attempt.info.local:
            await check_budget(self.runtime.db, attempt.user_id, self.settings.monthly_budget_usd)

    def backoff(self, tries: int) -> float:
        return min(0.5 * 2 ** tries, self.settings.max_retry_wait)

    def _wait(self, exc: LLMError, tries: int) -> float | None:
        """Seconds to wait before retrying, or None: not retryable, retries spent, or too long a wait."""
        if not exc.retryable or tries >= self.settings.max_retries:
            return None
        wait = exc.retry_after if exc.retry_after is not None else self.backoff(tries)
        return wait if wait <= self.settings.max_retry_wait else None

    async def chat_validated(self, attempt: Attempt, request: Callable[[], ChatRequest],
                             parse: Callable[[ChatResult], T]) -> T:
        """A chat call whose answer `parse` validates: an invalid answer is asked for once more (with
        a fresh `request()`), then `llm_invalid_output` is raised."""
        for remaining in (1, 0):
            chat_request = request()
            try:
                return await self.call(attempt, lambda: attempt.provider.chat(chat_request, attempt.ctx), parse)
            except LLMError as exc:
                if exc.code != "llm_invalid_output" or not remaining:
                    raise
        raise AssertionError("unreachable")

    async def call(self, attempt: Attempt, op: Callable[[], Awaitable[R]],
                   parse: Callable[[R], T] | None = None) -> T:
        """One call (checked, retried, recorded). `parse` turns the result into the value; a
        msgspec error there records `invalid_output` and raises `llm_invalid_output`."""
        await self.guard(attempt)
        tries = 0
        while True:
            started = time.monotonic()
            try:
                result = await op()
            except LLMError as exc:
                await self._record(attempt, started, "failed", error=exc)
                wait = self._wait(exc, tries)
                if wait is None:
                    raise
                tries += 1
                await self.sleep(wait)
                continue
            try:
                value = parse(result) if parse is not None else result
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                await self._record(attempt, started, "invalid_output", result=result, code="llm_invalid_output")
                raise LLMError("llm_invalid_output", f"{attempt.info.name}: the answer does not match the "
                               f"schema ({exc})", provider=attempt.info.name, fallback=False) from None
            except LLMError as exc:
                await self._record(attempt, started, "failed", result=result, error=exc)
                raise
            await self._record(attempt, started, "ok", result=result)
            return value  # type: ignore[return-value]

    async def _record(self, attempt: Attempt, started: float, status: str, *, result: Any = None,
                      error: LLMError | None = None, code: str | None = None) -> None:
        usage: Usage = getattr(result, "usage", None) or Usage()
        try:
            await record(self.runtime.db, CallRecord(
                user_id=attempt.user_id, task=attempt.task, provider=attempt.info.name,
                model=getattr(result, "model", None) or attempt.models[0],
                latency_ms=int((time.monotonic() - started) * 1000), status=status,
                prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens, cost=usage.cost,
                generation_id=getattr(result, "generation_id", None),
                error_code=error.code if error is not None else code, byok=attempt.byok,
            ))
            model = getattr(result, "model", None) or attempt.models[0]
            await metrics.count(self.runtime.redis, "zentropy_llm_calls", task=attempt.task, model=model,
                                status=status)
            if usage.cost:
                await metrics.count(self.runtime.redis, "zentropy_llm_spend_usd", float(usage.cost),
                                    task=attempt.task, model=model)
        except Exception:  # metering must not turn a good answer into an error; it is logged
            log.exception("LLM usage could not be recorded", extra={"task": attempt.task})

    # -- the calls tasks make -------------------------------------------------------------------
    async def chat(self, task: Task, messages: list[Message], *, user_id: uuid.UUID | None = None,
                   schema: dict[str, Any] | None = None, schema_name: str = "output",
                   temperature: float | None = None, max_tokens: int | None = None) -> ChatResult:
        async def attempt_chat(attempt: Attempt) -> ChatResult:
            if "chat" not in attempt.info.capabilities:
                raise LLMError("llm_unavailable", f"{attempt.info.name} cannot chat", provider=attempt.info.name)
            request = ChatRequest(messages=messages, models=attempt.models, schema=schema, schema_name=schema_name,
                                  temperature=temperature, max_tokens=max_tokens)
            return await self.call(attempt, lambda: attempt.provider.chat(request, attempt.ctx))

        return await self.run(task, user_id, attempt_chat)

    async def stream(self, task: Task, messages: list[Message], *, user_id: uuid.UUID | None = None,
                     temperature: float | None = None, max_tokens: int | None = None,
                     ) -> AsyncIterator[Delta | ChatResult]:
        """Deltas then one ChatResult. Before any content, a failed attempt is retried or the next
        one tried; once content has been sent, a failure ends the stream with `llm_stream_failed`."""
        ctx = await self.context(user_id)
        attempts = [a for a in self.router.plan(task, ctx, user_id) if "stream" in a.info.capabilities]
        last: LLMError | None = None
        for attempt in attempts:
            request = ChatRequest(messages=messages, models=attempt.models, temperature=temperature,
                                  max_tokens=max_tokens)
            await self.guard(attempt)
            tries = 0
            while True:
                started, emitted, finished = time.monotonic(), False, False
                try:
                    async for event in attempt.provider.stream(request, attempt.ctx):
                        if isinstance(event, ChatResult):
                            finished = True
                            await self._record(attempt, started, "ok", result=event)
                            yield event
                            return
                        emitted = True
                        yield event
                    raise LLMError("llm_stream_failed", f"{attempt.info.name}: the stream ended without an answer",
                                   provider=attempt.info.name, retryable=not emitted)
                except LLMError as exc:
                    finished = True
                    await self._record(attempt, started, "failed", error=exc)
                    if emitted:
                        raise LLMError("llm_stream_failed", exc.message, provider=exc.provider,
                                       fallback=False) from None
                    wait = self._wait(exc, tries)
                    if wait is not None:
                        tries += 1
                        await self.sleep(wait)
                        continue
                    if not exc.fallback:
                        raise
                    last = exc
                    break
                finally:
                    if not finished:  # the consumer stopped reading
                        await self._record(attempt, started, "cancelled")
        raise last or LLMError("llm_unavailable", f"No LLM provider can stream {task}.", fallback=False)

    def embedding_attempt(self, ctx: CallContext, user_id: uuid.UUID | None = None) -> Attempt:
        attempts = self.router.plan("embedding", ctx, user_id)
        if not attempts:
            raise LLMError("llm_unavailable", "No embedding model is available: see ZENTROPY_LLM_EMBEDDING_MODELS.",
                           fallback=False)
        return attempts[0]

    def embedding_model(self) -> str:
        """provider:model of the embeddings made without a user key: store it beside each vector, since
        vectors of different models are not comparable."""
        attempt = self.embedding_attempt(CallContext(app_url=self.runtime.settings.public_url))
        return f"{attempt.info.name}:{attempt.models[0]}"

    def user_embedding_attempt(self, ctx: CallContext, user_id: uuid.UUID) -> Attempt:
        """A user's embedding call, made with the service's embedding model (their vectors are compared
        with the postings'): through their own key when their route reaches that same provider and
        model, else with the service's provider — in both cases metered to them and checked against
        their rate limit (and budget, unless their key or a local model pays)."""
        service = self.embedding_attempt(CallContext(app_url=self.runtime.settings.public_url))
        wanted = (service.info.name, service.models[0])
        if ctx.api_key is not None:
            mine = self.router.plan("embedding", ctx, user_id)
            if mine and (mine[0].info.name, mine[0].models[0]) == wanted:
                return Attempt(provider=mine[0].provider, models=[wanted[1]], ctx=ctx, byok=mine[0].byok,
                               user_id=user_id, task="embedding")
        return Attempt(provider=service.provider, models=[wanted[1]],
                       ctx=CallContext(app_url=ctx.app_url, user=ctx.user), byok=False, user_id=user_id,
                       task="embedding")

    async def embed(self, texts: list[str], *, user_id: uuid.UUID | None = None) -> EmbeddingResult:
        """Unit vectors of EMBEDDING_DIMENSION floats, from the first available embedding model only:
        falling back to another model would mix vector spaces, so a failure is raised instead. With a
        user id the call is the user's (metered, rate-limited, budget-checked, their own key when it
        reaches the same model: see `user_embedding_attempt`)."""
        ctx = await self.context(user_id)
        attempt = self.embedding_attempt(ctx) if user_id is None else self.user_embedding_attempt(ctx, user_id)
        model = attempt.models[0]
        vectors: list[list[float]] = []
        prompt_tokens, cost, costed, generation_id, answered = 0, 0.0, False, None, model
        for start in range(0, len(texts), EMBED_BATCH):
            batch = texts[start:start + EMBED_BATCH]
            result: EmbeddingResult = await self.call(
                attempt, partial(attempt.provider.embed, batch, model, attempt.ctx, dimensions=EMBEDDING_DIMENSION),
                parse=partial(_checked_embeddings, count=len(batch), provider=attempt.info.name))
            vectors.extend(result.vectors)
            prompt_tokens += result.usage.prompt_tokens
            if result.usage.cost is not None:
                cost, costed = cost + result.usage.cost, True
            generation_id, answered = result.generation_id or generation_id, result.model
        return EmbeddingResult(vectors=vectors, usage=Usage(prompt_tokens=prompt_tokens, cost=cost if costed else None),
                               model=answered, provider=attempt.info.name, generation_id=generation_id)

def _checked_embeddings(result: EmbeddingResult, count: int, provider: str) -> EmbeddingResult:
    if len(result.vectors) != count or any(len(v) != EMBEDDING_DIMENSION for v in result.vectors):
        sizes = sorted({len(v) for v in result.vectors})
        raise LLMError("llm_embedding_dimension", f"{provider}: {result.model} returned vectors of {sizes} "
                       f"dimensions; {EMBEDDING_DIMENSION} are needed (choose a model that accepts `dimensions`)",
                       provider=provider, fallback=False)
    return result


async def close_llm(runtime: Runtime) -> None:
    """Close the providers' HTTP clients (the plugins' providers, and those of the runtime's service):
    called by `Runtime.close()` when the API or the worker shuts down. A provider that is called
    again opens a new client."""
    providers = list(providers_from(runtime.plugins)[0].values())
    service = runtime.extras.get("llm")
    if service is not None:
        providers.extend(service.router.providers.values())
    seen: set[int] = set()
    for provider in providers:
        close = getattr(provider, "close", None)
        if close is None or id(provider) in seen:
            continue
        seen.add(id(provider))
        try:
            await close()
        except Exception:  # one provider's failure to close must not keep the others open
            log.exception("LLM provider did not close", extra={"provider": provider.info.name})


def llm_service(runtime: Runtime) -> LLMService:
    """The runtime's LLM service (made on first use, settings read from the environment)."""
    service = runtime.extras.get("llm")
    if service is None:
        service = runtime.extras["llm"] = LLMService(runtime)
    return service
