"""source-call ledger (issue: job sources).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Shared, not a tenant table: no user_id, no RLS. Never secrets, never posting content.
    op.create_table(
        "source_calls",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("operation", sa.Text(), nullable=False),
        sa.Column("query", pg.JSONB(), nullable=False, server_default="{}"),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("error_code", sa.Text(), nullable=True),
        sa.Column("items", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("skipped", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("requests", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("cost", sa.Float(), nullable=False, server_default="0"),
        sa.Column("latency_ms", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("status IN ('ok', 'error')", name="ck_source_calls_status"),
        sa.CheckConstraint("operation IN ('search', 'fetch', 'quota')", name="ck_source_calls_operation"),
    )
    op.create_index("ix_source_calls_source_created_at", "source_calls", ["source", "created_at"])


def downgrade() -> None:
    op.drop_table("source_calls")
