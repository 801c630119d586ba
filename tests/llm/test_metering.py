"""Per-user metering: rows under RLS, the monthly budget and the rate limit before each call, daily totals."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tests.llm.conftest import usage_rows
from tests.llm.loopback import completion
from zentropy.db import tenant
from zentropy.llm.contract import Message
from zentropy.llm.errors import LLMError
from zentropy.llm.metering import check_rate
from zentropy.llm.models import LLMUsage
from zentropy.llm.usage import usage_report

HI = [Message("user", "Hi")]


async def add_usage(runtime, user_id, *, cost, when=None, byok=False, status="ok", prompt=10, completion_tokens=5):
    with tenant(user_id):
        async with runtime.db.session() as session:
            values = dict(user_id=user_id, task="scoring", provider="openrouter", model="m", prompt_tokens=prompt,
                          completion_tokens=completion_tokens, cost_usd=Decimal(str(cost)), latency_ms=5,
                          status=status, byok=byok)
            if when is not None:
                values["created_at"] = when
            await session.execute(sa.insert(LLMUsage).values(**values))


async def test_a_users_calls_are_theirs_alone(make_service, openrouter, new_user, runtime):
    service, _ = make_service([openrouter])
    alice, bob = await new_user(), await new_user()
    await service.chat("scoring", HI, user_id=alice)
    assert len(await usage_rows(runtime, alice)) == 1
    assert await usage_rows(runtime, bob) == []
    # without a tenant, the service sees no usage rows at all
    async with runtime.db.session() as session:
        assert await session.scalar(sa.text("SELECT count(*) FROM llm_usage")) == 0
    # and bob cannot write a row in alice's name
    with pytest.raises(sa.exc.DBAPIError):
        with tenant(bob):
            async with runtime.db.session() as session:
                await session.execute(sa.insert(LLMUsage).values(
                    user_id=alice, task="t", provider="p", model="m", latency_ms=1, status="ok"))


async def test_over_budget_the_call_is_refused_before_it_is_made(make_service, openrouter, loopback, new_user,
                                                                 runtime):
    service, _ = make_service([openrouter], monthly_budget_usd=0.05)
    user = await new_user()
    await add_usage(runtime, user, cost=0.03)
    loopback.reply(completion("ok", cost=0.025))
    await service.chat("scoring", HI, user_id=user)  # 0.03 spent: allowed, and it costs 0.025
    with pytest.raises(LLMError) as caught:
        await service.chat("scoring", HI, user_id=user)
    problem = caught.value.problem()
    assert (problem.status_code, problem.code) == (402, "llm_budget_exceeded")
    assert "$0.05" in problem.detail
    assert len(loopback.chats()) == 1  # the refused call never reached the provider
    assert len(await usage_rows(runtime, user)) == 2  # and nothing was recorded for it


async def test_last_months_spending_and_own_key_spending_do_not_count(make_service, openrouter, new_user, runtime):
    service, _ = make_service([openrouter], monthly_budget_usd=0.05)
    user = await new_user()
    first_of_month = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    await add_usage(runtime, user, cost=5, when=first_of_month - timedelta(seconds=1))
    await add_usage(runtime, user, cost=5, byok=True)
    await service.chat("scoring", HI, user_id=user)


async def test_rate_limit_refuses_with_429_and_retry_after(make_service, openrouter, loopback, new_user):
    service, _ = make_service([openrouter], rate_limit_calls=2, rate_limit_seconds=3600)
    user = await new_user()
    await service.chat("scoring", HI, user_id=user)
    await service.chat("scoring", HI, user_id=user)
    with pytest.raises(LLMError) as caught:
        await service.chat("scoring", HI, user_id=user)
    problem = caught.value.problem()
    assert (problem.status_code, problem.code) == (429, "llm_rate_limited")
    assert 0 < caught.value.retry_after <= 3600 and int(problem.headers["Retry-After"]) >= 1
    assert len(loopback.chats()) == 2
    other = await new_user()  # limits are per user
    await service.chat("scoring", HI, user_id=other)


async def test_rate_window_resets(redis):
    user = uuid.uuid4()
    await check_rate(redis, user, 1, 60, now=120.0)
    with pytest.raises(LLMError):
        await check_rate(redis, user, 1, 60, now=150.0)
    await check_rate(redis, user, 1, 60, now=180.0)  # the next window


async def test_system_calls_have_no_budget_or_rate_limit(make_service, openrouter, loopback, system_rows):
    service, _ = make_service([openrouter], monthly_budget_usd=0, rate_limit_calls=1)
    await service.chat("scoring", HI)
    await service.chat("scoring", HI)
    assert len(await system_rows()) == 2


async def test_usage_report_has_daily_totals(runtime, new_user, make_service):
    service, _ = make_service([])
    user, other = await new_user(), await new_user()
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    await add_usage(runtime, user, cost=0.01, when=today - timedelta(days=1), prompt=100, completion_tokens=20)
    await add_usage(runtime, user, cost=0.02, when=today - timedelta(days=1), prompt=50, completion_tokens=10,
                    status="failed")
    await add_usage(runtime, user, cost=0.5, when=today, byok=True)
    await add_usage(runtime, user, cost=0.004, when=today)
    await add_usage(runtime, user, cost=9, when=today - timedelta(days=40))  # outside the window
    await add_usage(runtime, other, cost=1, when=today)
    report = await usage_report(runtime, user, service.settings, today=today.date())
    assert [(d.day, d.calls, d.failed_calls, d.prompt_tokens, d.completion_tokens) for d in report.days] == [
        ((today - timedelta(days=1)).date(), 2, 1, 150, 30), (today.date(), 2, 0, 20, 10)]
    assert report.days[0].cost_usd == pytest.approx(0.03)
    assert report.days[1].cost_usd == pytest.approx(0.004) and report.days[1].own_key_cost_usd == pytest.approx(0.5)
    assert report.monthly_budget_usd == service.settings.monthly_budget_usd
    assert report.own_key is False
    assert report.month_cost_usd <= 0.034 + 1e-9


async def test_spend_and_calls_reach_the_cluster_metrics(make_service, openrouter, loopback, new_user, runtime):
    from zentropy import metrics

    service, _ = make_service([openrouter])
    user = await new_user()
    before = await metrics.render(runtime.redis)
    loopback.reply(completion("ok", cost=0.25))
    await service.chat("scoring", HI, user_id=user)
    after = (await metrics.render(runtime.redis)).decode()

    def value(text: str, name: str) -> float:
        lines = [line for line in text.splitlines() if line.startswith(name + "{") and 'task="scoring"' in line]
        return sum(float(line.rsplit(" ", 1)[1]) for line in lines)

    spent = value(after, "zentropy_llm_spend_usd_total") - value(before.decode(), "zentropy_llm_spend_usd_total")
    calls = value(after, "zentropy_llm_calls_total") - value(before.decode(), "zentropy_llm_calls_total")
    assert spent == pytest.approx(0.25) and calls == 1
