"""Ingest throughput: normalize + dedup + upsert of N postings, fetched through the source plugins
from loopback servers (bench/loopback.py), next to a raw COPY of the same rows into the same tables;
and the per-posting cost at a small and a large catalog."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone

import asyncpg
from sqlalchemy.engine import make_url

from bench.db import bench_database, postgres_version
from bench.loopback import Fetched, fetch
from bench.machine import describe
from bench.synthetic import stream
from zentropy.catalog import ingest
from zentropy.catalog.store import (
    CONTENT_COLUMNS, HOT_KEY, KEY_COLUMNS, KEY_TABLES, POSTING_COLUMNS, SOURCE_COLUMNS, KeyPairs, copy_keys, distinct,
    flat_keys,
)
from zentropy.dedup.keys import dedup_keys
from zentropy.dedup.merge import new_canonical
from zentropy.sources.contract import Posting, SourceInfo
from zentropy.worker.run import settle_gc

NOW = datetime(2026, 11, 1, 12, tzinfo=timezone.utc)
TABLES = {"postings": POSTING_COLUMNS, "posting_sources": SOURCE_COLUMNS, "posting_content": CONTENT_COLUMNS,
          **{table: KEY_COLUMNS for table in KEY_TABLES}, "hot_keys": {"key": "bigint"}}


def pages(postings: Iterable[Posting], size: int) -> Iterable[tuple[str, list[Posting]]]:
    """Postings grouped as sources return them: pages of `size` from one source."""
    buffers: dict[str, list[Posting]] = defaultdict(list)
    for p in postings:
        buffer = buffers[p.source]
        buffer.append(p)
        if len(buffer) == size:
            yield p.source, buffer
            buffers[p.source] = []
    for source, buffer in buffers.items():
        if buffer:
            yield source, buffer


async def run_ingest(runtime, postings: Sequence[Posting], page_size: int,  # noqa: ANN001
                     concurrency: int = 1) -> tuple[float, dict[str, int]]:
    """Ingest `postings` page by page, `concurrency` pages at a time; (seconds, outcome totals)."""
    totals: dict[str, int] = defaultdict(int)
    queue = list(enumerate(pages(postings, page_size)))[::-1]

    async def worker() -> None:
        while queue:
            i, (source, page) = queue.pop()
            # a page per minute of simulated time, so content expiry spreads over the hours
            report = await ingest(runtime, SourceInfo(name=source, tier="free"), page, now=NOW + timedelta(minutes=i))
            for outcome in ("new", "duplicates", "updated", "unchanged"):
                totals[outcome] += getattr(report, outcome)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, dict(totals)


def backend_seconds(database: str) -> float | None:
    """CPU seconds used so far by the server processes working for `database` (its backends and
    autovacuum workers), read from /proc; None when the server is not on this machine or not
    readable. Backends that exit take theirs with them: read it while the connections are open."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total, found = 0.0, False
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return None
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read()
            if not command.startswith(b"postgres: ") or f" {database} ".encode() not in command + b" ":
                continue
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
        found = True
    return total if found else None


class CpuClock:
    """CPU seconds of this process and of the database's server processes between `start` and
    `stop`: on a shared machine, wall-clock rates move with the load, CPU per posting much less."""

    def __init__(self, database: str) -> None:
        self.database = database

    def start(self) -> None:
        # before the first connection there is no server process yet: nothing used so far
        self.python, self.server = time.process_time(), backend_seconds(self.database) or 0.0

    def stop(self) -> tuple[float, float | None]:
        server = backend_seconds(self.database)
        used = None if server is None else server - self.server
        return time.process_time() - self.python, used


def asyncpg_dsn(owner_url: str) -> dict:
    url = make_url(owner_url)
    return {"user": url.username, "password": url.password, "database": url.database,
            "host": url.query.get("host") or url.host, "port": url.port}


async def dump(conn: asyncpg.Connection) -> dict[str, list]:
    return {table: await conn.fetch(f"SELECT {', '.join(columns)} FROM {table}") for table, columns in TABLES.items()}


async def copy_back(conn: asyncpg.Connection, rows: dict[str, list], clock: CpuClock | None = None) -> float:
    """TRUNCATE, then COPY the dumped rows into the same tables (indexes in place); the COPY time."""
    await conn.execute(f"TRUNCATE {', '.join(TABLES)}")
    await conn.execute("CHECKPOINT")
    if clock is not None:
        clock.start()
    started = time.perf_counter()
    async with conn.transaction():
        for table, columns in TABLES.items():
            await conn.copy_records_to_table(table, records=rows[table], columns=list(columns))
    return time.perf_counter() - started


