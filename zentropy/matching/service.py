"""`match(runtime, user_id, posting_ids) -> {posting_id: Match}`, in the user's tenant context.

The user's side comes from their preferences (`user_preferences`) and their profile vector
(`user_profile_embeddings`, remade when the preferences or the embedding model change); the
posting's from its extraction (else the catalog's metadata) and its vector. The profile is embedded
as the user's call (metered to them, their rate limit and budget, their own key when it reaches the
same model), always with the postings' model: vectors of different models are not comparable.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterable

import msgspec
from sqlalchemy import text

from zentropy.db import tenant
from zentropy.llm import LLMError, embed, embedding_model
from zentropy.matching.pipeline import vector_literal
from zentropy.matching.schemas import Match
from zentropy.matching.score import FitJudgement, PostingFacts, Preferences, combine
from zentropy.matching.texts import profile_text

log = logging.getLogger(__name__)


async def preferences(runtime, user_id: uuid.UUID) -> Preferences:  # noqa: ANN001
    async with runtime.db.session() as session:
        row = (await session.execute(text(
            "SELECT skills, salary_min, salary_currency, locations, remote FROM user_preferences "
            "WHERE user_id = :user_id"), {"user_id": user_id})).first()
    if row is None:
        return Preferences()
    return Preferences(skills=list(row.skills or []), salary_min=row.salary_min, salary_currency=row.salary_currency,
                       locations=list(row.locations or []), remote=row.remote)


def preferences_digest(prefs: Preferences) -> str:
    """Changes whenever the preferences do: a stored fit judgement is valid for this digest only."""
    return hashlib.sha256(msgspec.json.encode(prefs)).hexdigest()


async def ensure_profile_embedding(runtime, user_id: uuid.UUID, prefs: Preferences) -> str | None:  # noqa: ANN001
    """The model of the user's up-to-date profile vector (made now if missing or stale), or None when
    the preferences say nothing to embed or no embedding model is available."""
    body = profile_text(prefs.skills, prefs.locations, prefs.remote)
    if not body:
        return None
    try:
        model = embedding_model(runtime)
    except LLMError:
        return None
    digest = hashlib.sha256(f"{model}\n{body}".encode()).hexdigest()
    async with runtime.db.session() as session:
        current = (await session.execute(text(
            "SELECT profile_digest FROM user_profile_embeddings WHERE user_id = :user_id"),
            {"user_id": user_id})).scalar()
    if current == digest:
        return model
    try:
        [vector] = await embed(runtime, [body], user_id=user_id)  # the user's call: metered and checked as theirs
    except LLMError as exc:
        log.warning("profile embedding failed", extra={"code": exc.code})
        return None
    async with runtime.db.session() as session:
        await session.execute(text("""
            INSERT INTO user_profile_embeddings (user_id, embedding, model, profile_digest, updated_at)
            VALUES (:user_id, CAST(:embedding AS vector), :model, :digest, now())
            ON CONFLICT (user_id) DO UPDATE SET embedding = excluded.embedding, model = excluded.model,
                profile_digest = excluded.profile_digest, updated_at = excluded.updated_at
        """), {"user_id": user_id, "embedding": vector_literal(vector), "model": model, "digest": digest})
    return model


def _facts(row) -> PostingFacts:  # noqa: ANN001
    e = row.extraction or {}
    salary = e.get("salary")
    yearly = row.salary_period in (None, "year")
    return PostingFacts(
        required_skills=e.get("required_skills", []), preferred_skills=e.get("preferred_skills", []),
        salary_min=salary["min"] if salary else (row.salary_min if yearly else None),
        salary_max=salary["max"] if salary else (row.salary_max if yearly else None),
        salary_currency=salary["currency"] if salary else row.salary_currency,
        locations=list(row.locations or []),
        remote=e["remote"] if e.get("remote", "unknown") != "unknown" else (row.remote or "unknown"),
    )


async def match(runtime, user_id: uuid.UUID, posting_ids: Iterable[int]) -> dict[int, Match]:  # noqa: ANN001
    """Scores of the given catalog postings for `user_id`; unknown posting ids are left out."""
    ids = sorted(set(posting_ids))
    if not ids:
        return {}
    with tenant(user_id):
        prefs = await preferences(runtime, user_id)
        model = await ensure_profile_embedding(runtime, user_id, prefs)
        async with runtime.db.session() as session:
            rows = (await session.execute(text("""
                SELECT p.id, p.locations, p.remote, p.salary_min, p.salary_max, p.salary_currency, p.salary_period,
                       e.extraction,
                       CASE WHEN v.model = u.model THEN 1 - (v.embedding <=> u.embedding) END AS cosine,
                       f.fit, f.summary AS fit_summary, f.strengths AS fit_strengths, f.gaps AS fit_gaps,
                       f.model AS fit_model
                FROM postings p
                LEFT JOIN posting_extractions e ON e.posting_id = p.id AND e.status = 'ok'
                LEFT JOIN posting_embeddings v ON v.posting_id = p.id
                LEFT JOIN user_profile_embeddings u ON u.user_id = :user_id AND u.model = :model
                LEFT JOIN match_fit_scores f ON f.user_id = :user_id AND f.posting_id = p.id
                                            AND f.profile_digest = :digest
                WHERE p.id = ANY(:ids)
            """), {"ids": ids, "user_id": user_id, "model": model, "digest": preferences_digest(prefs)})).all()
    out = {}
    for row in rows:
        judgement = None if row.fit is None else FitJudgement(
            fit=row.fit, summary=row.fit_summary, strengths=list(row.fit_strengths or []),
            gaps=list(row.fit_gaps or []), model=row.fit_model)
        score, breakdown = combine(prefs, _facts(row), row.cosine, judgement)
        out[row.id] = Match(posting_id=row.id, score=score, breakdown=breakdown,
                            fit_model=judgement.model if judgement else None)
    return out
