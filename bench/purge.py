"""Purging expired content: N expired ~1 KB contents removed by the purge service (dropping whole
hourly partitions) next to a plain batched `DELETE ... WHERE expires_at < now()` of the same rows,
in the same run: rows per second, WAL bytes per purged row, and the p99 latency of catalog reads
(a job as `GET /api/v1/jobs/{id}` reads it: metadata, listings, live content) running meanwhile,
next to their p99 with nothing else running.

    python -m bench.purge [--n 1000000] [--hours 24] [--readers 4] [--no-write]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone

import asyncpg

from bench.db import bench_database, postgres_version
from bench.ingest import asyncpg_dsn
from bench.machine import describe
from bench.report import DOC, write_section
from zentropy.catalog.partitions import floor_hour
from zentropy.postings.service import load_job
from zentropy.purge import purge

LIVE = 20_000  # postings with live content that the readers read
DELETE_BATCH = 10_000
BASELINE_SECONDS = 5.0
HOUR = timedelta(hours=1)
DESCRIPTION = "repeat(md5({g}::text), 32)"  # 1,024 characters, stored inline (under the TOAST threshold)


async def setup_catalog(conn: asyncpg.Connection, now: datetime) -> None:
    """LIVE postings, each with one listing and live content expiring over the next day (from two hours
    on, so a run that crosses an hour boundary does not see any of it expire)."""
    first = floor_hour(now) + 2 * HOUR
    await conn.execute("SELECT catalog_ensure_content_partitions($1, $2)", first, first + 23 * HOUR)
    await conn.execute(f"""
        INSERT INTO postings (id, title, company, locations, fingerprint_version, source_url, apply_url,
                              first_seen_at, last_seen_at, content_expires_at)
        SELECT g, 'Engineer ' || g, 'Company ' || (g % 997), ARRAY['City ' || (g % 50)], 1,
               'https://jobs.example/' || g, 'https://apply.example/' || g, $1::timestamptz, $1::timestamptz, $2::timestamptz + (g % 24) * interval '1 hour'
        FROM generate_series(1, {LIVE}) g""", now, first)
    await conn.execute(f"""
        INSERT INTO posting_sources (id, source, external_id, posting_id, title, company, source_url, apply_url,
                                     match_rule, content_expires_at, first_seen_at, last_seen_at)
        SELECT g, 'bench', g::text, g, 'Engineer ' || g, 'Company ' || (g % 997), 'https://jobs.example/' || g,
               'https://apply.example/' || g, 'new', $2::timestamptz + (g % 24) * interval '1 hour', $1::timestamptz, $1::timestamptz
        FROM generate_series(1, {LIVE}) g""", now, first)
    await conn.execute(f"""
        INSERT INTO posting_content (source_id, posting_id, fetched_at, expires_at, description_text)
        SELECT g, g, $1::timestamptz, $2::timestamptz + (g % 24) * interval '1 hour', {DESCRIPTION.format(g="g")}
        FROM generate_series(1, {LIVE}) g""", now, first)


async def load_expired(conn: asyncpg.Connection, now: datetime, n: int, hours: int) -> float:
    """N contents that expired over the past `hours` hours (the same rows every time); seconds taken."""
    last = floor_hour(now) - HOUR
    started = time.perf_counter()
    await conn.execute("SELECT catalog_ensure_content_partitions($1, $2)", last - (hours - 1) * HOUR, last)
    await conn.execute(f"""
        INSERT INTO posting_content (source_id, posting_id, fetched_at, expires_at, description_text)
        SELECT {LIVE} + g, 1 + g % {LIVE}, $1::timestamptz - interval '1 day', $1::timestamptz - (g % {hours}) * interval '1 hour',
               {DESCRIPTION.format(g="g")}
        FROM generate_series(1, {n}) g""", last)
    await conn.execute("VACUUM ANALYZE posting_content")
    await conn.execute("CHECKPOINT")
    return time.perf_counter() - started


class Readers:
    """`count` tasks reading random jobs with live content as fast as they can; (start, latency) each."""

    def __init__(self, runtime, count: int, now: datetime) -> None:  # noqa: ANN001
        self.runtime, self.count, self.now = runtime, count, now
        self.samples: list[tuple[float, float]] = []
        self.errors = 0
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task] = []

    async def _read(self, seed: int) -> None:
        rng = random.Random(seed)
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                job = await load_job(self.runtime, rng.randint(1, LIVE), self.now)
                assert job is not None and job.content_status == "live"
            except Exception:  # noqa: BLE001 - counted: a failed read is a result too
                self.errors += 1
            self.samples.append((started, time.perf_counter() - started))

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._read(i)) for i in range(self.count)]

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)

    def window(self, start: float, end: float) -> list[float]:
        return [latency for at, latency in self.samples if start <= at < end]


def p50(latencies: list[float]) -> float:
    return statistics.median(latencies) if latencies else float("nan")


def p99(latencies: list[float]) -> float:
    if len(latencies) < 2:
        return latencies[0] if latencies else float("nan")
    return statistics.quantiles(latencies, n=100, method="inclusive")[98]


async def wal_lsn(conn: asyncpg.Connection) -> str:
    return await conn.fetchval("SELECT pg_current_wal_lsn()::text")


async def wal_bytes(conn: asyncpg.Connection, since: str) -> int:
    return int(await conn.fetchval("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::text::pg_lsn)", since))


async def plain_delete(runtime) -> int:  # noqa: ANN001
    """Batched DELETE of the expired rows, each batch its own transaction, as the service role."""
    removed = 0
    while True:
        async with runtime.db.engine.begin() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            status = await raw.execute(
                "DELETE FROM posting_content WHERE (source_id, expires_at) IN (SELECT source_id, expires_at FROM "
                f"posting_content WHERE expires_at < now() LIMIT {DELETE_BATCH})")
        batch = int(status.split()[-1])
        removed += batch
        if batch == 0:
            return removed


async def baseline(readers: Readers) -> tuple[float, float]:  # noqa: ARG001 - readers run meanwhile
    started = time.perf_counter()
    await asyncio.sleep(BASELINE_SECONDS)
    return started, time.perf_counter()


async def one_round(conn: asyncpg.Connection, runtime, method: str, now: datetime, n: int, hours: int,  # noqa: ANN001
                    reader_count: int, pause: float) -> dict:
    """Load the N expired contents, then remove them with `method` while readers read; the raw figures."""
    load_seconds = await load_expired(conn, now, n, hours)
    print(f"loaded {n:,} expired contents in {load_seconds:.0f} s", flush=True)
    readers = Readers(runtime, reader_count, now)
    readers.start()
    quiet = await baseline(readers)
    lsn = await wal_lsn(conn)
    started = time.perf_counter()
    if method == "delete":
        removed = await plain_delete(runtime)
    else:
        report = await purge(runtime, now=now, pause=pause)
        removed = report.contents
        assert report.complete, "the purge stopped early"
    seconds = time.perf_counter() - started
    wal = await wal_bytes(conn, lsn)
    after = await baseline(readers)
    await readers.stop()
    assert removed == n, f"{method} removed {removed:,} of {n:,}"
    live = await conn.fetchval("SELECT count(*) FROM posting_content")
    assert live == LIVE, f"{method} left {live:,} contents, not the {LIVE:,} live ones"
    if method == "delete":  # empty partitions left behind: drop them before the same rows go back
        await conn.execute("SELECT count(*) FROM catalog_drop_content_partitions($1, 1000)", now)
        await conn.execute("VACUUM posting_content")
    return {"seconds": seconds, "wal": wal, "errors": readers.errors, "during": readers.window(started, started + seconds),
            "without": readers.window(*quiet) + readers.window(*after)}


async def measure(n: int, hours: int, reader_count: int, pause: float = 0.0, rounds: int = 1) -> dict:
    """`rounds` rounds of each method (the purge is over quickly: its reads are pooled across rounds)."""
    now = datetime.now(timezone.utc)
    async with bench_database() as (owner_url, runtime):
        version = await postgres_version(owner_url)
        conn = await asyncpg.connect(**asyncpg_dsn(owner_url))
        try:
            await conn.execute("SET synchronous_commit = off")
            await setup_catalog(conn, now)
            results: dict = {"n": n, "hours": hours, "readers": reader_count, "pause": pause, "rounds": rounds,
                             "postgres": version}
            for method, count in (("delete", 1), ("purge", rounds)):
                runs = [await one_round(conn, runtime, method, now, n, hours, reader_count, pause)
                        for _ in range(count)]
                seconds, wal = sum(r["seconds"] for r in runs), sum(r["wal"] for r in runs)
                during = [x for r in runs for x in r["during"]]
                without = [x for r in runs for x in r["without"]]
                rows = n * count
                results[method] = {"rounds": count, "seconds": seconds / count, "rows_per_second": rows / seconds,
                                   "wal": wal / count, "wal_per_row": wal / rows, "p99": p99(during),
                                   "reads": len(during), "p99_without": p99(without), "reads_without": len(without),
                                   "errors": sum(r["errors"] for r in runs),
                                   "p99_rounds": [p99(r["during"]) / p99(r["without"]) for r in runs]}
                print(f"{method}: {rows / seconds:,.0f} rows/s, {wal / rows:,.1f} WAL bytes/row, read p99 "
                      f"{p99(during) * 1000:.1f} ms during ({len(during)} reads, p50 {p50(during) * 1000:.1f}, max "
                      f"{max(during, default=0) * 1000:.1f}) vs {p99(without) * 1000:.1f} ms without ({len(without)} "
                      f"reads, p50 {p50(without) * 1000:.1f}); per round during/without "
                      f"{', '.join(f'{x:.2f}x' for x in results[method]['p99_rounds'])}", flush=True)
        finally:
            await conn.close()
    return results


def render(r: dict) -> str:
    d, p = r["delete"], r["purge"]
    lines = [
        "## Content purge",
        "",
        f"Machine: {describe(r['postgres'])}.",
        "",
        f"{r['n']:,} expired contents (~1 KB of description each, stored inline) spread over {r['hours']} hourly "
        f"partitions, next to {LIVE:,} postings with live content. Each method removes the same rows, loaded "
        f"the same way (then VACUUM ANALYZE and CHECKPOINT), while {r['readers']} concurrent readers read random "
        "jobs as `GET /api/v1/jobs/{id}` does (metadata, listings, live content; `load_job`), as the service role. "
        f"\"Without\" is the same readers for {BASELINE_SECONDS:.0f} s just before and {BASELINE_SECONDS:.0f} s just "
        f"after, with nothing else running. The DELETE runs once; the purge, being over in a few seconds, "
        f"{p['rounds']} times on the same rows reloaded (figures per round; reads pooled).",
        "",
        "| method | seconds | rows/s | vs DELETE | WAL bytes | WAL bytes/row | read p99 during | reads | "
        "read p99 without | during / without |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, m in (("plain batched `DELETE ... WHERE expires_at < now()` "
                     f"({DELETE_BATCH:,} rows a transaction)", d),
                    ("purge service: detach and drop whole expired partitions (`zentropy purge`)", p)):
        lines.append(
            f"| {name} | {m['seconds']:.2f} | {m['rows_per_second']:,.0f} | "
            f"{m['rows_per_second'] / d['rows_per_second']:.1f}x | {m['wal']:,.0f} | {m['wal_per_row']:,.2f} | "
            f"{m['p99'] * 1000:.1f} ms | {m['reads']:,} | {m['p99_without'] * 1000:.1f} ms | "
            f"{m['p99'] / m['p99_without']:.2f}x |")
    lines += [
        "",
        f"Purge vs DELETE: {p['rows_per_second'] / d['rows_per_second']:,.1f}x the rate, "
        f"{p['wal'] / d['wal']:.2%} of the WAL; read p99 during the purge {p['p99'] / p['p99_without']:.2f}x its "
        f"p99 without (DELETE: {d['p99'] / d['p99_without']:.2f}x). Failed reads: {d['errors'] + p['errors']}. "
        "Target: at least 3x the DELETE's rate, a fraction of its WAL, read p99 within 1.5x.",
        "",
        "The purge takes one partition at a time: counted, detached (about a millisecond under "
        "`posting_content`'s exclusive lock) and logged, then dropped in a transaction of its own. Its reads "
        "window is short, so its p99 rests on fewer samples; per round, during / without was "
        f"{', '.join(f'{x:.2f}x' for x in p['p99_rounds'])}. This machine is shared: other sessions' test runs "
        "were going on (see the load average below), so latencies are noisy.",
    ]
    return "\n".join(lines)


def run(n: int, hours: int = 24, readers: int = 4, pause: float = 0.0, rounds: int = 3) -> str:
    return render(asyncio.run(measure(n, hours, readers, pause, rounds)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.purge", description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="expired contents to purge (default 1000000)")
    parser.add_argument("--hours", type=int, default=24, help="hourly partitions they are spread over (default 24)")
    parser.add_argument("--readers", type=int, default=4, help="concurrent catalog readers (default 4)")
    parser.add_argument("--pause", type=float, default=0.0,
                        help="seconds the purge waits between partitions (`zentropy purge --pause`; default 0)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="purge rounds, each on the same rows reloaded; their reads are pooled (default 3)")
    parser.add_argument("--no-write", action="store_true", help=f"print results instead of writing {DOC.name}")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    body = run(args.n, args.hours, args.readers, args.pause, args.rounds)
    body += (f"\n\n_Run `python -m bench.purge --n {args.n}` ({time.perf_counter() - started:.0f} s; "
             f"load average {load:.1f} at the start)._")
    if args.no_write:
        print(body)
    else:
        write_section("purge", body)
        print(f"wrote the purge section of {DOC}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
