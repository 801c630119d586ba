"""Running the engine in tests the way the worker does, without a user when none is needed."""

from __future__ import annotations

from typing import Any

from zentropy.quotas.service import Unlimited
from zentropy.search.engine import SearchRun, TierEngine
from zentropy.search.priorities import ordered, plan_for
from zentropy.search.query import SearchIn, normalize


async def run_engine(rt: Any, keywords: str, *, want: int = 10, allow_premium: bool = True, budget: Any = None,
                     order: dict[str, tuple[int, bool]] | None = None, events: list | None = None,
                     **query: Any) -> SearchRun:
    engine = TierEngine.of(rt)
    states = engine.sources.sources()
    plan = plan_for(states, ordered(states, order or {}))

    async def collect(event: dict) -> None:
        if events is not None:
            events.append(event)

    run = SearchRun(normalize(SearchIn(keywords=keywords, **query)), want=want, plan=plan, allow_premium=allow_premium,
                    budget=budget or Unlimited(), on_event=collect)
    return await engine.run(run)


def sources_of(run: SearchRun) -> dict[str, dict]:
    """Each source's report by name, as plain data."""
    import msgspec

    return {s["source"]: s for t in msgspec.to_builtins(run.report)["tiers"] for s in t["sources"]}


def tiers_of(run: SearchRun) -> dict[str, dict]:
    import msgspec

    return {t["tier"]: t for t in msgspec.to_builtins(run.report)["tiers"]}
