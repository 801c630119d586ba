"""`zentropy users ...`: list, show, disable, enable, delete users and set their quotas.

Runs as the schema owner (DATABASE_URL, the embedded database when unset), see
zentropy/accounts/admin.py for what that role may do. USER is a user id or an email address.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
import msgspec

T = TypeVar("T")


def _run(work: Callable[[Any], Awaitable[T]]) -> T:
    """Run `work(db)` on the owner's database."""
    from zentropy import embedded
    from zentropy.cli import load_settings
    from zentropy.db import Database
    from zentropy.db.urls import async_url

    settings = embedded.resolve(load_settings())

    async def main() -> T:
        db = Database(async_url(settings.database_url), pool_size=1)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(main())


async def _resolve(db: Any, ref: str) -> uuid.UUID:
    from zentropy.accounts.admin import find_user

    user_id = await find_user(db, ref.strip())
    if user_id is None:
        raise click.ClickException(f"no user matches {ref!r} (give a user id or an email address)")
    return user_id


def _json(value: Any) -> None:
    click.echo(msgspec.json.format(msgspec.json.encode(value)).decode())


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else ""


@click.group()
def users() -> None:
    """Users: list, show, disable, enable, delete, set quotas (runs as the schema owner, DATABASE_URL)."""


@users.command("list")
@click.option("--email", default=None, help="Only addresses containing this (case-insensitive).")
@click.option("--disabled/--active", "disabled", default=None, help="Only disabled, or only active, users.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(email: str | None, disabled: bool | None, limit: int, as_json: bool) -> None:
    """Users, newest first."""
    from zentropy.accounts.admin import list_users

    found = _run(lambda db: list_users(db, email=email, disabled=disabled, limit=limit))
    if as_json:
        _json(found)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("id", "email", "name", "created", "disabled", "live sessions", "last seen")
    for u in found:
        table.add_row(str(u.id), u.email or "", u.name or "", _when(u.created_at), _when(u.disabled_at),
                      str(u.live_sessions), _when(u.last_seen_at))
    Console(width=200).print(table)


@users.command("show")
@click.argument("user")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show_command(user: str, as_json: bool) -> None:
    """One user: profile, linked accounts, onboarding, sessions, LLM spend, quotas, rows per table."""
    from zentropy.accounts.admin import show_user

    async def work(db: Any) -> Any:
        return await show_user(db, await _resolve(db, user))

    detail = _run(work)
    if as_json:
        _json(detail)
        return
    lines = [
        ("id", str(detail.id)), ("email", f"{detail.email or ''}{' (verified)' if detail.email_verified else ''}"),
        ("name", detail.name or ""), ("created", _when(detail.created_at)),
        ("disabled", _when(detail.disabled_at) or "no"), ("onboarded", "yes" if detail.onboarded else "no"),
        ("live sessions", str(detail.live_sessions)), ("last seen", _when(detail.last_seen_at)),
        ("accounts", ", ".join(f"{a.provider}:{a.subject}" for a in detail.accounts)),
        ("own LLM keys", ", ".join(detail.own_llm_keys) or "none"),
        ("LLM cost this month", f"${detail.llm_cost_this_month_usd:.4f}"),
        ("quotas", _quotas(detail.quotas)),
        ("rows", ", ".join(f"{t}={n}" for t, n in sorted(detail.rows.items()))),
    ]
    for label, value in lines:
        click.echo(f"{label + ':':22}{value}")


def _quotas(quotas: dict[str, Any] | None) -> str:
    if not quotas:
        return "n/a"
    own = quotas["own"]
    return (f"searches {quotas['searches_used_today']}/{quotas['searches_per_day']} today"
            f"{'' if own['searches_per_day'] is None else ' (own)'}, "
            f"premium calls {quotas['premium_calls_used_this_month']}/{quotas['premium_calls_per_month']} this month"
            f"{'' if own['premium_calls_per_month'] is None else ' (own)'}")


class QuotaValue(click.ParamType):
    """A number of calls (0 or more), or `default`."""

    name = "N|default"

    def convert(self, value: Any, param: Any, ctx: Any) -> int | str | None:
        if value is None or isinstance(value, int) or value == "keep":  # keep: the option was not given
            return value
        if str(value).strip().lower() == "default":
            return None
        if str(value).strip().isdigit():
            return int(value)
        self.fail(f"{value!r} is not a number of calls (0 or more) nor 'default'", param, ctx)


@users.command("set-quotas")
@click.argument("user")
@click.option("--searches-per-day", type=QuotaValue(), default="keep", show_default=False,
              help="Searches the user may start per UTC day, or 'default'.")
@click.option("--premium-calls-per-month", type=QuotaValue(), default="keep", show_default=False,
              help="Premium-source calls per UTC month, or 'default'.")
def set_quotas_command(user: str, searches_per_day: Any, premium_calls_per_month: Any) -> None:
    """Give a user quotas of their own (others stay as they are); 'default' returns to the configured default."""
    from zentropy.accounts.admin import KEEP, set_quotas

    given = {k: v for k, v in (("searches_per_day", searches_per_day),
                                ("premium_calls_per_month", premium_calls_per_month)) if v != "keep"}
    if not given:
        raise click.UsageError("give --searches-per-day and/or --premium-calls-per-month")

    async def work(db: Any) -> Any:
        return await set_quotas(db, await _resolve(db, user), **{k: given.get(k, KEEP) for k in (
            "searches_per_day", "premium_calls_per_month")})

    click.echo(_quotas(_run(work)))


@users.command("disable")
@click.argument("user")
def disable_command(user: str) -> None:
    """Disable a user: every session ends at once and sign-in is refused until enabled."""
    from zentropy.accounts.admin import set_disabled

    async def work(db: Any) -> Any:
        return await set_disabled(db, await _resolve(db, user), True)

    done = _run(work)
    click.echo(f"disabled {done.user_id}; {done.sessions_ended} session(s) ended")


@users.command("enable")
@click.argument("user")
def enable_command(user: str) -> None:
    """Enable a disabled user: they may sign in again (ended sessions stay ended)."""
    from zentropy.accounts.admin import set_disabled

    async def work(db: Any) -> Any:
        return await set_disabled(db, await _resolve(db, user), False)

    done = _run(work)
    click.echo(f"enabled {done.user_id}")


@users.command("delete")
@click.argument("user")
@click.option("--yes", is_flag=True, help="Confirm: the user and all their data are deleted for good.")
def delete_command(user: str, yes: bool) -> None:
    """Delete a user and all their data (what DELETE /api/v1/me does; see docs/privacy.md)."""
    from zentropy.accounts.deletion import delete_user

    if not yes:
        raise click.ClickException("deleting a user cannot be undone: add --yes")

    async def work(db: Any) -> Any:
        user_id = await _resolve(db, user)
        return user_id, await delete_user(db, user_id)

    user_id, deleted = _run(work)
    rows = ", ".join(f"{t}={n}" for t, n in sorted(deleted.rows.items()))
    click.echo(f"deleted {user_id}: {rows}")
