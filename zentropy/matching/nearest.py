"""The catalog postings nearest to a user's preferences: an HNSW search of `posting_embeddings` with the
user's profile vector, each result with its match score and breakdown.

The profile vector is read in the user's tenant context (row-level security: only their own row can
be read) and passed to the search as a constant, so the ORDER BY `embedding <=> :profile` LIMIT k
is served by the HNSW index (`ix_posting_embeddings_hnsw`, cosine distance). The search is
approximate; `hnsw.ef_search` is raised for the transaction to at least twice k.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import msgspec
from sqlalchemy import text

from zentropy.db import tenant
from zentropy.matching.schemas import Match
from zentropy.matching.service import ensure_profile_embedding, match, preferences
from zentropy.search.results import JobSummary, summaries

MAX_K = 100
MIN_EF_SEARCH = 40

# Postings of another embedding model are filtered out after the index scan: vectors of different
# models are not comparable (the pipeline re-embeds them with the current model).
NEAREST_SQL = """
SELECT v.posting_id, 1 - (v.embedding <=> CAST(:profile AS vector)) AS similarity
FROM posting_embeddings v
WHERE v.model = :model
ORDER BY v.embedding <=> CAST(:profile AS vector)
LIMIT :k
"""


class NearMatch(msgspec.Struct, frozen=True, kw_only=True):
    job: JobSummary
    similarity: float  # cosine similarity of the posting's vector to your preferences' (-1..1)
    match: Match


class NearMatches(msgspec.Struct, frozen=True, kw_only=True):
    items: list[NearMatch]  # nearest first
    model: str | None  # the embedding model of the vectors compared; null: no profile vector
    detail: str = ""


async def nearest_postings(session, profile: str, model: str, k: int) -> list[tuple[int, float]]:  # noqa: ANN001
    """(posting id, cosine similarity), nearest first, through the HNSW index."""
    await session.execute(text("SELECT set_config('hnsw.ef_search', :ef, true)"),
                          {"ef": str(max(MIN_EF_SEARCH, 2 * k))})
    rows = await session.execute(text(NEAREST_SQL), {"profile": profile, "model": model, "k": k})
    return [(r.posting_id, float(r.similarity)) for r in rows]


async def nearest_matches(runtime, user_id: uuid.UUID, k: int = 20) -> NearMatches:  # noqa: ANN001
    """The `k` catalog postings nearest to the user's preferences, each with its match."""
    k = max(1, min(k, MAX_K))
    with tenant(user_id):
        prefs = await preferences(runtime, user_id)
        model = await ensure_profile_embedding(runtime, user_id, prefs)
        if model is None:
            return NearMatches(items=[], model=None, detail="No preference vector: set skills or locations in your "
                               "preferences (or the embedding model is unavailable).")
        async with runtime.db.session() as session:
            profile = (await session.execute(text(
                "SELECT embedding::text FROM user_profile_embeddings WHERE user_id = :user_id AND model = :model"),
                {"user_id": user_id, "model": model})).scalar()
            if profile is None:
                return NearMatches(items=[], model=None, detail="No preference vector.")
            near = await nearest_postings(session, profile, model, k)
            jobs = await summaries(session, [pid for pid, _ in near], [], runtime.settings.public_url,
                                   datetime.now(timezone.utc))
    scores = await match(runtime, user_id, [pid for pid, _ in near])
    by_id = {job.id: job for job in jobs}
    items = [NearMatch(job=by_id[pid], similarity=round(sim, 4), match=scores[pid])
             for pid, sim in near if pid in by_id and pid in scores]
    return NearMatches(items=items, model=model)
