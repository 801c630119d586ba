"""searches, saved searches, feed, source priorities, quotas (issue: tiered fetch).

Tenant tables (row-level security by `user_id`): `searches`, `source_priorities`,
`search_preferences`, `saved_searches`, `feed_entries`, `quota_usage`, `user_quotas`.
Shared, holding no user data: `query_matches` and `query_runs` (the cache tier's memory of which
catalog postings sources returned for a query fingerprint). No foreign key points into the
catalog: the catalog is shared and managed on its own (truncated in tests, purged by TTL).

Two cron jobs act across tenants through narrow SECURITY DEFINER functions owned by the migration
role (which gets `definer_access_*` policies on just the tables and commands they use):
`search_fail_stalled` marks running searches whose worker stopped beating as failed, and
`saved_searches_claim_due` claims the saved searches due for a run.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from zentropy.db.rls import enable_tenant_rls

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TENANT_TABLES = ("searches", "source_priorities", "search_preferences", "saved_searches", "feed_entries",
                 "quota_usage", "user_quotas")
DEFINER_ACCESS = [("searches", "SELECT"), ("searches", "UPDATE"), ("saved_searches", "SELECT"),
                  ("saved_searches", "UPDATE")]

FUNCTIONS = {
    "search_fail_stalled(interval)": """
CREATE FUNCTION search_fail_stalled(stalled_after interval)
RETURNS TABLE (search_id uuid, user_id uuid)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public
AS $$
    UPDATE searches s
    SET status = 'failed', error_code = 'worker_lost',
        error = 'The worker running this search stopped and it could not be resumed.', finished_at = now()
    WHERE s.status = 'running' AND s.heartbeat_at < now() - stalled_after
    RETURNING s.id, s.user_id
$$""",
    "saved_searches_claim_due(integer)": """
CREATE FUNCTION saved_searches_claim_due(max_rows integer)
RETURNS TABLE (saved_search_id uuid, user_id uuid)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public
AS $$
    UPDATE saved_searches s
    SET next_run_at = now() + make_interval(hours => s.every_hours)
    WHERE s.id IN (SELECT d.id FROM saved_searches d WHERE d.enabled AND d.next_run_at <= now()
                   ORDER BY d.next_run_at LIMIT max_rows FOR UPDATE SKIP LOCKED)
    RETURNING s.id, s.user_id
$$""",
}


def _user_id(primary_key: bool = False) -> sa.Column:
    return sa.Column("user_id", pg.UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"),
                     primary_key=primary_key, nullable=False)


def _now(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "saved_searches",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        _user_id(),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("query", pg.JSONB(), nullable=False),
        sa.Column("want", sa.Integer(), nullable=False),
        sa.Column("premium", sa.Boolean(), nullable=True),
        sa.Column("every_hours", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_search_id", pg.UUID(as_uuid=True), nullable=True),
        _now("created_at"),
        _now("updated_at"),
    )
    op.create_index("ix_saved_searches_user_id", "saved_searches", ["user_id", "created_at"])
    op.create_index("ix_saved_searches_due", "saved_searches", ["next_run_at"], postgresql_where=sa.text("enabled"))

    op.create_table(
        "searches",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        _user_id(),
        sa.Column("saved_search_id", pg.UUID(as_uuid=True), sa.ForeignKey("saved_searches.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("query", pg.JSONB(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("want", sa.Integer(), nullable=False),
        sa.Column("premium", sa.Boolean(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("cached", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("report", pg.JSONB(), nullable=True),
        sa.Column("result_ids", pg.ARRAY(sa.BigInteger()), nullable=False, server_default="{}"),
        sa.Column("result_sources", pg.ARRAY(sa.Text()), nullable=False, server_default="{}"),
        sa.Column("cost", sa.Float(), nullable=False, server_default="0"),
        sa.Column("premium_calls", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("error_code", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        _now("created_at"),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status"),
    )
    op.create_index("ix_searches_user_id", "searches", ["user_id", "created_at"])
    op.create_index("ix_searches_running", "searches", ["heartbeat_at"],
                    postgresql_where=sa.text("status = 'running'"))

    op.create_table(
        "source_priorities",
        _user_id(primary_key=True),
        sa.Column("source", sa.Text(), primary_key=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "search_preferences",
        _user_id(primary_key=True),
        sa.Column("allow_premium", sa.Boolean(), nullable=False),
        _now("updated_at"),
    )
    op.create_table(
        "feed_entries",
        _user_id(primary_key=True),
        sa.Column("posting_id", sa.BigInteger(), primary_key=True),
        sa.Column("saved_search_id", pg.UUID(as_uuid=True), sa.ForeignKey("saved_searches.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        _now("added_at"),
        _now("updated_at"),
        sa.CheckConstraint("status IN ('new', 'saved', 'dismissed', 'applied')", name="status"),
    )
    op.create_index("ix_feed_entries_user_status", "feed_entries", ["user_id", "status", "added_at"])
    op.create_table(
        "quota_usage",
        _user_id(primary_key=True),
        sa.Column("kind", sa.Text(), primary_key=True),
        sa.Column("period_start", sa.Date(), primary_key=True),
        sa.Column("used", sa.Integer(), nullable=False),
    )
    op.create_table(
        "user_quotas",
        _user_id(primary_key=True),
        sa.Column("searches_per_day", sa.Integer(), nullable=True),
        sa.Column("premium_calls_per_month", sa.Integer(), nullable=True),
        _now("updated_at"),
    )
    for table in TENANT_TABLES:
        enable_tenant_rls(table)

    op.create_table(
        "query_matches",
        sa.Column("fingerprint", sa.Text(), primary_key=True),
        sa.Column("posting_id", sa.BigInteger(), primary_key=True),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("matched_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_query_matches_matched_at", "query_matches", ["matched_at"])
    op.create_table(
        "query_runs",
        sa.Column("fingerprint", sa.Text(), primary_key=True),
        sa.Column("ran_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("free_exhausted", sa.Boolean(), nullable=False),
        sa.Column("premium_exhausted", sa.Boolean(), nullable=False),
        sa.Column("results", sa.Integer(), nullable=False),
    )
    op.create_index("ix_query_runs_ran_at", "query_runs", ["ran_at"])

    for table, command in DEFINER_ACCESS:
        check = " WITH CHECK (true)" if command == "UPDATE" else ""
        op.execute(f"CREATE POLICY definer_access_{command.lower()} ON {table} FOR {command} "
                   f"TO CURRENT_USER USING (true){check}")
    for signature, ddl in FUNCTIONS.items():
        op.execute(ddl)
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")


def downgrade() -> None:
    for signature in FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    for table in ("query_runs", "query_matches", "user_quotas", "quota_usage", "feed_entries", "search_preferences",
                  "source_priorities", "searches", "saved_searches"):
        op.drop_table(table)
