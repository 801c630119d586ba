"""Tier engine tables (migration 0006).

Tenant tables, under row-level security by `user_id`: `searches`, `source_priorities`,
`search_preferences`. Shared (no user data, no RLS): `query_matches` and `query_runs`, the cache
tier's memory of which catalog postings sources returned for a query fingerprint, and when.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.orm import Mapped, mapped_column

from zentropy.db.base import Base


def _user_id(primary_key: bool = False) -> Mapped[uuid.UUID]:
    return mapped_column(pg.UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"),
                         primary_key=primary_key)


class Search(Base):
    """One search: its query, status, per-tier report and results (catalog posting ids, in order)."""

    __tablename__ = "searches"

    id: Mapped[uuid.UUID] = mapped_column(pg.UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = _user_id()
    saved_search_id: Mapped[uuid.UUID | None] = mapped_column(
        pg.UUID(as_uuid=True), sa.ForeignKey("saved_searches.id", ondelete="SET NULL"))
    origin: Mapped[str] = mapped_column(sa.Text())  # api | saved
    query: Mapped[dict[str, Any]] = mapped_column(pg.JSONB())
    fingerprint: Mapped[str] = mapped_column(sa.Text())
    want: Mapped[int] = mapped_column(sa.Integer())
    premium: Mapped[bool | None] = mapped_column(sa.Boolean())  # the request's say (None: the user's setting)
    status: Mapped[str] = mapped_column(sa.Text())  # queued | running | done | failed
    cached: Mapped[bool] = mapped_column(sa.Boolean(), server_default=sa.false())
    report: Mapped[dict[str, Any] | None] = mapped_column(pg.JSONB())
    result_ids: Mapped[list[int]] = mapped_column(pg.ARRAY(sa.BigInteger()), server_default="{}")
    result_sources: Mapped[list[str]] = mapped_column(pg.ARRAY(sa.Text()), server_default="{}")
    cost: Mapped[float] = mapped_column(sa.Float(), server_default="0")
    premium_calls: Mapped[int] = mapped_column(sa.Integer(), server_default="0")
    error_code: Mapped[str | None] = mapped_column(sa.Text())
    error: Mapped[str | None] = mapped_column(sa.Text())
    attempts: Mapped[int] = mapped_column(sa.Integer(), server_default="0")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    started_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class SourcePriority(Base):
    """A user's order of a source within its tier, and whether the source is used at all."""

    __tablename__ = "source_priorities"

    user_id: Mapped[uuid.UUID] = _user_id(primary_key=True)
    source: Mapped[str] = mapped_column(sa.Text(), primary_key=True)
    position: Mapped[int] = mapped_column(sa.Integer())
    enabled: Mapped[bool] = mapped_column(sa.Boolean())


class SearchPreferences(Base):
    __tablename__ = "search_preferences"

    user_id: Mapped[uuid.UUID] = _user_id(primary_key=True)
    allow_premium: Mapped[bool] = mapped_column(sa.Boolean())
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


class QueryMatch(Base):
    """A catalog posting a source returned for the query with this fingerprint (shared)."""

    __tablename__ = "query_matches"

    fingerprint: Mapped[str] = mapped_column(sa.Text(), primary_key=True)
    posting_id: Mapped[int] = mapped_column(sa.BigInteger(), primary_key=True)
    rank: Mapped[int] = mapped_column(sa.Integer())
    source: Mapped[str] = mapped_column(sa.Text())
    matched_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), index=True)


class QueryRun(Base):
    """The last time sources ran for a query fingerprint, and which tiers they exhausted (shared)."""

    __tablename__ = "query_runs"

    fingerprint: Mapped[str] = mapped_column(sa.Text(), primary_key=True)
    ran_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), index=True)
    free_exhausted: Mapped[bool] = mapped_column(sa.Boolean())
    premium_exhausted: Mapped[bool] = mapped_column(sa.Boolean())
    results: Mapped[int] = mapped_column(sa.Integer())
