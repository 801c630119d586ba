"""docs/benchmarks.md: one section per benchmark, between markers, rewritten by its own run."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADER = """# Benchmarks

Run them all with `make bench` (or `python -m bench`), one with `python -m bench NAME`
(`python -m bench --help` lists them and their options). Each run rewrites its own section below,
with the machine it ran on. They run against the embedded PostgreSQL and Redis (servers of their
own under `.test-data/bench/`), or the servers `ZENTROPY_BENCH_DATABASE_URL` (an owner URL) and
`ZENTROPY_BENCH_REDIS_URL` name; every run uses a fresh database.
"""


def write_section(name: str, body: str, path: Path = DOC) -> None:
    text = path.read_text() if path.exists() else HEADER
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
