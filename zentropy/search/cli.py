"""`zentropy fetch`: run the tier engine in a terminal, with progress per tier and source and a
summary table (the same engine, catalog, cache tier and shared source limits as the service; no
user, so no quotas and the default source order)."""

from __future__ import annotations

import asyncio
from typing import Any

import click
import msgspec


@click.command("fetch")
@click.argument("keywords")
@click.option("--location", help="Where (city, region).")
@click.option("--remote", is_flag=True, help="Remote jobs only.")
@click.option("--country", help="ISO 3166 country code, e.g. gb, us, de.")
@click.option("--want", type=click.IntRange(1, 500), default=None,
              help="Results wanted (default ZENTROPY_SEARCH_WANT).")
@click.option("--no-premium", is_flag=True, help="Never call premium sources.")
@click.option("--json", "as_json", is_flag=True, help="Print the report and results as JSON.")
def fetch(keywords: str, location: str | None, remote: bool, country: str | None, want: int | None, no_premium: bool,
          as_json: bool) -> None:
    """Search for KEYWORDS through the tiers: cache, free sources, then premium ones."""
    from zentropy.cli import load_settings
    from zentropy.search.query import SearchIn, normalize

    if country is not None and (len(country) != 2 or not country.isalpha()):
        raise click.BadParameter("a two-letter country code", param_hint="--country")
    query = normalize(SearchIn(keywords=keywords, location=location, remote=remote, country=country))
    if query.empty:
        raise click.UsageError("give keywords (or --location) to search for")
    asyncio.run(_fetch(load_settings(), query, want, not no_premium, as_json))


async def _fetch(settings: Any, query: Any, want: int | None, allow_premium: bool, as_json: bool) -> None:
    from rich.console import Console

    from zentropy.quotas.service import Unlimited
    from zentropy.runtime import Runtime
    from zentropy.search.engine import SearchRun, TierEngine
    from zentropy.search.priorities import ordered, plan_for
    from zentropy.search.settings import search_settings

    runtime = await Runtime.start(settings)
    err = Console(stderr=True, width=120)
    try:
        engine = TierEngine.of(runtime)
        want = want or search_settings(runtime).want
        states = engine.sources.sources()
        plan = plan_for(states, ordered(states, {}))
        with _Progress(err, want) as progress:
            run = SearchRun(query, want=want, plan=plan, allow_premium=allow_premium, budget=Unlimited(),
                            on_event=progress.event)
            await engine.run(run)
        if as_json:
            from zentropy.search.results import summaries
            from datetime import datetime, timezone

            async with runtime.db.session() as session:
                items = await summaries(session, list(run.results), list(run.results.values()),
                                        runtime.settings.public_url, datetime.now(timezone.utc))
            click.echo(msgspec.json.format(msgspec.json.encode(
                {"query": query, "want": want, "report": run.report.public(), "results": items})).decode())
        else:
            _summary(Console(width=120), run)
    finally:
        engine_sources = runtime.extras.get("search.sources")
        if engine_sources is not None:
            await engine_sources.aclose()
        await runtime.close()


class _Progress:
    """A progress bar per tier and source, filled as results come in (out of those wanted)."""

    def __init__(self, console: Any, want: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.want = want
        self.progress = Progress(TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[status]}"), console=console, transient=False)
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> _Progress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def _task(self, key: str, description: str) -> Any:
        if key not in self.tasks:
            self.tasks[key] = self.progress.add_task(description, total=self.want, status="")
        return self.tasks[key]

    async def event(self, event: dict) -> None:
        kind = event["type"]
        if kind == "tier" and event["tier"] == "cache":
            task = self._task("cache", "cache")
            self.progress.update(task, completed=min(self.want, event["results"]), status=event["status"])
        elif kind == "tier":
            task = self._task(event["tier"], f"{event['tier']} tier")
            status = event["status"] + (f" ({event['reason']})" if event.get("reason") else "")
            self.progress.update(task, status=status, completed=min(self.want, event.get("results") or 0))
        elif kind == "source":
            task = self._task(f"{event['tier']}:{event['source']}", f"  {event['source']}")
            status = event["status"] + (f": {event['error_code']}" if event.get("error_code") else "")
            self.progress.update(task, completed=min(self.want, event.get("added", 0)), status=status)


def _summary(console: Any, run: Any) -> None:
    from rich.table import Table

    report = run.report
    table = Table("source", "tier", "status", "results", "new", "duplicates", "cost")
    cache = report.cache
    if cache is not None:
        table.add_row("cache", "cache", "answered" if cache.answered else "partial", str(cache.matches), "-", "-",
                      "0")
    for tier in report.tiers:
        for source in tier.sources:
            status = source.status + (f" ({source.reason or source.error_code})"
                                      if source.reason or source.error_code else "")
            cost = f"{source.cost:g} {source.cost_unit}" if source.cost else "0"
            table.add_row(source.source, tier.tier, status, str(source.results), str(source.new),
                          str(source.duplicates), cost)
    console.print(table)
    console.print(f"{len(run.results)} results for {run.want} wanted; cost {report.cost:g}"
                  f"{'; answered by the cache' if cache and cache.answered else ''}")
