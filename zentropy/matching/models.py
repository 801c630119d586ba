"""Matching's tables (migrations 0009, 0010). Posting rows are shared catalog metadata (no RLS, no posting
text); `user_profile_embeddings` is a tenant table."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.orm import Mapped, mapped_column

from zentropy.db.base import Base
from zentropy.llm.settings import EMBEDDING_DIMENSION


class PostingExtraction(Base):
    """A posting's validated `Extraction` (status ok), or the error code of its last attempt (failed)."""

    __tablename__ = "posting_extractions"

    posting_id: Mapped[int] = mapped_column(sa.BigInteger(), primary_key=True)
    status: Mapped[str] = mapped_column(sa.Text())  # ok | failed
    extraction: Mapped[dict[str, Any] | None] = mapped_column(pg.JSONB())
    model: Mapped[str | None] = mapped_column(sa.Text())
    error_code: Mapped[str | None] = mapped_column(sa.Text())
    attempts: Mapped[int] = mapped_column(sa.SmallInteger(), server_default="1")
    content_hash: Mapped[bytes | None] = mapped_column(pg.BYTEA())  # of the listing text it was made from (0010)
    attempted_hash: Mapped[bytes | None] = mapped_column(pg.BYTEA())  # of the text the last failed attempt read
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


class PostingEmbedding(Base):
    __tablename__ = "posting_embeddings"

    posting_id: Mapped[int] = mapped_column(sa.BigInteger(), primary_key=True)
    embedding: Mapped[Any] = mapped_column(Vector(EMBEDDING_DIMENSION))
    model: Mapped[str] = mapped_column(sa.Text())
    content_hash: Mapped[bytes | None] = mapped_column(pg.BYTEA())  # the extraction's, when embedded (0010)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


class UserProfileEmbedding(Base):
    """Tenant table: the vector of a user's preferences, remade when they (or the model) change."""

    __tablename__ = "user_profile_embeddings"

    user_id: Mapped[uuid.UUID] = mapped_column(
        pg.UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    embedding: Mapped[Any] = mapped_column(Vector(EMBEDDING_DIMENSION))
    model: Mapped[str] = mapped_column(sa.Text())
    profile_digest: Mapped[str] = mapped_column(sa.Text())
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


class PostingDuplicateCandidate(Base):
    """Two catalog postings with near-identical vectors, and what the dedup decision makes of them
    (zentropy.matching.duplicates). Shared catalog metadata; `posting_id < other_id`."""

    __tablename__ = "posting_duplicate_candidates"

    posting_id: Mapped[int] = mapped_column(sa.BigInteger(), primary_key=True)
    other_id: Mapped[int] = mapped_column(sa.BigInteger(), primary_key=True)
    embedding_similarity: Mapped[float] = mapped_column(sa.Float())
    dedup_score: Mapped[float] = mapped_column(sa.Float())
    dedup_reason: Mapped[str] = mapped_column(sa.Text())
    score: Mapped[float] = mapped_column(sa.Float())
    likely_duplicate: Mapped[bool] = mapped_column(sa.Boolean())
    model: Mapped[str] = mapped_column(sa.Text())
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


class MatchFitScore(Base):
    """Tenant table: a user's LLM fit score of a posting, valid for the profile digest it was made for."""

    __tablename__ = "match_fit_scores"

    user_id: Mapped[uuid.UUID] = mapped_column(
        pg.UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    posting_id: Mapped[int] = mapped_column(sa.BigInteger(), primary_key=True)
    profile_digest: Mapped[str] = mapped_column(sa.Text())
    fit: Mapped[float] = mapped_column(sa.Float())
    summary: Mapped[str] = mapped_column(sa.Text())
    strengths: Mapped[list[str]] = mapped_column(pg.ARRAY(sa.Text()), server_default="{}")
    gaps: Mapped[list[str]] = mapped_column(pg.ARRAY(sa.Text()), server_default="{}")
    model: Mapped[str] = mapped_column(sa.Text())
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
