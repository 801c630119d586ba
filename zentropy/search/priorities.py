"""Per-user source priority: the order sources are tried in within their tier, which are used,
and whether premium sources may be. Sources a user never placed follow those they did, in the
default order: free before premium, cheaper before dearer, then by name."""

from __future__ import annotations

import uuid
import msgspec
from sqlalchemy import delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from zentropy.search.models import SearchPreferences, SourcePriority
from zentropy.sources.contract import SourceInfo
from zentropy.sources.service import SourceState

TIERS = ("free", "premium")


class SourceChoice(msgspec.Struct, kw_only=True):
    name: str
    tier: str
    cost_per_call: float
    cost_unit: str
    configured: bool
    enabled: bool
    position: int  # 0-based, over all sources (tiers run free first whatever the positions)


class Priorities(msgspec.Struct, kw_only=True):
    allow_premium: bool
    sources: list[SourceChoice]


class PlannedSource(msgspec.Struct, kw_only=True):
    info: SourceInfo
    reason: str | None = None  # set: in the report as skipped for this reason


class Plan(msgspec.Struct, kw_only=True):
    """The sources a search may call, per tier, in the user's order (`reason`: listed, not called)."""

    tiers: dict[str, list[PlannedSource]]

    def runnable(self, tier: str) -> list[SourceInfo]:
        return [p.info for p in self.tiers.get(tier, []) if p.reason is None]


def default_key(info: SourceInfo) -> tuple:
    return (TIERS.index(info.tier) if info.tier in TIERS else len(TIERS), info.cost_per_call, info.name)


def ordered(states: list[SourceState], stored: dict[str, tuple[int, bool]]) -> list[SourceChoice]:
    by_default = sorted(states, key=lambda s: default_key(s.info))
    placed = sorted((s for s in by_default if s.name in stored), key=lambda s: stored[s.name][0])
    rest = [s for s in by_default if s.name not in stored]
    return [SourceChoice(name=s.name, tier=s.info.tier, cost_per_call=s.info.cost_per_call, cost_unit=s.info.cost_unit,
                         configured=s.configured, enabled=stored.get(s.name, (0, True))[1], position=i)
            for i, s in enumerate(placed + rest)]


def plan_for(states: list[SourceState], choices: list[SourceChoice]) -> Plan:
    infos = {s.name: s.info for s in states}
    tiers: dict[str, list[PlannedSource]] = {tier: [] for tier in TIERS}
    for choice in sorted(choices, key=lambda c: c.position):
        if not choice.configured:
            continue
        tiers.setdefault(choice.tier, []).append(
            PlannedSource(info=infos[choice.name], reason=None if choice.enabled else "disabled"))
    return Plan(tiers=tiers)


async def stored_priorities(session: AsyncSession,
                            user_id: uuid.UUID) -> tuple[dict[str, tuple[int, bool]], bool | None]:
    rows = (await session.execute(select(SourcePriority).where(SourcePriority.user_id == user_id))).scalars()
    prefs = await session.get(SearchPreferences, user_id)
    return {r.source: (r.position, r.enabled) for r in rows}, (prefs.allow_premium if prefs else None)


async def load_priorities(session: AsyncSession, user_id: uuid.UUID, states: list[SourceState],
                          premium_by_default: bool) -> Priorities:
    stored, allow = await stored_priorities(session, user_id)
    return Priorities(allow_premium=premium_by_default if allow is None else allow, sources=ordered(states, stored))


async def save_priorities(session: AsyncSession, user_id: uuid.UUID, order: list[tuple[str, bool]] | None,
                          allow_premium: bool | None) -> None:
    """Replace the user's order with `order` ((name, enabled), first first) and/or set premium."""
    if order is not None:
        await session.execute(delete(SourcePriority).where(SourcePriority.user_id == user_id))
        if order:
            await session.execute(insert(SourcePriority), [
                {"user_id": user_id, "source": name, "position": i, "enabled": enabled}
                for i, (name, enabled) in enumerate(order)])
    if allow_premium is not None:
        statement = pg_insert(SearchPreferences).values(user_id=user_id, allow_premium=allow_premium)
        await session.execute(statement.on_conflict_do_update(
            index_elements=[SearchPreferences.user_id],
            set_={"allow_premium": allow_premium, "updated_at": func.now()}))
