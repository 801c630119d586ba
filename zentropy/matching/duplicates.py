"""Embeddings as a dedup signal: after postings are embedded, their nearest neighbours (HNSW) of the same
employer are weighed with the dedup decision, and likely duplicate pairs are recorded.

The ingest's dedup only compares a new listing with the candidates its blocking keys find (title,
company, URL, description LSH bands); a posting re-worded enough to miss every band stays a second
posting. A vector search looks at every posting instead. For each embedded posting, its
`NEIGHBOURS` nearest postings of the same embedding model with a cosine similarity of at least
`SIMILARITY_MIN` and the same company key (`zentropy.dedup` normalization, non-empty) are checked:

- `zentropy.dedup.decide` on the two canonical postings' dedup keys, without the vectors, gives the
  ingest's verdict, and with their similarity as one more signal (weighted like the others, from
  0 at `SIMILARITY_MIN` to 1 at 1.0) the pair's `score`; a veto (different countries or locations)
  holds either way;
- `likely_duplicate` when either says duplicate.

Each checked pair is a row of `posting_duplicate_candidates` (remade when either posting is embedded
again). A pair the dedup decision calls duplicate without the vectors — what the ingest would have
decided, had a blocking key brought the two together — is then merged into one posting
(`zentropy.catalog.merging`); a pair only the vectors make likely stays two postings, recorded for
review.

Posting vectors are made from title, company, location and extracted skills, seniority and remote
policy (zentropy.matching.texts): near-identical vectors say "same kind of job at the same place",
not "same opening" — hence a signal weighed with the dedup decision, never a decision alone.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import msgspec
from sqlalchemy import text

from zentropy.catalog.merging import merge_postings
from zentropy.catalog.store import canonical_postings
from zentropy.dedup import Decision, DedupKeys, decide
from zentropy.dedup.score import EMBEDDING_FLOOR

log = logging.getLogger(__name__)

SIMILARITY_MIN = EMBEDDING_FLOOR
NEIGHBOURS = 5

NEIGHBOURS_SQL = """
SELECT n.posting_id, 1 - (n.embedding <=> v.embedding) AS similarity
FROM posting_embeddings v
CROSS JOIN LATERAL (
    SELECT o.posting_id, o.embedding FROM posting_embeddings o
    WHERE o.model = v.model
    ORDER BY o.embedding <=> v.embedding
    LIMIT :limit
) n
WHERE v.posting_id = :posting_id AND v.model = :model AND n.posting_id <> v.posting_id
"""


class DuplicateReport(msgspec.Struct, kw_only=True):
    likely: int = 0  # likely duplicate pairs found
    merged: int = 0  # of them, merged into one posting


class PairAssessment(msgspec.Struct, frozen=True, kw_only=True):
    embedding_similarity: float
    dedup: Decision
    score: float
    likely_duplicate: bool


def assess(a: DedupKeys, b: DedupKeys, similarity: float) -> PairAssessment:
    """The dedup decision on two postings, with and without their embedding similarity."""
    decision = decide(a, b)
    weighed = decide(a, b, embedding_similarity=similarity)
    return PairAssessment(embedding_similarity=round(similarity, 4), dedup=decision, score=weighed.score,
                          likely_duplicate=decision.duplicate or weighed.duplicate)


async def neighbours(session, posting_id: int, model: str, limit: int = NEIGHBOURS) -> list[tuple[int, float]]:  # noqa: ANN001
    """(posting id, cosine similarity) of the posting's nearest neighbours (HNSW), itself left out."""
    rows = await session.execute(text(NEIGHBOURS_SQL), {"posting_id": posting_id, "model": model,
                                                       "limit": limit + 1})
    return [(r.posting_id, float(r.similarity)) for r in rows]


async def flag_duplicates(runtime, posting_ids: Sequence[int], model: str) -> DuplicateReport:  # noqa: ANN001
    """Check the near neighbours of `posting_ids` (embedded with `model`): record the pairs, merge
    those the dedup decision calls duplicates."""
    report = DuplicateReport()
    if not posting_ids:
        return report
    async with runtime.db.session() as session:
        pairs: dict[tuple[int, int], float] = {}
        for pid in posting_ids:
            for other, similarity in await neighbours(session, pid, model):
                if similarity >= SIMILARITY_MIN:
                    pairs[(min(pid, other), max(pid, other))] = similarity
        if not pairs:
            return report
        raw = await (await session.connection()).get_raw_connection()
        rows = {p.id: p for p in await canonical_postings(raw.driver_connection,
                                                          sorted({i for pair in pairs for i in pair}))}
        records = []
        same: list[tuple[int, int, str]] = []
        for (a, b), similarity in sorted(pairs.items()):
            first, second = rows.get(a), rows.get(b)
            if first is None or second is None or not first.company_key or first.company_key != second.company_key:
                continue
            found = assess(first.dedup_keys(), second.dedup_keys(), similarity)
            records.append({"posting_id": a, "other_id": b, "embedding_similarity": found.embedding_similarity,
                            "dedup_score": found.dedup.score, "dedup_reason": found.dedup.reason,
                            "score": found.score, "likely_duplicate": found.likely_duplicate})
            if found.dedup.duplicate:
                same.append((a, b, f"embedding neighbour ({found.embedding_similarity:.3f}); dedup: {found.dedup.reason} "
                                   f"{found.dedup.score:.2f}"))
        if records:
            await session.execute(text("""
                INSERT INTO posting_duplicate_candidates AS d (posting_id, other_id, embedding_similarity, dedup_score,
                                                               dedup_reason, score, likely_duplicate, model)
                SELECT x.posting_id, x.other_id, x.embedding_similarity, x.dedup_score, x.dedup_reason, x.score,
                       x.likely_duplicate, :model
                FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS x(posting_id bigint, other_id bigint,
                     embedding_similarity float8, dedup_score float8, dedup_reason text, score float8,
                     likely_duplicate boolean)
                WHERE EXISTS (SELECT 1 FROM postings p WHERE p.id = x.posting_id)
                  AND EXISTS (SELECT 1 FROM postings p WHERE p.id = x.other_id)
                ON CONFLICT (posting_id, other_id) DO UPDATE
                   SET embedding_similarity = excluded.embedding_similarity, dedup_score = excluded.dedup_score,
                       dedup_reason = excluded.dedup_reason, score = excluded.score,
                       likely_duplicate = excluded.likely_duplicate, model = excluded.model, updated_at = now()
            """), {"model": model, "rows": msgspec.json.encode(records).decode()})
    report.likely = sum(1 for r in records if r["likely_duplicate"])
    if report.likely:
        log.info("likely duplicate postings found by embedding", extra={"pairs": report.likely})
    for a, b, reason in same:
        report.merged += await merge_postings(runtime, a, b, reason) is not None
    return report
