"""A user's LLM usage: daily totals and where they stand against their monthly budget."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import msgspec
import sqlalchemy as sa

from zentropy.db import tenant
from zentropy.llm.keys import has_user_key
from zentropy.llm.metering import month_cost
from zentropy.llm.models import LLMUsage
from zentropy.llm.settings import LLMSettings
from zentropy.runtime import Runtime


class DailyUsage(msgspec.Struct, frozen=True, kw_only=True):
    day: date  # UTC
    calls: int
    failed_calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float  # charged to the budget
    own_key_cost_usd: float  # paid with the user's own key


class UsageReport(msgspec.Struct, frozen=True, kw_only=True):
    days: list[DailyUsage]  # days with calls, oldest first
    month_cost_usd: float
    monthly_budget_usd: float
    budget_remaining_usd: float
    own_key: bool


async def usage_report(runtime: Runtime, user_id: uuid.UUID, settings: LLMSettings, *, days: int = 31,
                       today: date | None = None) -> UsageReport:
    today = today or datetime.now(UTC).date()
    since = datetime.combine(today - timedelta(days=days - 1), datetime.min.time(), tzinfo=UTC)
    day = sa.func.date(sa.func.timezone("UTC", LLMUsage.created_at)).label("day")
    cost = sa.func.coalesce(LLMUsage.cost_usd, 0)
    query = (
        sa.select(
            day,
            sa.func.count().label("calls"),
            sa.func.count().filter(LLMUsage.status != "ok").label("failed"),
            sa.func.coalesce(sa.func.sum(LLMUsage.prompt_tokens), 0).label("prompt"),
            sa.func.coalesce(sa.func.sum(LLMUsage.completion_tokens), 0).label("completion"),
            sa.func.coalesce(sa.func.sum(cost).filter(LLMUsage.byok.is_(False)), 0).label("cost"),
            sa.func.coalesce(sa.func.sum(cost).filter(LLMUsage.byok.is_(True)), 0).label("own"),
        )
        .where(LLMUsage.created_at >= since)
        .group_by(day)
        .order_by(day)
    )
    with tenant(user_id):
        async with runtime.db.session() as session:
            rows = (await session.execute(query)).all()
    spent = await month_cost(runtime.db, user_id)
    return UsageReport(
        days=[DailyUsage(day=r.day, calls=r.calls, failed_calls=r.failed, prompt_tokens=int(r.prompt),
                         completion_tokens=int(r.completion), cost_usd=float(r.cost), own_key_cost_usd=float(r.own))
              for r in rows],
        month_cost_usd=spent,
        monthly_budget_usd=settings.monthly_budget_usd,
        budget_remaining_usd=max(0.0, settings.monthly_budget_usd - spent),
        own_key=await has_user_key(runtime, user_id),
    )
