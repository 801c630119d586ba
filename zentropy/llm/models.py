"""LLM tables: every call metered (per user under RLS, system calls apart) and users' own keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.orm import Mapped, mapped_column

from zentropy.db.base import Base


class _UsageColumns:
    id: Mapped[int] = mapped_column(sa.BigInteger(), sa.Identity(), primary_key=True)
    task: Mapped[str] = mapped_column(sa.Text())
    provider: Mapped[str] = mapped_column(sa.Text())
    model: Mapped[str] = mapped_column(sa.Text())
    generation_id: Mapped[str | None] = mapped_column(sa.Text())
    prompt_tokens: Mapped[int] = mapped_column(sa.Integer(), default=0)
    completion_tokens: Mapped[int] = mapped_column(sa.Integer(), default=0)
    cost_usd: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 8))
    latency_ms: Mapped[int] = mapped_column(sa.Integer())
    status: Mapped[str] = mapped_column(sa.Text())  # ok | failed | invalid_output | cancelled
    error_code: Mapped[str | None] = mapped_column(sa.Text())
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


class LLMUsage(_UsageColumns, Base):
    """Tenant table: a user's calls, under row-level security by `user_id`."""

    __tablename__ = "llm_usage"

    user_id: Mapped[uuid.UUID] = mapped_column(pg.UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"))
    byok: Mapped[bool] = mapped_column(sa.Boolean(), default=False)  # paid with the user's own key


class LLMSystemUsage(_UsageColumns, Base):
    """Calls made for no user (e.g. extraction of catalog postings): shared, no RLS."""

    __tablename__ = "llm_system_usage"


class LLMUserKey(Base):
    """Tenant table: a user's own provider key, AES-GCM encrypted (zentropy.llm.crypto)."""

    __tablename__ = "llm_user_keys"

    user_id: Mapped[uuid.UUID] = mapped_column(
        pg.UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    provider: Mapped[str] = mapped_column(sa.Text(), primary_key=True)
    ciphertext: Mapped[bytes] = mapped_column(sa.LargeBinary())
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
