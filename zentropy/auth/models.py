"""Sign-in tables, kept apart from profile data (`users`, `user_preferences`)."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.orm import Mapped, mapped_column

from zentropy.db.base import Base


class Account(Base):
    """One identity at one provider, linked to a user. Tenant table (RLS by `user_id`)."""

    __tablename__ = "accounts"
    __table_args__ = (sa.UniqueConstraint("provider", "subject", name="uq_accounts_provider_subject"),)

    id: Mapped[uuid.UUID] = mapped_column(pg.UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        pg.UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(sa.Text())
    subject: Mapped[str] = mapped_column(sa.Text())
    email: Mapped[str | None] = mapped_column(sa.Text())
    email_verified: Mapped[bool] = mapped_column(sa.Boolean(), default=False, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    last_used_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


class AuthSession(Base):
    """A signed-in session. Only the keyed hash of its token is stored. Tenant table."""

    __tablename__ = "sessions"

    id: Mapped[uuid.UUID] = mapped_column(pg.UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        pg.UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(sa.Text(), unique=True)
    via: Mapped[str] = mapped_column(sa.Text())  # the provider that signed the user in
    user_agent: Mapped[str | None] = mapped_column(sa.Text())
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    last_seen_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), index=True)


class VerificationToken(Base):
    """A magic-link token's keyed hash. Reached only through SECURITY DEFINER functions."""

    __tablename__ = "verification_tokens"

    token_hash: Mapped[str] = mapped_column(sa.Text(), primary_key=True)
    address: Mapped[str] = mapped_column(sa.Text())
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    consumed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
