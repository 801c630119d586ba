"""Extraction and embedding of catalog postings, a bounded batch at a time (the cron job's work).

- Extraction: postings whose content is live and that have no extraction yet, or whose last attempt
  failed at most `MAX_ATTEMPTS - 1` times and over `RETRY_AFTER` ago. Each runs `extract_posting`
  on the posting's title and description (untrusted text: the LLM module keeps it as data), for the
  service (no user), `ZENTROPY_LLM_EXTRACTION_CONCURRENCY` at once. The result is stored as
  metadata (`posting_extractions`: the validated Extraction, or `failed` with the error code).
- Embedding: postings with an extraction and no vector of the current embedding model; the text
  is made of metadata and the extraction (zentropy.matching.texts), so it needs no live content.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone
from typing import Any

import msgspec
from sqlalchemy import text

from zentropy.catalog.content import read_content
from zentropy.llm import LLMError, embed, embedding_model, extract_posting, llm_service
from zentropy.matching.texts import posting_text

log = logging.getLogger(__name__)

BATCH = 100
EMBED_BATCH = 50  # the local model makes about 1-2 vectors a second on a busy 2-core machine
MAX_ATTEMPTS = 3
RETRY_AFTER = timedelta(minutes=30)


class PipelineReport(msgspec.Struct, kw_only=True):
    extracted: int = 0
    failed: int = 0
    embedded: int = 0
    embedding_error: str | None = None


class _Outcome(msgspec.Struct):
    posting_id: int
    extraction: dict[str, Any] | None
    model: str | None
    error_code: str | None


def _now(runtime) -> datetime:  # noqa: ANN001
    clock = runtime.extras.get("clock")
    return clock() if clock is not None else datetime.now(timezone.utc)


async def pending_extractions(runtime, limit: int, now: datetime) -> list[int]:  # noqa: ANN001
    async with runtime.db.session() as session:
        rows = await session.execute(text("""
            SELECT p.id FROM postings p
            LEFT JOIN posting_extractions e ON e.posting_id = p.id
            WHERE p.content_expires_at > :now
              AND (e.posting_id IS NULL
                   OR (e.status = 'failed' AND e.attempts < :max_attempts AND e.updated_at < :retry_before))
            ORDER BY e.posting_id IS NOT NULL, p.first_seen_at DESC, p.id
            LIMIT :limit
        """), {"now": now, "limit": limit, "max_attempts": MAX_ATTEMPTS, "retry_before": now - RETRY_AFTER})
        return [r.id for r in rows]


async def _posting_text(runtime, posting_id: int, now: datetime) -> str | None:  # noqa: ANN001
    async with runtime.db.session() as session:
        title = (await session.execute(text("SELECT title, company FROM postings WHERE id = :id"),
                                       {"id": posting_id})).first()
        if title is None:
            return None
        content = await read_content(session, posting_id, now)
    if content.status != "live" or not content.description_text:
        return None
    head = title.title + (f"\n{title.company}" if title.company else "")
    return f"{head}\n\n{content.description_text}"


async def _extract_one(runtime, posting_id: int, now: datetime) -> _Outcome | None:  # noqa: ANN001
    body = await _posting_text(runtime, posting_id, now)
    if body is None:  # expired meanwhile, or nothing but a title: nothing to extract from
        return _Outcome(posting_id, None, None, "no_content")
    try:
        extraction = await extract_posting(runtime, body)
    except LLMError as exc:
        log.warning("posting extraction failed", extra={"posting_id": posting_id, "code": exc.code})
        return _Outcome(posting_id, None, None, exc.code)
    except Exception:  # one posting's surprise must not lose the batch's results
        log.exception("posting extraction failed", extra={"posting_id": posting_id})
        return _Outcome(posting_id, None, None, "extraction_error")
    model = extraction.model or ("local:rules" if extraction.method == "rules" else None)
    return _Outcome(posting_id, msgspec.to_builtins(extraction), model, None)


async def _store_extractions(runtime, outcomes: list[_Outcome], now: datetime) -> None:  # noqa: ANN001
    if not outcomes:
        return
    async with runtime.db.session() as session:
        await session.execute(text("""
            INSERT INTO posting_extractions AS e (posting_id, status, extraction, model, error_code, attempts,
                                                  created_at, updated_at)
            SELECT x.posting_id, x.status, x.extraction, x.model, x.error_code, 1, :now, :now
            FROM jsonb_to_recordset(CAST(:rows AS jsonb))
                 AS x(posting_id bigint, status text, extraction jsonb, model text, error_code text)
            WHERE EXISTS (SELECT 1 FROM postings p WHERE p.id = x.posting_id)
            ON CONFLICT (posting_id) DO UPDATE
               SET status = excluded.status, extraction = excluded.extraction, model = excluded.model,
                   error_code = excluded.error_code, attempts = e.attempts + 1, updated_at = excluded.updated_at
               WHERE e.status = 'failed'
        """), {"now": now, "rows": msgspec.json.encode([
            {"posting_id": o.posting_id, "status": "failed" if o.extraction is None else "ok",
             "extraction": o.extraction, "model": o.model, "error_code": o.error_code} for o in outcomes]).decode()})


async def extract_batch(runtime, limit: int = BATCH, now: datetime | None = None) -> tuple[int, int]:  # noqa: ANN001
    """(extracted, failed) for up to `limit` postings waiting for an extraction."""
    now = now or _now(runtime)
    ids = await pending_extractions(runtime, limit, now)
    gate = asyncio.Semaphore(llm_service(runtime).settings.extraction_concurrency)

    async def one(posting_id: int) -> _Outcome | None:
        async with gate:
            return await _extract_one(runtime, posting_id, now)

    outcomes = [o for o in await asyncio.gather(*(one(i) for i in ids)) if o is not None]
    await _store_extractions(runtime, outcomes, now)
    failed = sum(1 for o in outcomes if o.extraction is None)
    return len(outcomes) - failed, failed


def vector_literal(vector: list[float]) -> str:
    return "[" + ",".join(repr(float(x)) for x in vector) + "]"


async def embed_batch(runtime, limit: int = BATCH) -> int:  # noqa: ANN001
    """Embed up to `limit` extracted postings that have no vector of the current model; how many."""
    model = embedding_model(runtime)
    async with runtime.db.session() as session:
        rows = (await session.execute(text("""
            SELECT p.id, p.title, p.company, p.locations, p.remote, e.extraction
            FROM posting_extractions e
            JOIN postings p ON p.id = e.posting_id
            LEFT JOIN posting_embeddings v ON v.posting_id = e.posting_id
            WHERE e.status = 'ok' AND (v.posting_id IS NULL OR v.model <> :model)
            ORDER BY e.updated_at DESC, e.posting_id
            LIMIT :limit
        """), {"model": model, "limit": limit})).all()
    if not rows:
        return 0
    vectors = await embed(runtime, [posting_text(r.title, r.company, r.locations, r.remote, r.extraction)
                                    for r in rows])
    async with runtime.db.session() as session:
        await session.execute(text("""
            INSERT INTO posting_embeddings (posting_id, embedding, model)
            SELECT x.posting_id, CAST(x.embedding AS vector), :model
            FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS x(posting_id bigint, embedding text)
            WHERE EXISTS (SELECT 1 FROM postings p WHERE p.id = x.posting_id)
            ON CONFLICT (posting_id) DO UPDATE
               SET embedding = excluded.embedding, model = excluded.model, created_at = now()
        """), {"model": model, "rows": msgspec.json.encode(
            [{"posting_id": r.id, "embedding": vector_literal(v)} for r, v in zip(rows, vectors)]).decode()})
    return len(rows)


async def run_pipeline(runtime, limit: int = BATCH) -> PipelineReport:  # noqa: ANN001
    extracted, failed = await extract_batch(runtime, limit)
    report = PipelineReport(extracted=extracted, failed=failed)
    try:
        report.embedded = await embed_batch(runtime, min(limit, EMBED_BATCH))
    except LLMError as exc:  # vectors wait for the next run; extractions are stored already
        log.warning("posting embeddings failed", extra={"code": exc.code})
        report.embedding_error = exc.code
    return report
