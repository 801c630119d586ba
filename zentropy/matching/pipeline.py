"""Extraction and embedding of catalog postings, a bounded batch at a time (the cron job's work).

- Extraction: postings whose content is live and that have no extraction yet, or whose last attempt
  failed at most `MAX_ATTEMPTS - 1` times and over `RETRY_AFTER` ago, or whose text changed since
  (see below). Each runs `extract_posting` on the posting's title and description (untrusted text:
  the LLM module keeps it as data), for the service (no user), `ZENTROPY_LLM_EXTRACTION_CONCURRENCY`
  at once. The result is stored as metadata (`posting_extractions`: the validated Extraction, or
  `failed` with the error code), with the content hash of the text it was made from.
- Re-extraction: the text extracted is the fullest live listing's (as `read_content` picks it); its
  content hash is the catalog's (`posting_sources.content_hash`, written by the ingest). When the
  posting's fullest live listing has another hash than the stored one (its text was refetched and
  changed, or a fuller listing was merged in), it is extracted again. A failed re-extraction keeps
  the previous extraction (valid, of the previous text) and records the error; it is retried like a
  failed extraction (`MAX_ATTEMPTS` at that text, `RETRY_AFTER` apart).
- Embedding: postings with an extraction and no vector of the current embedding model, or a vector
  made before the extraction was remade; the text is made of metadata and the extraction
  (zentropy.matching.texts), so it needs no live content.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone
from typing import Any

import msgspec
from sqlalchemy import text

from zentropy.llm import LLMError, embed, embedding_model, extract_posting, llm_service
from zentropy.matching.duplicates import flag_duplicates
from zentropy.matching.texts import posting_text

log = logging.getLogger(__name__)

BATCH = 100
EMBED_BATCH = 50  # about a second of the local model on a 2-core machine (docs/benchmarks.md, "Local embedding speed")
MAX_ATTEMPTS = 3
RETRY_AFTER = timedelta(minutes=30)


class PipelineReport(msgspec.Struct, kw_only=True):
    extracted: int = 0
    failed: int = 0
    embedded: int = 0
    embedding_error: str | None = None
    likely_duplicates: int = 0  # pairs flagged by zentropy.matching.duplicates
    merged_duplicates: int = 0  # of them, merged into one posting


class _Outcome(msgspec.Struct):
    posting_id: int
    extraction: dict[str, Any] | None
    model: str | None
    error_code: str | None
    content_hash: bytes | None = None


def _now(runtime) -> datetime:  # noqa: ANN001
    clock = runtime.extras.get("clock")
    return clock() if clock is not None else datetime.now(timezone.utc)


# The listing whose text is extracted: the fullest live one, as zentropy.catalog.content.read_content picks it.
CURRENT_CONTENT = """
    SELECT s.content_hash, c.description_text FROM posting_sources s
    JOIN posting_content c ON c.source_id = s.id AND c.expires_at = s.content_expires_at
    WHERE s.posting_id = {posting} AND s.content_expires_at > :now
    ORDER BY length(c.description_text) DESC, s.id
    LIMIT 1
