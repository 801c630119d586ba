"""The `zentropy` command."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
import msgspec

from zentropy.settings import Settings, SettingsError, read_settings


def load_settings() -> Settings:
    try:
        return read_settings(Settings)
    except SettingsError as exc:
        raise click.ClickException(f"configuration error: {exc}") from None


T = TypeVar("T")


def run_with_runtime(work: Callable[[Any], Awaitable[T]]) -> T:
    """For a one-off command: settings loaded, logging configured, `work(runtime)` run on a started
    `Runtime`, which is closed after."""
    from zentropy.logging import configure
    from zentropy.runtime import Runtime

    settings = load_settings()
    configure(settings.log_level, settings.log_format)

    async def main() -> T:
        runtime = await Runtime.start(settings)
        try:
            return await work(runtime)
        finally:
            await runtime.close()

    return asyncio.run(main())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="zentropy")
def cli() -> None:
    """Zentropy: find job postings from many sources, cheaply and without duplicates."""


@cli.command()
@click.option("--host", default=None, help="Address to bind (default: HOST or 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port to bind (default: PORT or 8000).")
def serve(host: str | None, port: int | None) -> None:
    """Run the HTTP API. With no DATABASE_URL / REDIS_URL, on the embedded default with the worker in-process."""
    import uvicorn

    from zentropy.app import create_app
    from zentropy.logging import configure

    settings = load_settings()
    options = server_options(settings)
    configure(settings.log_level, settings.log_format)
    uvicorn.run(create_app(settings), host=host or settings.host, port=port or settings.port, log_config=None,
                **options)


def server_options(settings: Settings) -> dict[str, object]:
    """uvicorn's proxy options: X-Forwarded-For / -Proto are believed only from ZENTROPY_FORWARDED_ALLOW_IPS."""
    import ipaddress

    allowed = [part.strip() for part in settings.forwarded_allow_ips.split(",") if part.strip()]
    for part in allowed:
        if part == "*":
            continue
        try:
            ipaddress.ip_network(part, strict=False)
        except ValueError:
            raise click.ClickException(
                f"configuration error: ZENTROPY_FORWARDED_ALLOW_IPS: {part!r} is neither an address, a network "
                "(CIDR) nor *") from None
    trusted = "*" if "*" in allowed else ",".join(allowed)
    return {"proxy_headers": bool(allowed), "forwarded_allow_ips": trusted or None}


@cli.command()
def worker() -> None:
    """Run the SAQ worker: jobs and cron jobs from the core and plugins."""
    from zentropy import embedded
    from zentropy.logging import configure
    from zentropy.runtime import Runtime
    from zentropy.worker.run import run_worker

    settings = load_settings()
    configure(settings.log_level, settings.log_format)

    async def main() -> None:
        runtime = await Runtime.start(settings)
        try:
            await run_worker(runtime)
        finally:
            await runtime.close()
            embedded.stop()

    asyncio.run(main())


@cli.group()
def db() -> None:
    """Database schema commands."""


@db.command()
def upgrade() -> None:
    """Apply migrations (as the owner, DATABASE_URL) and provision the service role."""
    from zentropy import embedded
    from zentropy.db.migrate import head_revision, run_upgrade

    settings = embedded.resolve(load_settings())
    run_upgrade(settings.database_url, settings.database_app_user, settings.database_app_password)
    click.echo(f"database at revision {head_revision()}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins(as_json: bool) -> None:
    """List plugins: kinds, distribution, version, configured, and errors of failed ones."""
    from zentropy.plugins import load_plugins

    rows = load_plugins(load_settings()).info()
    if as_json:
        click.echo(msgspec.json.format(msgspec.json.encode(rows)).decode())
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("plugin", "kinds", "distribution", "version", "configured", "error")
    for row in rows:
        table.add_row(row.name, ", ".join(row.kinds), row.distribution or "", row.version or "",
                      "yes" if row.configured else "no", row.error or "; ".join(row.warnings))
    Console(width=200).print(table)



@cli.command("settings")
@click.option("--example", is_flag=True, help="Print a commented .env.example of every setting.")
def settings_command(example: bool) -> None:
    """List every setting of the core and the loaded plugins (secrets are never shown)."""
    from zentropy.plugins import load_plugins
    from zentropy.settings import describe, environment, example_env

    classes = load_plugins(load_settings()).settings_classes()
    if example:
        click.echo(example_env(classes), nl=False)
        return
    from rich.console import Console
    from rich.table import Table

    current = environment()
    table = Table("plugin", "variable", "set", "default", "meaning")
    for plugin, plugin_classes in classes.items():
        for cls in plugin_classes:
            for item in describe(cls):
                state = "yes" if current.get(item.var) else ("REQUIRED" if item.required else "")
                default = "" if item.secret or item.default is None else str(item.default)
                table.add_row(plugin, item.var, state, default, item.doc)
    Console(width=200).print(table)

from zentropy.llm.cli import llm  # noqa: E402

cli.add_command(llm)

from zentropy.sources.cli import sources  # noqa: E402

cli.add_command(sources)

from zentropy.search.cli import fetch  # noqa: E402

cli.add_command(fetch)

from zentropy.accounts.cli import users  # noqa: E402

cli.add_command(users)

from zentropy.purge.cli import purge_command  # noqa: E402

cli.add_command(purge_command)

from zentropy.catalog.cli import catalog  # noqa: E402

cli.add_command(catalog)


def main() -> None:
    cli(prog_name="zentropy")


if __name__ == "__main__":
    sys.exit(main())
