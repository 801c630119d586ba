"""The catalog's tables (migration 0005): shared, not tenant-scoped."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.orm import Mapped, mapped_column

from zentropy.db.base import Base


class PostingRow(Base):
    """A canonical posting: permanent metadata, dedup keys and fingerprints."""

    __tablename__ = "postings"

    id: Mapped[int] = mapped_column(sa.BigInteger(), sa.Identity(always=False), primary_key=True)
    title: Mapped[str] = mapped_column(sa.Text())
    company: Mapped[str | None] = mapped_column(sa.Text())
    locations: Mapped[list[str]] = mapped_column(pg.ARRAY(sa.Text()), server_default="{}")
    country: Mapped[str | None] = mapped_column(sa.Text())
    remote: Mapped[str] = mapped_column(sa.Text(), server_default="unknown")
    salary_min: Mapped[float | None] = mapped_column(sa.Float())
    salary_max: Mapped[float | None] = mapped_column(sa.Float())
    salary_currency: Mapped[str | None] = mapped_column(sa.Text())
    salary_period: Mapped[str | None] = mapped_column(sa.Text())
    salary_predicted: Mapped[bool] = mapped_column(sa.Boolean(), server_default=sa.false())
    employment_type: Mapped[str | None] = mapped_column(sa.Text())
    posted_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    source_url: Mapped[str | None] = mapped_column(sa.Text())
    apply_url: Mapped[str | None] = mapped_column(sa.Text())
    apply_url_rank: Mapped[int] = mapped_column(sa.SmallInteger(), server_default="-1")
    apply_url_key: Mapped[str | None] = mapped_column(sa.Text())
    tags: Mapped[list[str]] = mapped_column(pg.ARRAY(sa.Text()), server_default="{}")
    category: Mapped[str | None] = mapped_column(sa.Text())
    title_key: Mapped[str] = mapped_column(sa.Text(), server_default="")
    seniority: Mapped[str | None] = mapped_column(sa.Text())
    company_key: Mapped[str] = mapped_column(sa.Text(), server_default="")
    agency: Mapped[bool] = mapped_column(sa.Boolean(), server_default=sa.false())
    location_keys: Mapped[list[str]] = mapped_column(pg.ARRAY(sa.Text()), server_default="{}")
    signature: Mapped[bytes | None] = mapped_column(pg.BYTEA())
    shingles: Mapped[int] = mapped_column(sa.Integer(), server_default="0")
    fingerprint_version: Mapped[int] = mapped_column(sa.SmallInteger())
    description_length: Mapped[int] = mapped_column(sa.Integer(), server_default="0")
    first_seen_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    content_expires_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))



class PostingKeyRow(Base):
    """A blocking key of a posting: the index candidates for a new listing are looked up in. A
    hash index on `key` (migration 0015); the pairs are distinct, kept so by the ingest."""

    __tablename__ = "posting_keys"
    __table_args__ = (sa.Index("ix_posting_keys_key", "key", postgresql_using="hash"),)

    key: Mapped[int] = mapped_column(sa.BigInteger())
    posting_id: Mapped[int] = mapped_column(sa.BigInteger())
    __mapper_args__ = {"primary_key": [key, posting_id]}  # noqa: RUF012 - the ORM's identity, not a constraint


class PostingAgencyKeyRow(Base):
    """A staffing agency's winnowing key (`zentropy.dedup.keys.DedupKeys.agency_keys`): apart from
    the other keys, so that every posting's look-ups of them probe a small index."""

    __tablename__ = "posting_agency_keys"
    __table_args__ = (sa.Index("ix_posting_agency_keys_key", "key", postgresql_using="hash"),)

    key: Mapped[int] = mapped_column(sa.BigInteger())
    posting_id: Mapped[int] = mapped_column(sa.BigInteger())
    __mapper_args__ = {"primary_key": [key, posting_id]}  # noqa: RUF012


class HotKeyRow(Base):
    """A blocking key shared by `zentropy.catalog.store.HOT_KEY` postings or more: boilerplate,
    neither looked up nor stored for more postings (migration 0014)."""

    __tablename__ = "hot_keys"

    key: Mapped[int] = mapped_column(sa.BigInteger(), primary_key=True)


class PostingSourceRow(Base):
    """One listing of a posting by one source; never deleted, so no source link is ever lost."""

    __tablename__ = "posting_sources"

    id: Mapped[int] = mapped_column(sa.BigInteger(), sa.Identity(always=False), primary_key=True)
    source: Mapped[str] = mapped_column(sa.Text())
    external_id: Mapped[str] = mapped_column(sa.Text())
    posting_id: Mapped[int] = mapped_column(sa.BigInteger(), sa.ForeignKey("postings.id", ondelete="CASCADE"),
                                            index=True)
    title: Mapped[str] = mapped_column(sa.Text())
    company: Mapped[str | None] = mapped_column(sa.Text())
    source_url: Mapped[str | None] = mapped_column(sa.Text())
    apply_url: Mapped[str | None] = mapped_column(sa.Text())
    match_rule: Mapped[str] = mapped_column(sa.Text())
    match_score: Mapped[float | None] = mapped_column(sa.Float())
    content_hash: Mapped[bytes | None] = mapped_column(pg.BYTEA())
    content_expires_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    first_seen_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))

    __table_args__ = (sa.UniqueConstraint("source", "external_id", name="uq_posting_sources_source_external_id"),)


class PostingContentRow(Base):
    """A listing's content, in the hourly partition of its expiry (created by
    `catalog_ensure_content_partitions`, dropped by `catalog_drop_content_partitions`)."""

    __tablename__ = "posting_content"

    source_id: Mapped[int] = mapped_column(sa.BigInteger(), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), primary_key=True)
    posting_id: Mapped[int] = mapped_column(sa.BigInteger(), index=True)
    fetched_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    description_text: Mapped[str] = mapped_column(sa.Text(), server_default="")
    description_html: Mapped[str | None] = mapped_column(sa.Text())
    raw: Mapped[dict[str, Any] | None] = mapped_column(pg.JSONB())

    __table_args__ = {"postgresql_partition_by": "RANGE (expires_at)"}
