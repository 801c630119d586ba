"""Extraction throughput and cost: N synthetic postings ingested into a fresh catalog, then extracted
by the matching pipeline (`zentropy.matching.pipeline.extract_batch`) at the configured concurrency
(ZENTROPY_LLM_EXTRACTION_CONCURRENCY) with the default extraction route, its OpenRouter entries
answered by the loopback OpenAI-compatible server of tests/llm/loopback.py (OpenRouter's wire format,
`usage.cost` included) after a simulated model latency; then embedded with the local model. The
cost per 1,000 postings is computed from the usage the run recorded (`llm_system_usage`)."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta

from sqlalchemy import text
from zentropy_plugins.llm.local import LocalProvider, find_model_dir
from zentropy_plugins.llm.openrouter import OpenRouterProvider

from bench.db import bench_database, postgres_version
from bench.ingest import NOW, run_ingest
from bench.machine import describe
from bench.synthetic import stream
from tests.llm.loopback import LoopbackLLM
from zentropy.llm.service import LLMService
from zentropy.llm.settings import read_llm_settings
from zentropy.matching.pipeline import embed_batch, extract_batch

ANSWER = {"required_skills": ["Python", "PostgreSQL"], "preferred_skills": ["Kubernetes"], "seniority": "senior",
          "years_experience": 5, "remote": "hybrid", "salary": {"min": 60000, "max": 75000, "currency": "EUR",
                                                                "period": "year"}, "employment_type": "full_time"}


class SlowLoopback(LoopbackLLM):
    """The loopback server, answering after `latency` seconds, as a hosted model would."""

    def __init__(self, latency: float) -> None:
        super().__init__()
        self.latency = latency

    async def app(self, scope, receive, send) -> None:  # noqa: ANN001
        await asyncio.sleep(self.latency)
        await super().app(scope, receive, send)


async def _run(n: int, latency: float) -> str:
    async with bench_database() as (owner_url, runtime):
        postings = list(stream(n, duplicate_share=0.0))
        await run_ingest(runtime, postings, 100)
        server = await SlowLoopback(latency).start()
        server.default_content = json.dumps(ANSWER)
        try:
            settings = read_llm_settings()  # the default routes and concurrency, unless the environment says otherwise
            providers = {"openrouter": OpenRouterProvider(api_key="sk-or-v1-bench", base_url=server.url),
                         "local": LocalProvider(find_model_dir(None))}
            runtime.extras["llm"] = LLMService(runtime, settings, providers)
            async with runtime.db.session() as s:
                catalog = (await s.execute(text("SELECT count(*) FROM postings"))).scalar_one()
            started = time.perf_counter()
            extracted, failed = await extract_batch(runtime, limit=catalog, now=NOW + timedelta(hours=1))
            extract_seconds = time.perf_counter() - started
            started = time.perf_counter()
            embedded = 0
            while batch := await embed_batch(runtime, 500):
                embedded += batch
            embed_seconds = time.perf_counter() - started
            async with runtime.db.session() as s:
                usage = (await s.execute(text(
                    "SELECT count(*) FILTER (WHERE status = 'ok') AS ok, sum(cost_usd) AS cost, "
                    "sum(prompt_tokens) AS prompt, sum(completion_tokens) AS completion, "
                    "1000 * sum(cost_usd) / NULLIF(count(*) FILTER (WHERE status = 'ok'), 0) AS per_1000, "
                    "string_agg(DISTINCT model, ', ') AS models "
                    "FROM llm_system_usage WHERE task = 'extraction'"))).one()
        finally:
            await server.stop()
        machine = describe(await postgres_version(owner_url))
    per_minute = extracted / extract_seconds * 60
    return "\n".join([
        "## Extraction throughput and cost",
        "",
        f"Machine: {machine}.",
        "",
        f"{catalog:,} synthetic postings (`bench/synthetic.py`) ingested into a fresh catalog, then extracted by "
        f"the matching pipeline at ZENTROPY_LLM_EXTRACTION_CONCURRENCY = {settings.extraction_concurrency}, "
        f"default route (first entry answered: {usage.models}), against the loopback OpenAI-compatible server "
        f"in OpenRouter's format with {latency * 1000:.0f} ms of simulated model latency per request; then "
        f"embedded with the local all-MiniLM-L6-v2 (numpy).",
        "",
        "| | postings | seconds | postings/minute |",
        "|---|---:|---:|---:|",
        f"| extraction (LLM on loopback) | {extracted:,} ok, {failed} failed | {extract_seconds:.1f} | "
        f"{per_minute:,.0f} |",
        f"| embedding (local MiniLM) | {embedded:,} | {embed_seconds:.1f} | {embedded / embed_seconds * 60:,.0f} |",
        "",
        f"Cost from recorded usage: {usage.ok:,} extraction calls, {usage.prompt:,} prompt and {usage.completion:,} "
        f"completion tokens, ${float(usage.cost or 0):.6f} in all: **${float(usage.per_1000 or 0):.4f} per 1,000 "
        f"postings** (the loopback reports OpenRouter's `usage.cost` for a gemini-2.5-flash-lite-sized call; "
        f"real postings' prompts vary with their length). With latency L and concurrency C the ceiling is "
        f"C / L requests a second.",
    ])


def run(n: int = 300, latency: float = 0.4) -> str:
    return asyncio.run(_run(n, latency))