async def through_plugins(postings: Iterable[Posting], redis) -> Fetched:  # noqa: ANN001
    """The postings as the source plugins fetch them from loopback servers (every one of them)."""
    fetched = await fetch(list(postings), redis)
    if fetched.skipped:
        raise RuntimeError(f"the source plugins skipped synthetic postings as malformed: {fetched.skipped}")
    return fetched


async def replayed(n: int) -> tuple[list[Posting], float, Fetched]:
    """The stream every throughput run replays, as the source plugins fetch it from loopback servers;
    the seconds normalizing + fingerprinting it takes; the fetch."""
    async with bench_database() as (_, runtime):  # for its Redis: the plugins' response caches
        fetched = await through_plugins(stream(n, seed=11), runtime.redis)
    postings = fetched.postings
    settle_gc()  # as the worker does once started (and the replayed postings stay in memory; a source's page would not)
    dedup_keys(postings[:100])  # the fingerprint kernels compiled (a fresh checkout) or loaded from numba's cache
    started = time.perf_counter()
    dedup_keys(postings)
    return postings, time.perf_counter() - started, fetched


async def throughput(postings: list[Posting], normalize_seconds: float, page_size: int, concurrency: int) -> dict:
    n = len(postings)
    async with bench_database() as (owner_url, runtime):
        version = await postgres_version(owner_url)
        clock = CpuClock(make_url(owner_url).database)
        clock.start()
        ingest_seconds, totals = await run_ingest(runtime, postings, page_size, concurrency)
        ingest_cpu = clock.stop()
        conn = await asyncpg.connect(**asyncpg_dsn(owner_url))
        try:
            rows = await dump(conn)
            copy_seconds = await copy_back(conn, rows, clock)
            copy_cpu = clock.stop()
        finally:
            await conn.close()
    chars = sum(len(p.description_text) for p in postings) / len(postings)
    return {"n": n, "page_size": page_size, "concurrency": concurrency, "chars": chars, "ingest_seconds": ingest_seconds, "copy_seconds": copy_seconds,
            "normalize_seconds": normalize_seconds, "totals": totals, "rows": {t: len(r) for t, r in rows.items()},
            "postgres": version, "ingest_cpu": ingest_cpu, "copy_cpu": copy_cpu}


async def prefill(owner_url: str, postings: Iterable[Posting], chunk: int = 20_000) -> int:
    """The catalog as `ingest` would leave it after these postings (each a posting of its own),
    fast: keys computed here, rows COPYed (no content: a large catalog's older content has expired),
    the blocking-key index built once at the end, the keys shared by `HOT_KEY` postings or more
    recorded as hot. Every key of every posting is stored, where `ingest` leaves out those it knows
    hot: the key index is, if anything, larger than it would be. How many postings."""
    conn = await asyncpg.connect(**asyncpg_dsn(owner_url))
    count = 0
    try:
        await conn.execute("SET synchronous_commit = off")
        await conn.execute("DROP INDEX ix_posting_keys_key")
        buffer: list[Posting] = []

        async def flush() -> None:
            nonlocal count
            posting_rows, listing_rows, keys_by_posting, agency_keys = [], [], [], []
            for p, k in zip(buffer, dedup_keys(buffer)):
                count += 1
                c = new_canonical(count, p, k, NOW - timedelta(days=30), None)
                posting_rows.append(tuple(getattr(c, col) for col in POSTING_COLUMNS))
                listing_rows.append((count, p.source, p.external_id, count, p.title, p.company, p.source_url,
                                     p.apply_url, "new", None, None, None, c.first_seen_at, c.last_seen_at))
                keys_by_posting.append((count, k.block_keys))
                agency_keys.append(k.agency_keys)
            await conn.copy_records_to_table("postings", records=posting_rows, columns=list(POSTING_COLUMNS))
            await conn.copy_records_to_table("posting_sources", records=listing_rows, columns=list(SOURCE_COLUMNS))
            await copy_keys(conn, KeyPairs.of(keys_by_posting), distinct(flat_keys(agency_keys)))
            buffer.clear()

        for p in postings:
            buffer.append(p)
            if len(buffer) == chunk:
                await flush()
        if buffer:
            await flush()
        await conn.execute("SET maintenance_work_mem = '1GB'")
        await conn.execute("CREATE INDEX ix_posting_keys_key ON posting_keys USING hash (key)")
        await conn.execute(f"SELECT setval('postings_id_seq', {count}), setval('posting_sources_id_seq', {count})")
        for table in KEY_TABLES:
            await conn.execute(f"INSERT INTO hot_keys (key) SELECT key FROM {table} GROUP BY key "
                               f"HAVING count(*) >= {HOT_KEY} ON CONFLICT DO NOTHING")
        for table in ("postings", "posting_sources", *KEY_TABLES, "hot_keys"):
            await conn.execute(f"VACUUM ANALYZE {table}")
        # Warm the buffer cache as a running service's would be: index scans and TID range scans
        # read through shared buffers (sequential scans of large tables would not stay there). A
        # hash index has no order to scan it in: random keys, eight probes per page of it, reach
        # nearly every bucket.
        await conn.execute("SET enable_seqscan = off")
        await conn.execute("SET enable_bitmapscan = off")
        for table in KEY_TABLES:
            await conn.execute(f"SELECT count(*) FROM {table} WHERE ctid >= '(0,0)'::tid")
            probes = 8 * await conn.fetchval("SELECT pg_relation_size($1::regclass) / 8192", f"ix_{table}_key")
            await conn.execute(f"SELECT count(*) FROM generate_series(1, $1::bigint) AS g CROSS JOIN LATERAL "
                               f"(SELECT FROM {table} WHERE key = ((random() - 0.5) * 1.8e19)::bigint LIMIT 1) AS k",
                               probes)
        await conn.execute("SELECT sum(shingles) FROM postings WHERE id > 0")
        await conn.execute("SELECT count(*) FROM posting_sources WHERE source > ''")
    finally:
        await conn.close()
    return count


