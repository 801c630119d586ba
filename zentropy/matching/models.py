"""Matching's tables (migration 0009). Posting rows are shared catalog metadata (no RLS, no posting
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
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


class PostingEmbedding(Base):
    __tablename__ = "posting_embeddings"

    posting_id: Mapped[int] = mapped_column(sa.BigInteger(), primary_key=True)
    embedding: Mapped[Any] = mapped_column(Vector(EMBEDDING_DIMENSION))
    model: Mapped[str] = mapped_column(sa.Text())
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
