"""`zentropy sources`: list the job sources, and try one."""

from __future__ import annotations

import asyncio
from typing import Any

import click
import msgspec

from zentropy.sources.contract import (
    Page,
    Posting,
    SearchQuery,
    SourceError,
    SourceInfo,
)


def _load_settings():  # noqa: ANN202
    from zentropy.cli import load_settings

    return load_settings()


@click.group()
def sources() -> None:
    """Job sources: what is registered and configured, and a quick search with one."""


@sources.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_sources(as_json: bool) -> None:
    """Each source: tier, cost, limits, configured (and what to set when it is not)."""
    from zentropy.plugins import load_plugins
    from zentropy.sources.service import source_states

    states = source_states(load_plugins(_load_settings()))
    if as_json:
        click.echo(msgspec.json.format(msgspec.json.encode(states)).decode())
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("source", "plugin", "tier", "cost", "limits", "fetch", "configured")
    for state in states:
        info = state.info
        limits = ", ".join(f"{limit.calls}/{_period(limit.per_seconds)}" for limit in info.rate_limits)
        cost = f"{info.cost_per_call:g} {info.cost_unit}" if info.cost_per_call else "free"
        table.add_row(state.name, state.plugin, info.tier, cost, limits or "-", "yes" if info.supports_fetch else "no",
                      "yes" if state.configured else f"no: {state.problem}")
    Console(width=200).print(table)


@sources.command("try")
@click.argument("name")
@click.argument("keywords", default="")
@click.option("--location", help="Where (city, region).")
@click.option("--remote", is_flag=True, help="Remote jobs only.")
@click.option("--country", help="ISO 3166 country code, e.g. gb, us, de.")
@click.option("--days", type=click.IntRange(min=1), help="Posted within this many days.")
@click.option("--limit", type=click.IntRange(1, 100), default=10, show_default=True, help="Page size.")
@click.option("--cursor", help="The next-page cursor a previous try printed.")
@click.option("--json", "as_json", is_flag=True, help="Print the page as JSON.")
@click.option("--raw", is_flag=True, help="With --json: include each posting's raw item.")
def try_source(name: str, keywords: str, location: str | None, remote: bool, country: str | None, days: int | None,
               limit: int, cursor: str | None, as_json: bool, raw: bool) -> None:
    """Search source NAME for KEYWORDS and print its normalized postings.

    Uses the configured database and Redis (or the embedded default), so the call counts against
    the source's shared limits and is written to the ledger like any other.
    """
    query = SearchQuery(keywords=keywords, location=location, remote_only=remote,
                        country=country.lower() if country else None, posted_within_days=days, page_size=limit)
    from zentropy.plugins import load_plugins
    from zentropy.sources.service import source_states

    settings = _load_settings()
    plugins = load_plugins(settings)
    states = {state.name: state for state in source_states(plugins)}
    if name not in states:  # say so before connecting to anything
        raise click.ClickException(f"{name}: no source named {name!r} (registered: {', '.join(states) or 'none'}) "
                                   "[unknown_source]")
    if not states[name].configured:
        raise click.ClickException(f"{name}: not configured: {states[name].problem} [not_configured]")

    async def run() -> tuple[SourceInfo, Page]:
        from zentropy.runtime import Runtime
        from zentropy.sources.service import SourceService

        runtime = await Runtime.start(settings, plugins)
        try:
            async with SourceService(runtime) as service:
                return service.info(name), await service.search(name, query, cursor)
        finally:
            await runtime.close()

    try:
        info, page = asyncio.run(run())
    except SourceError as exc:
        retry = f" (retry after {exc.retry_after:.0f} s)" if exc.retry_after else ""
        raise click.ClickException(f"{exc} [{exc.code}]{retry}") from None
    if as_json:
        click.echo(msgspec.json.format(msgspec.json.encode(_as_json(info, page, raw))).decode())
        return
    _print_page(info, page)


def _as_json(info: SourceInfo, page: Page, raw: bool) -> dict[str, Any]:
    postings = [msgspec.to_builtins(p) for p in page.postings]
    if not raw:
        for posting in postings:
            posting.pop("raw", None)
    return {"source": info.name, "attribution": info.attribution, "attribution_url": info.attribution_url,
            "total": page.total, "skipped": page.skipped, "next_cursor": page.next_cursor, "postings": postings}


def _print_page(info: SourceInfo, page: Page) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=200)
    table = Table("#", "title", "company", "where", "remote", "salary", "posted", "url")
    for number, posting in enumerate(page.postings, 1):
        posted = posting.posted_at.date().isoformat() if posting.posted_at else ""
        table.add_row(str(number), posting.title, posting.company or "", ", ".join(posting.locations),
                      posting.remote, _salary(posting), posted, posting.apply_url or posting.source_url or "")
    console.print(table)
    facts = [f"{len(page.postings)} postings"]
    if page.total is not None:
        facts.append(f"{page.total} in all")
    if page.skipped:
        facts.append(f"{page.skipped} malformed item(s) skipped")
    console.print("; ".join(facts))
    if page.next_cursor:
        console.print(f"next page: --cursor {page.next_cursor}", soft_wrap=True)
    if info.attribution:
        console.print(f"{info.attribution}" + (f" — {info.attribution_url}" if info.attribution_url else ""))


def _salary(posting: Posting) -> str:
    salary = posting.salary
    if salary is None:
        return ""
    amounts = " – ".join(f"{v:,.0f}" for v in (salary.min, salary.max) if v is not None)
    if salary.min is not None and salary.min == salary.max:
        amounts = f"{salary.min:,.0f}"
    parts = [salary.currency or "", amounts, f"/{salary.period}" if salary.period else "",
             " (predicted)" if salary.predicted else ""]
    return " ".join(p for p in parts[:2] if p) + "".join(parts[2:])


def _period(seconds: int) -> str:
    for size, unit in ((31 * 86_400, "month"), (7 * 86_400, "week"), (86_400, "day"), (3600, "h"), (60, "min")):
        if seconds % size == 0 and seconds >= size:
            count = seconds // size
            return unit if count == 1 else f"{count} {unit}"
    return f"{seconds} s"
