"""Every call recorded, and the checks made before each call: the user's rate limit and budget."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import msgspec
import sqlalchemy as sa
from redis.asyncio import Redis

from zentropy.db import Database, tenant
from zentropy.llm.errors import LLMError
from zentropy.llm.models import LLMSystemUsage, LLMUsage


class CallRecord(msgspec.Struct, frozen=True, kw_only=True):
    user_id: uuid.UUID | None
    task: str
    provider: str
    model: str
    latency_ms: int
    status: str  # ok | failed | invalid_output | cancelled
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None
    generation_id: str | None = None
    error_code: str | None = None
    byok: bool = False


async def record(db: Database, call: CallRecord) -> None:
    """A user's call goes to their tenant table, a call for no user to the system table."""
    values = {
        "task": call.task, "provider": call.provider, "model": call.model, "generation_id": call.generation_id,
        "prompt_tokens": call.prompt_tokens, "completion_tokens": call.completion_tokens,
        "cost_usd": Decimal(str(call.cost)) if call.cost is not None else None,
        "latency_ms": call.latency_ms, "status": call.status, "error_code": call.error_code,
    }
    if call.user_id is None:
        async with db.session() as session:
            await session.execute(sa.insert(LLMSystemUsage).values(**values))
        return
    with tenant(call.user_id):
        async with db.session() as session:
            await session.execute(sa.insert(LLMUsage).values(**values, user_id=call.user_id, byok=call.byok))


def month_start(now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


async def month_cost(db: Database, user_id: uuid.UUID) -> float:
    """What the user's calls cost this calendar month (UTC), calls with their own key excluded."""
    with tenant(user_id):
        async with db.session() as session:
            total = await session.scalar(
                sa.select(sa.func.coalesce(sa.func.sum(LLMUsage.cost_usd), 0))
                .where(LLMUsage.created_at >= month_start(), LLMUsage.byok.is_(False))
            )
    return float(total or 0)


async def check_budget(db: Database, user_id: uuid.UUID, budget_usd: float) -> None:
    spent = await month_cost(db, user_id)
    if spent >= budget_usd:
        raise LLMError("llm_budget_exceeded",
                       f"Your monthly LLM budget of ${budget_usd:.2f} is spent (${spent:.4f} used); it renews on "
                       "the 1st, or add your own OpenRouter key.", fallback=False)


async def check_rate(redis: Redis, user_id: uuid.UUID, calls: int, seconds: int, now: float | None = None) -> None:
    """A fixed window per user in Redis; every check counts as a call."""
    now = time.time() if now is None else now
    window = int(now // seconds)
    key = f"zentropy:llm:rate:{user_id}:{window}"
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, seconds * 2)
        count, _ = await pipe.execute()
    if count > calls:
        retry_after = max(1.0, (window + 1) * seconds - now)
        raise LLMError("llm_rate_limited", f"Too many LLM calls: at most {calls} per {seconds} s; "
                       f"try again in {round(retry_after)} s.", retry_after=retry_after, fallback=False)
