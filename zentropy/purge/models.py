"""The purge log (migration 0008): one row per expired content partition. Shared, not tenant data."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from zentropy.db.base import Base


class ContentPurge(Base):
    """Written when the partition is detached (`purge_detach_expired_content_partition`), completed
    when the detached table is dropped (`purge_drop_detached_content`)."""

    __tablename__ = "content_purges"

    id: Mapped[int] = mapped_column(sa.BigInteger(), sa.Identity(), primary_key=True)
    partition_name: Mapped[str] = mapped_column(sa.Text())
    expired_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    rows_removed: Mapped[int] = mapped_column(sa.BigInteger())
    detached_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    dropped_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    __table_args__ = (sa.Index("ix_content_purges_pending", "id", postgresql_where=sa.text("dropped_at IS NULL")),)
