from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.orm import Mapped, mapped_column

from zentropy.db.base import Base


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(pg.UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    email: Mapped[str | None] = mapped_column(sa.Text())
    email_verified: Mapped[bool] = mapped_column(sa.Boolean(), default=False, server_default=sa.false())
    name: Mapped[str | None] = mapped_column(sa.Text())
    picture: Mapped[str | None] = mapped_column(sa.Text())
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    disabled_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class UserPreferences(Base):
    """Tenant table: under row-level security by `user_id`."""

    __tablename__ = "user_preferences"

    user_id: Mapped[uuid.UUID] = mapped_column(
        pg.UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    skills: Mapped[list[str]] = mapped_column(pg.ARRAY(sa.Text()), default=list, server_default="{}")
    salary_min: Mapped[int | None] = mapped_column(sa.Integer())
    salary_currency: Mapped[str | None] = mapped_column(sa.Text())
    locations: Mapped[list[str]] = mapped_column(pg.ARRAY(sa.Text()), default=list, server_default="{}")
    remote: Mapped[bool | None] = mapped_column(sa.Boolean())
    completed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
