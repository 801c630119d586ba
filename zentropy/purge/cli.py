"""`zentropy purge`: what the worker does every five minutes, by hand, with a report."""

from __future__ import annotations

import click
import msgspec


@click.command("purge")
@click.option("--max-partitions", type=click.IntRange(min=1), default=None,
              help="Most hourly partitions to drop in this run (default: ZENTROPY_PURGE_MAX_PARTITIONS).")
@click.option("--pause", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Seconds to wait between partitions, to spread the I/O.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def purge_command(max_partitions: int | None, pause: float, as_json: bool) -> None:
    """Purge posting content whose TTL has passed (metadata stays) and report what went."""
    from zentropy.cli import run_with_runtime
    from zentropy.purge.service import purge

    async def progress(dropped) -> None:  # noqa: ANN001
        if not as_json:
            click.echo(f"{dropped.name}  expired {dropped.expired_at:%Y-%m-%d %H:%M} UTC  "
                       f"{dropped.contents:>9,} contents")

    report = run_with_runtime(lambda runtime: purge(runtime, max_partitions=max_partitions, pause=pause,
                                                    after_batch=progress))
    if as_json:
        click.echo(msgspec.json.format(msgspec.json.encode(report)).decode())
        return
    if not report.partitions:
        click.echo("nothing to purge: no content has expired")
    else:
        click.echo(f"purged {report.contents:,} contents in {len(report.partitions)} partitions")
    if report.blocked:
        click.echo("stopped early: posting_content stayed busy; run again (or let the worker) to finish")
    elif not report.complete:
        click.echo("stopped at --max-partitions; run again (or let the worker) to finish")
