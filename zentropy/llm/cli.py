"""`zentropy llm status`: which LLM providers are loaded and configured, and what each task uses."""

from __future__ import annotations

import click
import msgspec


@click.group()
def llm() -> None:
    """LLM providers and task routing."""


@llm.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def status(as_json: bool) -> None:
    """Providers (configured or not) and, per task, its route and the entry in use without a user key."""
    from zentropy.cli import load_settings
    from zentropy.llm.routing import Router, providers_from
    from zentropy.llm.settings import read_llm_settings
    from zentropy.plugins import load_plugins
    from zentropy.settings import SettingsError

    try:
        llm_settings = read_llm_settings()
    except SettingsError as exc:
        raise click.ClickException(f"configuration error: {exc}") from None
    providers, plugin_of = providers_from(load_plugins(load_settings()))
    report = Router(llm_settings, providers, plugin_of).status()
    if as_json:
        click.echo(msgspec.json.format(msgspec.json.encode(report)).decode())
        return
    from rich.console import Console
    from rich.table import Table

    console = Console(width=200)
    table = Table("provider", "plugin", "configured", "capabilities", "own keys", "detail", title="LLM providers")
    for p in report.providers:
        table.add_row(p.name, p.plugin, "yes" if p.configured else "no", ", ".join(p.capabilities),
                      "yes" if p.accepts_user_keys else "", p.detail)
    console.print(table)
    routes = Table("task", "in use", "route (why an entry is skipped)", title="Task routes")
    for task, entries in report.routes.items():
        route = "; ".join(e.ref if e.available else f"{e.ref} ({e.reason})" for e in entries)
        routes.add_row(task, report.in_use[task] or "NONE: calls fail with llm_unavailable", route)
    console.print(routes)
