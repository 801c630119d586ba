"""Per-user quotas: searches per UTC day, premium-source calls per UTC calendar month.

Counting is one atomic statement per use (`INSERT ... ON CONFLICT DO UPDATE ... WHERE used <
limit`), so concurrent requests and workers never go over. A user's own quotas (`user_quotas`,
set by an admin) override the configured defaults.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import msgspec
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from zentropy.db import tenant
from zentropy.quotas.models import UserQuota
from zentropy.quotas.settings import QuotaSettings, quota_settings

SEARCHES = "searches"
PREMIUM_CALLS = "premium_calls"
LIMIT_COLUMN = {SEARCHES: "searches_per_day", PREMIUM_CALLS: "premium_calls_per_month"}

TAKE_SQL = """
    INSERT INTO quota_usage AS u (user_id, kind, period_start, used)
    SELECT CAST(:user_id AS uuid), CAST(:kind AS text), CAST(:period AS date), 1
    WHERE COALESCE((SELECT q.{column} FROM user_quotas q WHERE q.user_id = CAST(:user_id AS uuid)),
                   CAST(:default AS integer)) > 0
    ON CONFLICT (user_id, kind, period_start) DO UPDATE SET used = u.used + 1
    WHERE u.used < COALESCE((SELECT q.{column} FROM user_quotas q WHERE q.user_id = CAST(:user_id AS uuid)),
                            CAST(:default AS integer))
    RETURNING u.used
"""
GIVE_BACK_SQL = text("UPDATE quota_usage SET used = greatest(used - 1, 0) "
                     "WHERE user_id = :user_id AND kind = :kind AND period_start = :period")
REMAINING_SQL = """
    SELECT COALESCE((SELECT q.{column} FROM user_quotas q WHERE q.user_id = CAST(:user_id AS uuid)),
                    CAST(:default AS integer))
           - COALESCE((SELECT u.used FROM quota_usage u WHERE u.user_id = CAST(:user_id AS uuid)
                       AND u.kind = :kind AND u.period_start = CAST(:period AS date)), 0)
"""


class QuotaExceeded(Exception):
    def __init__(self, kind: str, limit: int, retry_after: int, resets_at: datetime) -> None:
        super().__init__(f"{kind} quota of {limit} used up")
        self.kind, self.limit, self.retry_after, self.resets_at = kind, limit, retry_after, resets_at


class QuotaView(msgspec.Struct, kw_only=True):
    limit: int
    used: int
    remaining: int
    period: str  # day | month
    resets_at: datetime


class Quotas(msgspec.Struct, kw_only=True):
    searches: QuotaView
    premium_calls: QuotaView


def _now() -> datetime:
    return datetime.now(timezone.utc)


def period_start(kind: str, now: datetime) -> date:
    day = now.astimezone(timezone.utc).date()
    return day if kind == SEARCHES else day.replace(day=1)


def resets_at(kind: str, now: datetime) -> datetime:
    start = period_start(kind, now)
    if kind == SEARCHES:
        end = start + timedelta(days=1)
    else:
        end = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return datetime.combine(end, time(0), tzinfo=timezone.utc)


def default_limit(settings: QuotaSettings, kind: str) -> int:
    return settings.searches_per_day if kind == SEARCHES else settings.premium_calls_per_month


async def take(session: AsyncSession, settings: QuotaSettings, user_id: uuid.UUID, kind: str,
               now: datetime | None = None) -> None:
    """Use one of `kind` in the session's transaction, or raise `QuotaExceeded`."""
    now = now or _now()
    used = (await session.execute(text(TAKE_SQL.format(column=LIMIT_COLUMN[kind])), {
        "user_id": user_id, "kind": kind, "period": period_start(kind, now),
        "default": default_limit(settings, kind)})).scalar()
    if used is None:
        limit = await _limit(session, settings, user_id, kind)
        reset = resets_at(kind, now)
        raise QuotaExceeded(kind, limit, max(1, int((reset - now).total_seconds()) + 1), reset)


