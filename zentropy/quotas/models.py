"""Quota tables (migration 0006): tenant tables under row-level security."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.orm import Mapped, mapped_column

from zentropy.db.base import Base


class QuotaUsage(Base):
    """How much of a quota (`kind`: searches | premium_calls) a user used in a period (a UTC day
    for searches, a UTC calendar month for premium calls, by its first day)."""

    __tablename__ = "quota_usage"

    user_id: Mapped[uuid.UUID] = mapped_column(pg.UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"),
                                               primary_key=True)
    kind: Mapped[str] = mapped_column(sa.Text(), primary_key=True)
    period_start: Mapped[date] = mapped_column(sa.Date(), primary_key=True)
    used: Mapped[int] = mapped_column(sa.Integer())


class UserQuota(Base):
    """A user's own quotas (None: the configured default)."""

    __tablename__ = "user_quotas"

    user_id: Mapped[uuid.UUID] = mapped_column(pg.UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"),
                                               primary_key=True)
    searches_per_day: Mapped[int | None] = mapped_column(sa.Integer())
    premium_calls_per_month: Mapped[int | None] = mapped_column(sa.Integer())
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