"""


async def pending_extractions(runtime, limit: int, now: datetime) -> list[int]:  # noqa: ANN001
    """New postings first, then failed ones due a retry and postings whose text changed."""
    current_hash = f"(SELECT x.content_hash FROM ({CURRENT_CONTENT.format(posting='p.id')}) x)"
    async with runtime.db.session() as session:
        rows = await session.execute(text(f"""
            SELECT p.id FROM postings p
            LEFT JOIN posting_extractions e ON e.posting_id = p.id
            WHERE p.content_expires_at > :now
              AND (e.posting_id IS NULL
                   OR (e.status = 'failed' AND e.attempts < :max_attempts AND e.updated_at < :retry_before)
                   OR (EXISTS (SELECT 1 FROM posting_sources s WHERE s.posting_id = p.id
                                   AND s.content_expires_at > :now
                                   AND s.content_hash IS DISTINCT FROM e.content_hash)
                       AND (SELECT cur.h IS DISTINCT FROM e.content_hash
                                   AND (e.error_code IS NULL OR cur.h IS DISTINCT FROM e.attempted_hash
                                        OR (e.attempts < :max_attempts AND e.updated_at < :retry_before))
                            FROM (SELECT {current_hash} AS h) cur)))
            ORDER BY e.posting_id IS NOT NULL, p.first_seen_at DESC, p.id
            LIMIT :limit
        """), {"now": now, "limit": limit, "max_attempts": MAX_ATTEMPTS, "retry_before": now - RETRY_AFTER})
        return [r.id for r in rows]


async def _posting_text(runtime, posting_id: int, now: datetime) -> tuple[str | None, bytes | None]:  # noqa: ANN001
    """The text to extract (title, company, the fullest live description) and its content hash."""
    async with runtime.db.session() as session:
        row = (await session.execute(text(f"""
            SELECT p.title, p.company, cur.description_text, cur.content_hash
            FROM postings p LEFT JOIN LATERAL ({CURRENT_CONTENT.format(posting='p.id')}) cur ON true
            WHERE p.id = :id
        """), {"id": posting_id, "now": now})).first()
    if row is None or not row.description_text:
        return None, row.content_hash if row is not None else None
    head = row.title + (f"\n{row.company}" if row.company else "")
    return f"{head}\n\n{row.description_text}", row.content_hash


async def _extract_one(runtime, posting_id: int, now: datetime) -> _Outcome | None:  # noqa: ANN001
    body, digest = await _posting_text(runtime, posting_id, now)
    if body is None:  # expired meanwhile, or nothing but a title: nothing to extract from
        return _Outcome(posting_id, None, None, "no_content", digest)
    try:
        extraction = await extract_posting(runtime, body)
    except LLMError as exc:
        log.warning("posting extraction failed", extra={"posting_id": posting_id, "code": exc.code})
        return _Outcome(posting_id, None, None, exc.code, digest)
    except Exception:  # one posting's surprise must not lose the batch's results
        log.exception("posting extraction failed", extra={"posting_id": posting_id})
        return _Outcome(posting_id, None, None, "extraction_error", digest)
    model = extraction.model or ("local:rules" if extraction.method == "rules" else None)
    return _Outcome(posting_id, msgspec.to_builtins(extraction), model, None, digest)


async def _store_extractions(runtime, outcomes: list[_Outcome], now: datetime) -> None:  # noqa: ANN001
    """A success replaces what was there; a failure replaces a failure, but never an extraction: that
    one stays (of the previous text) and the error is recorded beside it. `attempts` counts the
    attempts at the same text."""
    if not outcomes:
        return
    async with runtime.db.session() as session:
        await session.execute(text("""
            INSERT INTO posting_extractions AS e (posting_id, status, extraction, model, error_code, attempts,
                                                  content_hash, attempted_hash, created_at, updated_at)
            SELECT x.posting_id, x.status, x.extraction, x.model, x.error_code, 1, decode(x.content_hash, 'hex'),
                   CASE WHEN x.status = 'failed' THEN decode(x.content_hash, 'hex') END, :now, :now
            FROM jsonb_to_recordset(CAST(:rows AS jsonb))
                 AS x(posting_id bigint, status text, extraction jsonb, model text, error_code text, content_hash text)
            WHERE EXISTS (SELECT 1 FROM postings p WHERE p.id = x.posting_id)
            ON CONFLICT (posting_id) DO UPDATE
               SET status = CASE WHEN e.status = 'ok' THEN 'ok' ELSE excluded.status END,
                   extraction = CASE WHEN excluded.status = 'failed' AND e.status = 'ok' THEN e.extraction
                                     ELSE excluded.extraction END,
                   model = CASE WHEN excluded.status = 'failed' AND e.status = 'ok' THEN e.model
                                ELSE excluded.model END,
                   content_hash = CASE WHEN excluded.status = 'failed' AND e.status = 'ok' THEN e.content_hash
                                       ELSE excluded.content_hash END,
                   error_code = excluded.error_code,
                   attempts = CASE
                       WHEN excluded.status = 'ok' THEN 1
                       WHEN e.error_code IS NULL OR e.attempted_hash IS DISTINCT FROM excluded.attempted_hash THEN 1
                       ELSE e.attempts + 1 END,
                   attempted_hash = excluded.attempted_hash,
                   updated_at = excluded.updated_at
               WHERE e.status = 'failed' OR e.content_hash IS DISTINCT FROM excluded.content_hash
                  OR e.error_code IS NOT NULL
        """), {"now": now, "rows": msgspec.json.encode([
            {"posting_id": o.posting_id, "status": "failed" if o.extraction is None else "ok",
             "extraction": o.extraction, "model": o.model, "error_code": o.error_code,
             "content_hash": o.content_hash.hex() if o.content_hash is not None else None}
            for o in outcomes]).decode()})


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


async def embed_batch(runtime, limit: int = BATCH, *, ids: bool = False):  # noqa: ANN001, ANN201
    """Embed up to `limit` extracted postings that have no vector of the current model; how many
    (with `ids=True`: which)."""
    model = embedding_model(runtime)
    async with runtime.db.session() as session:
        rows = (await session.execute(text("""
            SELECT p.id, p.title, p.company, p.locations, p.remote, e.extraction, e.content_hash
            FROM posting_extractions e
            JOIN postings p ON p.id = e.posting_id
            LEFT JOIN posting_embeddings v ON v.posting_id = e.posting_id
            WHERE e.status = 'ok' AND (v.posting_id IS NULL OR v.model <> :model
                                       OR v.content_hash IS DISTINCT FROM e.content_hash)
            ORDER BY e.updated_at DESC, e.posting_id
            LIMIT :limit
        """), {"model": model, "limit": limit})).all()
    if not rows:
        return [] if ids else 0
    vectors = await embed(runtime, [posting_text(r.title, r.company, r.locations, r.remote, r.extraction)
                                    for r in rows])
    async with runtime.db.session() as session:
        await session.execute(text("""
            INSERT INTO posting_embeddings (posting_id, embedding, model, content_hash)
            SELECT x.posting_id, CAST(x.embedding AS vector), :model, decode(x.content_hash, 'hex')
            FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS x(posting_id bigint, embedding text, content_hash text)
            WHERE EXISTS (SELECT 1 FROM postings p WHERE p.id = x.posting_id)
            ON CONFLICT (posting_id) DO UPDATE
               SET embedding = excluded.embedding, model = excluded.model, content_hash = excluded.content_hash,
                   created_at = now()
        """), {"model": model, "rows": msgspec.json.encode(
            [{"posting_id": r.id, "embedding": vector_literal(v),
              "content_hash": r.content_hash.hex() if r.content_hash is not None else None}
             for r, v in zip(rows, vectors)]).decode()})
    return [r.id for r in rows] if ids else len(rows)


async def run_pipeline(runtime, limit: int = BATCH) -> PipelineReport:  # noqa: ANN001
    extracted, failed = await extract_batch(runtime, limit)
    report = PipelineReport(extracted=extracted, failed=failed)
    try:
        embedded = await embed_batch(runtime, min(limit, EMBED_BATCH), ids=True)
    except LLMError as exc:  # vectors wait for the next run; extractions are stored already
        log.warning("posting embeddings failed", extra={"code": exc.code})
        report.embedding_error = exc.code
        return report
    report.embedded = len(embedded)
    try:  # a signal for the dedup: it must not cost the run its vectors
        found = await flag_duplicates(runtime, embedded, embedding_model(runtime))
        report.likely_duplicates, report.merged_duplicates = found.likely, found.merged
    except Exception:
        log.exception("duplicate check by embedding failed")
    return report
