"""The source-call ledger: one row per call to a source. Shared (not a tenant table, no RLS).

It holds what was asked and how it went — never a secret, never posting content.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.orm import Mapped, mapped_column

from zentropy.db.base import Base


class SourceCall(Base):
    __tablename__ = "source_calls"

    id: Mapped[int] = mapped_column(sa.BigInteger(), sa.Identity(), primary_key=True)
    source: Mapped[str] = mapped_column(sa.Text())
    operation: Mapped[str] = mapped_column(sa.Text())  # search | fetch | quota
    query: Mapped[dict[str, Any]] = mapped_column(pg.JSONB(), default=dict, server_default="{}")
    cursor: Mapped[str | None] = mapped_column(sa.Text())
    status: Mapped[str] = mapped_column(sa.Text())  # ok | error
    error_code: Mapped[str | None] = mapped_column(sa.Text())
    items: Mapped[int] = mapped_column(sa.Integer(), default=0, server_default="0")
    skipped: Mapped[int] = mapped_column(sa.Integer(), default=0, server_default="0")
    requests: Mapped[int] = mapped_column(sa.Integer(), default=0, server_default="0")
    cost: Mapped[float] = mapped_column(sa.Float(), default=0.0, server_default="0")
    latency_ms: Mapped[int] = mapped_column(sa.Integer(), default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())

    __table_args__ = (
        sa.CheckConstraint("status IN ('ok', 'error')", name="status"),
        sa.CheckConstraint("operation IN ('search', 'fetch', 'quota')", name="operation"),
        sa.Index("ix_source_calls_source_created_at", "source", "created_at"),
    )
