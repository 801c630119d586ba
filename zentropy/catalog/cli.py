"""`zentropy catalog ...`: maintenance of the shared catalog."""

from __future__ import annotations

import click
import msgspec


@click.group("catalog")
def catalog() -> None:
    """Shared catalog maintenance."""


@catalog.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def rekey(as_json: bool) -> None:
    """Recompute company keys with today's alias table (after adding aliases), so new listings find
    the postings already in the catalog under either name."""
    from zentropy.catalog.rekey import rekey_companies
    from zentropy.cli import run_with_runtime

    report = run_with_runtime(rekey_companies)
    if as_json:
        click.echo(msgspec.json.format(msgspec.json.encode(report)).decode())
        return
    click.echo(f"{report.rekeyed:,} of {report.postings:,} postings re-keyed ({report.keys_added:,} identity keys added)")
    if report.left:
        click.echo(f"{report.left:,} left as they were: the new key would make an employer a staffing agency or "
                   "back, which needs the expired description")
