"""Matching: posting extractions and embeddings (shared catalog metadata), user profile embeddings.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26

- `posting_extractions`: one row per catalog posting, the validated `Extraction` (JSONB) or why it
  failed. Metadata: it holds no posting text, so it outlives the content TTL.
- `posting_embeddings`: a posting's vector (384 dimensions) and the model that made it; HNSW index
  for cosine distance.
- `user_profile_embeddings`: tenant table (forced RLS), the vector of a user's preferences.

`posting_id` follows `postings.id` through triggers rather than a foreign key: the catalog is
TRUNCATEd as a whole (tests, benchmarks), which a referencing foreign key would refuse. A row
delete of a posting deletes its rows here; a TRUNCATE of `postings` empties both tables.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects import postgresql as pg

from zentropy.db.rls import disable_tenant_rls, enable_tenant_rls

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

DIMENSION = 384

ON_DELETE = """
CREATE FUNCTION matching_forget_posting() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    DELETE FROM public.posting_extractions WHERE posting_id = OLD.id;
    DELETE FROM public.posting_embeddings WHERE posting_id = OLD.id;
    RETURN OLD;
END
$$
"""

ON_TRUNCATE = """
CREATE FUNCTION matching_forget_all_postings() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    TRUNCATE public.posting_extractions, public.posting_embeddings;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "posting_extractions",
        sa.Column("posting_id", sa.BigInteger(), primary_key=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("extraction", pg.JSONB()),
        sa.Column("model", sa.Text()),
        sa.Column("error_code", sa.Text()),
        sa.Column("attempts", sa.SmallInteger(), nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("status IN ('ok', 'failed')", name="ck_posting_extractions_status"),
        sa.CheckConstraint("(status = 'ok') = (extraction IS NOT NULL)", name="ck_posting_extractions_ok_has_value"),
    )
    op.create_index("ix_posting_extractions_failed", "posting_extractions", ["updated_at"],
                    postgresql_where=sa.text("status = 'failed'"))
    op.create_table(
        "posting_embeddings",
        sa.Column("posting_id", sa.BigInteger(), primary_key=True),
        sa.Column("embedding", Vector(DIMENSION), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.execute("CREATE INDEX ix_posting_embeddings_hnsw ON posting_embeddings "
               "USING hnsw (embedding vector_cosine_ops)")
    op.create_table(
        "user_profile_embeddings",
        sa.Column("user_id", pg.UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("embedding", Vector(DIMENSION), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("profile_digest", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    enable_tenant_rls("user_profile_embeddings")
    op.execute(ON_DELETE)
    op.execute(ON_TRUNCATE)
    for fn in ("matching_forget_posting()", "matching_forget_all_postings()"):
        op.execute(f"REVOKE EXECUTE ON FUNCTION {fn} FROM PUBLIC")
    op.execute("CREATE TRIGGER matching_forget_posting AFTER DELETE ON postings "
               "FOR EACH ROW EXECUTE FUNCTION matching_forget_posting()")
    op.execute("CREATE TRIGGER matching_forget_all_postings AFTER TRUNCATE ON postings "
               "FOR EACH STATEMENT EXECUTE FUNCTION matching_forget_all_postings()")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS matching_forget_all_postings ON postings")
    op.execute("DROP TRIGGER IF EXISTS matching_forget_posting ON postings")
    op.execute("DROP FUNCTION IF EXISTS matching_forget_all_postings()")
    op.execute("DROP FUNCTION IF EXISTS matching_forget_posting()")
    disable_tenant_rls("user_profile_embeddings")
    op.drop_table("user_profile_embeddings")
    op.drop_table("posting_embeddings")
    op.drop_index("ix_posting_extractions_failed", table_name="posting_extractions")
    op.drop_table("posting_extractions")
