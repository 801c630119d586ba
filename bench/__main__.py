"""`python -m bench [NAME ...] [options]`: run benchmarks, write their sections of docs/benchmarks.md."""

from __future__ import annotations

import argparse
import os
import sys
import time

from bench.report import DOC, write_section

BENCHES = ("dedup", "ingest", "search", "tiers", "extraction", "embedding", "purge")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"benchmarks to run ({', '.join(BENCHES)}); "
                        "default: all")
    parser.add_argument("--n", type=int, default=100_000, help="ingest: postings to ingest (default 100000)")
    parser.add_argument("--page-size", type=int, default=100, help="ingest: postings per source page (default 100)")
    parser.add_argument("--concurrency", default="1,10",
                        help="ingest: pages ingested at once, as concurrent worker jobs would, one run each "
                        "(default 1,10; the last is used for the catalog sizes)")
    parser.add_argument("--catalog-sizes", default="10000,1000000",
                        help="ingest: catalog sizes to measure the per-posting cost at (default 10000,1000000)")
    parser.add_argument("--probe", type=int, default=5000, help="ingest: postings ingested at each catalog size")
    parser.add_argument("--repeat", type=int, default=3,
                        help="ingest: runs of each concurrency, taking turns; the median one is reported (default 3)")
    parser.add_argument("--purge-n", type=int, default=1_000_000,
                        help="purge: expired contents to purge (default 1000000; `python -m bench.purge` has more options)")
    parser.add_argument("--extraction-n", type=int, default=300, help="extraction: postings to extract (default 300)")
    parser.add_argument("--tiers-users", type=int, default=1000, help="tiers: users (default 1000)")
    parser.add_argument("--tiers-days", type=int, default=30, help="tiers: simulated days (default 30)")
    parser.add_argument("--embedding-n", type=int, default=200,
                        help="embedding: texts per workload (default 200)")
    parser.add_argument("--no-write", action="store_true", help=f"print results instead of writing {DOC.name}")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHES]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}: choose from {', '.join(BENCHES)}")
    for name in args.names or BENCHES:
        started = time.perf_counter()
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"== {name}", flush=True)
        if name == "dedup":
            from bench import dedup
            body = dedup.run()
        elif name == "search":  # cache-tier search (needs wrk)
            from bench import search
            body = search.run()
        elif name == "extraction":  # LLM extraction throughput and cost per 1,000 postings
            from bench import extraction
            body = extraction.run(args.extraction_n)
        elif name == "embedding":  # local MiniLM encoder vs the baseline forward pass it replaced
            from bench import embedding
            body = embedding.run(args.embedding_n)
        elif name == "purge":  # content purge vs a plain batched DELETE
            from bench import purge
            body = purge.run(args.purge_n)
        elif name == "tiers":  # tier economics
            from bench import tiers
            body = tiers.run(users=args.tiers_users, days=args.tiers_days)
        else:
            from bench import ingest
            body = ingest.run(args.n, args.page_size, [int(c) for c in args.concurrency.split(",") if c],
                              [int(s) for s in args.catalog_sizes.split(",") if s], args.probe, args.repeat)
        body += (f"\n\n_Run `python -m bench {name}` ({time.perf_counter() - started:.0f} s; "
                 f"load average {load:.1f} at the start)._")
        if args.no_write:
            print(body)
        else:
            write_section(name, body)
            print(f"wrote the {name} section of {DOC}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
