"""Saved searches and the feed (migration 0006): tenant tables under row-level security."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.orm import Mapped, mapped_column

from zentropy.db.base import Base


class SavedSearch(Base):
    __tablename__ = "saved_searches"

    id: Mapped[uuid.UUID] = mapped_column(pg.UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(pg.UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.Text())
    query: Mapped[dict[str, Any]] = mapped_column(pg.JSONB())
    want: Mapped[int] = mapped_column(sa.Integer())
    premium: Mapped[bool | None] = mapped_column(sa.Boolean())
    every_hours: Mapped[int] = mapped_column(sa.Integer())
    enabled: Mapped[bool] = mapped_column(sa.Boolean(), server_default=sa.true())
    next_run_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    last_run_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    last_search_id: Mapped[uuid.UUID | None] = mapped_column(pg.UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


class FeedEntry(Base):
    """A posting in a user's feed (once per posting), with the status the user gave it."""

    __tablename__ = "feed_entries"

    user_id: Mapped[uuid.UUID] = mapped_column(pg.UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"),
                                               primary_key=True)
    posting_id: Mapped[int] = mapped_column(sa.BigInteger(), primary_key=True)
    saved_search_id: Mapped[uuid.UUID | None] = mapped_column(
        pg.UUID(as_uuid=True), sa.ForeignKey("saved_searches.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(sa.Text())  # new | saved | dismissed | applied
    added_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