async def give_back(session: AsyncSession, user_id: uuid.UUID, kind: str, now: datetime | None = None) -> None:
    await session.execute(GIVE_BACK_SQL, {"user_id": user_id, "kind": kind,
                                          "period": period_start(kind, now or _now())})


async def remaining(session: AsyncSession, settings: QuotaSettings, user_id: uuid.UUID, kind: str,
                    now: datetime | None = None) -> int:
    value = (await session.execute(text(REMAINING_SQL.format(column=LIMIT_COLUMN[kind])), {
        "user_id": user_id, "kind": kind, "period": period_start(kind, now or _now()),
        "default": default_limit(settings, kind)})).scalar_one()
    return max(0, int(value))


async def _limit(session: AsyncSession, settings: QuotaSettings, user_id: uuid.UUID, kind: str) -> int:
    own = await session.get(UserQuota, user_id)
    value = getattr(own, LIMIT_COLUMN[kind]) if own is not None else None
    return default_limit(settings, kind) if value is None else value


async def usage(runtime: Any, user_id: uuid.UUID, now: datetime | None = None) -> Quotas:
    """The user's quotas: limits, use this period, when they reset."""
    now = now or _now()
    settings = quota_settings(runtime)
    views = {}
    with tenant(user_id):
        async with runtime.db.session() as session:
            for kind in (SEARCHES, PREMIUM_CALLS):
                limit = await _limit(session, settings, user_id, kind)
                used = (await session.execute(text(
                    "SELECT used FROM quota_usage WHERE user_id = :u AND kind = :k AND period_start = :p"),
                    {"u": user_id, "k": kind, "p": period_start(kind, now)})).scalar() or 0
                views[kind] = QuotaView(limit=limit, used=used, remaining=max(0, limit - used),
                                        period="day" if kind == SEARCHES else "month", resets_at=resets_at(kind, now))
    return Quotas(searches=views[SEARCHES], premium_calls=views[PREMIUM_CALLS])


async def set_user_quotas(runtime: Any, user_id: uuid.UUID, *, searches_per_day: int | None,
                          premium_calls_per_month: int | None) -> None:
    """Give a user quotas of their own (None: back to the configured default). For the admin CLI."""
    for value in (searches_per_day, premium_calls_per_month):
        if value is not None and value < 0:
            raise ValueError("a quota is a number of calls, 0 or more")
    with tenant(user_id):
        async with runtime.db.session() as session:
            statement = insert(UserQuota).values(user_id=user_id, searches_per_day=searches_per_day,
                                                 premium_calls_per_month=premium_calls_per_month)
            await session.execute(statement.on_conflict_do_update(
                index_elements=[UserQuota.user_id],
                set_={"searches_per_day": searches_per_day, "premium_calls_per_month": premium_calls_per_month,
                      "updated_at": text("now()")}))


class PremiumBudget:
    """A user's premium-call budget as the engine uses it: one call taken before each premium call
    (in a transaction of its own), given back when the call fails."""

    def __init__(self, runtime: Any, user_id: uuid.UUID) -> None:
        self.runtime, self.user_id = runtime, user_id
        self.settings = quota_settings(runtime)

    async def available(self) -> bool:
        with tenant(self.user_id):
            async with self.runtime.db.session() as session:
                return await remaining(session, self.settings, self.user_id, PREMIUM_CALLS) > 0

    async def take(self) -> bool:
        try:
            with tenant(self.user_id):
                async with self.runtime.db.session() as session:
                    await take(session, self.settings, self.user_id, PREMIUM_CALLS)
        except QuotaExceeded:
            return False
        return True

    async def give_back(self) -> None:
        with tenant(self.user_id):
            async with self.runtime.db.session() as session:
                await give_back(session, self.user_id, PREMIUM_CALLS)


class Unlimited:
    """No per-user budget (the operator's `zentropy fetch`)."""

    async def available(self) -> bool:
        return True

    async def take(self) -> bool:
        return True

    async def give_back(self) -> None:
        return None