async def checkpoints(conn: asyncpg.Connection) -> int:
    """Checkpoints the server has made so far (PostgreSQL 17 moved the count)."""
    if conn.get_server_version().major >= 17:
        return await conn.fetchval("SELECT num_timed + num_requested FROM pg_stat_checkpointer")
    return await conn.fetchval("SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter")


async def costs_at(sizes: list[int], probe: int, page_size: int, concurrency: int, rounds: int = 10) -> list[dict]:
    """Microseconds (and WAL bytes) per posting to ingest `probe` postings into catalogs of each
    size. The catalogs are built first, then ingested into in turn, a slice of the probe at a time,
    so that a change in the machine's load during the run weighs on every size alike. A checkpoint
    is taken before the catalogs are built, and the checkpoints made while they are measured are
    counted: after a checkpoint, the first change to each index page writes the whole page to the
    WAL, which costs a large catalog far more than a small one until its pages have all been
    touched once."""
    async with contextlib.AsyncExitStack() as stack:
        catalogs = []
        for size in sizes:
            owner_url, runtime = await stack.enter_async_context(bench_database())
            conn = await asyncpg.connect(**asyncpg_dsn(owner_url))
            stack.push_async_callback(conn.close)
            if not catalogs:
                await conn.execute("CHECKPOINT")
            postings = stream(size + probe, seed=23)
            await prefill(owner_url, itertools.islice(postings, size))
            hot = await conn.fetchval("SELECT count(*) FROM hot_keys")
            rest = (await through_plugins(postings, runtime.redis)).postings  # as the throughput runs' are
            await run_ingest(runtime, rest[:page_size], page_size)  # warm-up: imports, caches
            catalogs.append({"clock": CpuClock(make_url(owner_url).database), "size": size, "hot": hot,
                             "runtime": runtime, "conn": conn, "rest": rest[page_size:], "wal": 0, "python": 0.0,
                             "server": 0.0, "totals": defaultdict(int), "rounds": []})
        settle_gc()  # as the worker does once started: what setup made is not walked by every full collection
        made = await checkpoints(catalogs[0]["conn"])
        step = -(-len(catalogs[0]["rest"]) // rounds)
        for r in range(rounds):
            for c in catalogs:
                wal = await c["conn"].fetchval("SELECT pg_current_wal_lsn()")
                c["clock"].start()
                seconds, totals = await run_ingest(c["runtime"], c["rest"][r * step:(r + 1) * step], page_size,
                                                   concurrency)
                c["wal"] += int(await c["conn"].fetchval("SELECT pg_current_wal_lsn() - $1::pg_lsn", wal))
                c["rounds"].append(seconds)
                python, server = c["clock"].stop()
                c["python"] += python
                c["server"] += server or 0.0
                for k, v in totals.items():
                    c["totals"][k] += v
        made = await checkpoints(catalogs[0]["conn"]) - made
    return [{"size": c["size"], "hot": c["hot"], "probe": len(c["rest"]),
             "us_per_posting": sum(c["rounds"]) / len(c["rest"]) * 1e6,
             "wal_per_posting": c["wal"] / len(c["rest"]), "checkpoints": made, "totals": dict(c["totals"]),
             "rounds": c["rounds"], "python_us": c["python"] / len(c["rest"]) * 1e6,
             "server_us": c["server"] / len(c["rest"]) * 1e6}
            for c in catalogs]


def _cpu(cpu: tuple[float, float | None], copy: tuple[float, float | None], n: int) -> str:
    python, server = cpu
    if server is None or copy[1] is None:
        return f"{python / n * 1e6:,.0f} | n/a | n/a | n/a"
    both, copy_both = python + server, copy[0] + copy[1]
    return f"{python / n * 1e6:,.0f} | {server / n * 1e6:,.0f} | {both / n * 1e6:,.0f} | {copy_both / both:.0%}"


def render(results: list[dict], costs: list[dict], concurrency: int, fetched: Fetched) -> str:
    result = results[0]
    n = result["n"]
    rows = result["rows"]
    t = result["totals"]
    lines = [
        "## Ingest throughput",
        "",
        f"Machine: {describe(result['postgres'])}.",
        "",
        f"{n:,} synthetic postings (`bench/synthetic.py`: about 30% re-listings of a job already seen, from "
        "another source), served by loopback servers in each source's wire format and fetched through the "
        f"source plugins (`bench/loopback.py`: descriptions of {result['chars'] / 1000:.1f} KB of text on average, "
        "with the HTML and the raw item the plugins keep), ingested page by page "
        f"({result['page_size']} per page, one source per page) with `zentropy.catalog.ingest`: normalize, "
        "fingerprint, find candidates, decide, merge and write `postings`, `posting_sources`, `posting_keys`, "
        "`posting_agency_keys` and `posting_content`; one page at a time, and as many at once as a worker runs searches "
        "(`ZENTROPY_WORKER_CONCURRENCY`'s default), when pages that arrive during a write go into the next one "
        "together (group commit). After each run the very rows it wrote "
        f"({rows['postings']:,} postings, {rows['posting_sources']:,} listings, {rows['posting_keys'] + rows['posting_agency_keys']:,} "
        f"blocking keys, {rows['posting_content']:,} contents) are COPYed into the same, emptied tables (same "
        f"indexes), in the same run. Each run is made {len(result['every_vs_copy'])} times, the numbers of pages at a "
        "time taking turns; the row shows the run with the median ratio to COPY.",
        "",
        f"Before the runs, {n:,} postings fetched through the six source plugins from loopback servers in their "
        f"wire formats in {fetched.seconds:.1f} s ({n / fetched.seconds:,.0f}/s; the servers run in the same "
        f"process): {', '.join(f'{s} {c:,}' for s, c in fetched.per_source.items())}.",
        "",
        "| pages at a time | seconds | postings/s | COPY's postings/s | vs COPY | vs COPY, every run | "
        "CPU µs per posting: Python | PostgreSQL | both | CPU vs COPY |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        ingest_rate, copy_rate = n / r["ingest_seconds"], n / r["copy_seconds"]
        lines.append(f"| {r['concurrency']} | {r['ingest_seconds']:.1f} | {ingest_rate:,.0f} | {copy_rate:,.0f} | "
                     f"{ingest_rate / copy_rate:.0%} | {', '.join(f'{v:.0%}' for v in r['every_vs_copy'])} | "
                     f"{_cpu(r['ingest_cpu'], r['copy_cpu'], n)} |")
    lines += [
        "",
        f"COPY alone, CPU µs per posting: {_cpu(result['copy_cpu'], result['copy_cpu'], n).rsplit(' | ', 1)[0]} "
        f"(Python, PostgreSQL, both). Normalizing + fingerprinting alone (Python): {result['normalize_seconds']:.1f} s, "
        f"{n / result['normalize_seconds']:,.0f} postings/s.",
        "",
        "CPU per posting is this process's CPU time and that of the database's server processes "
        "(backends and autovacuum, from /proc) over the same span: on a shared machine the wall-clock "
        "rates move with the other work, CPU per posting much less; \"CPU vs COPY\" is COPY's CPU per "
        "posting over ingest's, the ratio the wall-clock one tends to when the cores are saturated.",
        "",
        f"Outcomes: {t.get('new', 0):,} new, {t.get('duplicates', 0):,} duplicates, "
        f"{t.get('updated', 0) + t.get('unchanged', 0):,} seen before. Target: ingest at least 30% of COPY's rate.",
        "",
        "### Per-posting cost against the catalog's size",
        "",
        "A catalog prefilled to the size shown (metadata, listings, every posting's blocking keys and the keys "
        "hot among them; a large catalog's older content has expired) and its tables and indexes read once into the buffer cache, as a running "
        "service's would be; then the stream's next postings, fetched through the source plugins as above, "
        "ingested (about 30% of them re-listings of jobs "
        f"anywhere in the catalog), {concurrency} pages at a time, into each catalog in turn, a tenth of them at "
        "a time, so that changes in the machine's load during the run weigh on every size alike.",
        "",
        "| catalog size | hot keys | postings ingested | µs per posting | vs smallest | per slice, vs smallest | "
        "CPU µs per posting: Python | PostgreSQL | WAL KB per posting |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    base = costs[0]
    for c in costs:
        slices = sorted(r / b for r, b in zip(c["rounds"], base["rounds"]))
        lines.append(f"| {c['size']:,} | {c['hot']:,} | {c['probe']:,} | {c['us_per_posting']:,.0f} | "
                     f"{c['us_per_posting'] / base['us_per_posting']:.2f}x | "
                     f"{slices[0]:.2f}-{slices[-1]:.2f}x (median {slices[len(slices) // 2]:.2f}x) | "
                     f"{c['python_us']:,.0f} | {c['server_us']:,.0f} | {c['wal_per_posting'] / 1024:,.1f} |")
    lines += ["", f"Checkpoints during the measurement: {costs[0]['checkpoints']} (a checkpoint was taken before the "
              "catalogs were built; WAL is the server's, read before and after each slice). Objects made while "
              "setting up are frozen out of the garbage collector (`gc.freeze()`) and its youngest generation is "
              "collected less often, as the worker does once started (`zentropy.worker.run.settle_gc`).",
              "", "Target: the cost at 1M within 1.3x of the cost at 10k."]
    return "\n".join(lines)


def vs_copy(result: dict) -> float:
    """Ingest's rate over COPY's."""
    return result["copy_seconds"] / result["ingest_seconds"]


async def main(n: int, page_size: int, concurrency: list[int], sizes: list[int], probe: int, repeat: int = 3) -> str:
    """Each throughput run `repeat` times, the concurrencies taking turns (so that a change in the
    machine's load weighs on each alike); the run with the median ratio to COPY is reported."""
    runs: dict[int, list[dict]] = {c: [] for c in concurrency}
    postings, normalize_seconds, fetched = await replayed(n)
    print(f"fetched through the source plugins: {n / fetched.seconds:,.0f}/s ({fetched.seconds:.1f} s)", flush=True)
    for _ in range(repeat):
        for c in concurrency:
            result = await throughput(postings, normalize_seconds, page_size, c)
            print(f"{c} at a time: ingest {n / result['ingest_seconds']:,.0f}/s, COPY {n / result['copy_seconds']:,.0f}/s "
                  f"(CPU per posting: {_cpu(result['ingest_cpu'], result['copy_cpu'], n)})", flush=True)
            runs[c].append(result)
    results = []
    for c in concurrency:
        ordered = sorted(runs[c], key=vs_copy)
        results.append({**ordered[len(ordered) // 2], "every_vs_copy": [vs_copy(r) for r in runs[c]]})
    costs = await costs_at(sizes, probe, page_size, concurrency[-1])
    for c in costs:
        print(f"catalog {c['size']:,}: {c['us_per_posting']:,.0f} µs/posting", flush=True)
    return render(results, costs, concurrency[-1], fetched)


def run(n: int, page_size: int, concurrency: list[int], sizes: list[int], probe: int, repeat: int = 3) -> str:
    return asyncio.run(main(n, page_size, concurrency, sizes, probe, repeat))
