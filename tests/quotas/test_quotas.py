"""Per-user quotas: atomic under concurrency, a user's own quotas over the defaults, periods."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from zentropy.db import tenant
from zentropy.quotas import service as quotas
from zentropy.quotas.service import PREMIUM_CALLS, SEARCHES, PremiumBudget, QuotaExceeded
from zentropy.quotas.settings import QuotaSettings


async def take(rig, user, kind=SEARCHES, now=None) -> bool:
    try:
        with tenant(user):
            async with rig.rt.db.session() as session:
                await quotas.take(session, rig.rt.extras["quotas.settings"], user, kind, now)
    except QuotaExceeded:
        return False
    return True


async def test_concurrent_uses_never_go_over_the_limit(rig):
    rig.quotas(searches_per_day=5)
    user = await rig.user()
    outcomes = await asyncio.gather(*(take(rig, user) for _ in range(20)))
    assert outcomes.count(True) == 5
    view = await quotas.usage(rig.rt, user)
    assert (view.searches.used, view.searches.remaining, view.searches.limit) == (5, 0, 5)


async def test_the_refusal_says_when_the_quota_resets(rig):
    rig.quotas(searches_per_day=1)
    user = await rig.user()
    now = datetime(2026, 3, 31, 23, 0, tzinfo=timezone.utc)
    assert await take(rig, user, now=now)
    with pytest.raises(QuotaExceeded) as refused, tenant(user):
        async with rig.rt.db.session() as session:
            await quotas.take(session, rig.rt.extras["quotas.settings"], user, SEARCHES, now)
    assert refused.value.resets_at == datetime(2026, 4, 1, tzinfo=timezone.utc)
    assert refused.value.retry_after == 3601 and refused.value.limit == 1
    assert await take(rig, user, now=now + timedelta(hours=1))  # a new day


async def test_a_users_own_quotas_override_the_defaults_for_them_only(rig):
    rig.quotas(searches_per_day=1, premium_calls_per_month=1)
    user, other = await rig.user(), await rig.user()
    await quotas.set_user_quotas(rig.rt, user, searches_per_day=3, premium_calls_per_month=0)
    assert [await take(rig, user) for _ in range(4)] == [True, True, True, False]
    assert [await take(rig, other) for _ in range(2)] == [True, False]
    budget = PremiumBudget(rig.rt, user)
    assert await budget.available() is False and await budget.take() is False
    assert await PremiumBudget(rig.rt, other).take() is True
    await quotas.set_user_quotas(rig.rt, user, searches_per_day=None, premium_calls_per_month=None)
    view = await quotas.usage(rig.rt, user)
    assert (view.searches.limit, view.premium_calls.limit) == (1, 1)
    with pytest.raises(ValueError):
        await quotas.set_user_quotas(rig.rt, user, searches_per_day=-1, premium_calls_per_month=None)


async def test_a_premium_call_given_back_is_available_again(rig):
    rig.quotas(premium_calls_per_month=2)
    user = await rig.user()
    budget = PremiumBudget(rig.rt, user)
    assert [await budget.take() for _ in range(3)] == [True, True, False]
    await budget.give_back()
    assert await budget.available() is True and await budget.take() is True
    view = await quotas.usage(rig.rt, user)
    assert view.premium_calls.used == 2 and view.premium_calls.period == "month"


@hsettings(max_examples=60, deadline=None)
@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(timezone.utc)))
def test_periods_contain_the_moment_and_reset_at_the_next_one(moment):
    for kind in (SEARCHES, PREMIUM_CALLS):
        start = datetime.combine(quotas.period_start(kind, moment), datetime.min.time(), tzinfo=timezone.utc)
        reset = quotas.resets_at(kind, moment)
        assert start <= moment < reset
        assert quotas.period_start(kind, reset) != quotas.period_start(kind, moment)
        assert quotas.period_start(kind, reset - timedelta(microseconds=1)) == quotas.period_start(kind, moment)


def test_defaults_and_settings():
    assert QuotaSettings() == QuotaSettings(searches_per_day=200, premium_calls_per_month=100)
