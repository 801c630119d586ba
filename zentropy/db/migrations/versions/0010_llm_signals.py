"""LLM signals: content hashes for re-extraction, embedding duplicate candidates, LLM fit scores.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26

- `posting_extractions.content_hash`: the catalog's content hash (`posting_sources.content_hash`)
  of the listing text the extraction was made from; the extraction job re-extracts a posting whose
  fullest live listing now has another hash. Existing rows get the hash of their posting's current
  fullest live listing (what they were most likely made from). `attempted_hash`: the hash of the
  text the last failed attempt read (null after a success), so that a failing re-extraction gives up
  at one text and starts again when the text changes once more.
- `posting_embeddings.content_hash`: the extraction's hash the vector was made from; a posting is
  embedded again when its extraction is remade from new content.
- `posting_duplicate_candidates`: pairs of catalog postings whose vectors are near-identical, with
  the dedup decision and the embedding similarity (shared catalog metadata, no RLS). Follows
  `postings` through triggers like the 0009 tables.
- `match_fit_scores`: tenant table (forced RLS), a user's LLM fit score of a posting, tied to the
  profile it was made for.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from zentropy.db.rls import disable_tenant_rls, enable_tenant_rls

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BACKFILL = """
UPDATE posting_extractions e SET content_hash = (
    SELECT s.content_hash FROM posting_sources s
    JOIN posting_content c ON c.source_id = s.id AND c.expires_at = s.content_expires_at
    WHERE s.posting_id = e.posting_id AND s.content_expires_at > now()
    ORDER BY length(c.description_text) DESC, s.id
    LIMIT 1
)
"""

ON_DELETE = """
CREATE FUNCTION duplicate_candidates_forget_posting() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    DELETE FROM public.posting_duplicate_candidates WHERE posting_id = OLD.id OR other_id = OLD.id;
    RETURN OLD;
END
$$
"""

ON_TRUNCATE = """
CREATE FUNCTION duplicate_candidates_forget_all() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    TRUNCATE public.posting_duplicate_candidates;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.add_column("posting_extractions", sa.Column("content_hash", pg.BYTEA()))
    op.add_column("posting_extractions", sa.Column("attempted_hash", pg.BYTEA()))
    op.add_column("posting_embeddings", sa.Column("content_hash", pg.BYTEA()))
    op.execute(BACKFILL)
    op.execute("UPDATE posting_embeddings v SET content_hash = e.content_hash FROM posting_extractions e "
               "WHERE e.posting_id = v.posting_id")

    op.create_table(
        "posting_duplicate_candidates",
        sa.Column("posting_id", sa.BigInteger(), primary_key=True),
        sa.Column("other_id", sa.BigInteger(), primary_key=True),
        sa.Column("embedding_similarity", sa.Float(), nullable=False),
        sa.Column("dedup_score", sa.Float(), nullable=False),
        sa.Column("dedup_reason", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("likely_duplicate", sa.Boolean(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("posting_id < other_id", name="ck_posting_duplicate_candidates_ordered"),
    )
    op.create_index("ix_posting_duplicate_candidates_other", "posting_duplicate_candidates", ["other_id"])
    op.create_index("ix_posting_duplicate_candidates_likely", "posting_duplicate_candidates", ["updated_at"],
                    postgresql_where=sa.text("likely_duplicate"))
    op.execute(ON_DELETE)
    op.execute(ON_TRUNCATE)
    for fn in ("duplicate_candidates_forget_posting()", "duplicate_candidates_forget_all()"):
        op.execute(f"REVOKE EXECUTE ON FUNCTION {fn} FROM PUBLIC")
    op.execute("CREATE TRIGGER duplicate_candidates_forget_posting AFTER DELETE ON postings "
               "FOR EACH ROW EXECUTE FUNCTION duplicate_candidates_forget_posting()")
    op.execute("CREATE TRIGGER duplicate_candidates_forget_all AFTER TRUNCATE ON postings "
               "FOR EACH STATEMENT EXECUTE FUNCTION duplicate_candidates_forget_all()")

    op.create_table(
        "match_fit_scores",
        sa.Column("user_id", pg.UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("posting_id", sa.BigInteger(), primary_key=True),
        sa.Column("profile_digest", sa.Text(), nullable=False),
        sa.Column("fit", sa.Float(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("strengths", pg.ARRAY(sa.Text()), nullable=False, server_default="{}"),
        sa.Column("gaps", pg.ARRAY(sa.Text()), nullable=False, server_default="{}"),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("fit >= 0 AND fit <= 1", name="ck_match_fit_scores_fit"),
    )
    enable_tenant_rls("match_fit_scores")


def downgrade() -> None:
    disable_tenant_rls("match_fit_scores")
    op.drop_table("match_fit_scores")
    op.execute("DROP TRIGGER IF EXISTS duplicate_candidates_forget_all ON postings")
    op.execute("DROP TRIGGER IF EXISTS duplicate_candidates_forget_posting ON postings")
    op.execute("DROP FUNCTION IF EXISTS duplicate_candidates_forget_all()")
    op.execute("DROP FUNCTION IF EXISTS duplicate_candidates_forget_posting()")
    op.drop_index("ix_posting_duplicate_candidates_likely", table_name="posting_duplicate_candidates")
    op.drop_index("ix_posting_duplicate_candidates_other", table_name="posting_duplicate_candidates")
    op.drop_table("posting_duplicate_candidates")
    op.drop_column("posting_embeddings", "content_hash")
    op.drop_column("posting_extractions", "attempted_hash")
    op.drop_column("posting_extractions", "content_hash")
