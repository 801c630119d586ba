"""pgvector, the tenant context function, users and their preferences.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from zentropy.db.rls import CURRENT_USER_FUNCTION, enable_tenant_rls

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.execute(CURRENT_USER_FUNCTION)
    op.create_table(
        "users",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("email_verified", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("picture", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("uq_users_email", "users", [sa.text("lower(email)")], unique=True)
    # A user row is the user's own: visible only in their tenant context.
    enable_tenant_rls("users", column="id")
    op.create_table(
        "user_preferences",
        sa.Column("user_id", pg.UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("skills", pg.ARRAY(sa.Text()), nullable=False, server_default="{}"),
        sa.Column("salary_min", sa.Integer(), nullable=True),
        sa.Column("salary_currency", sa.Text(), nullable=True),
        sa.Column("locations", pg.ARRAY(sa.Text()), nullable=False, server_default="{}"),
        sa.Column("remote", sa.Boolean(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    enable_tenant_rls("user_preferences")


def downgrade() -> None:
    op.drop_table("user_preferences")
    op.drop_table("users")
    op.execute("DROP FUNCTION IF EXISTS zentropy_current_user()")
