"""The shared job catalog: canonical postings, their source listings, expiring content.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26

Not tenant-scoped (no RLS): the catalog is public data shared by every user. See docs/dedup.md.

- `postings`: permanent metadata of canonical postings, with dedup keys and fingerprints.
- `posting_keys`: (blocking key, posting) pairs, the candidate index: placing a new listing looks
  up its identity, apply-URL and LSH band keys here, never scanning the catalog.
- `posting_sources`: every listing (source, external_id) and the canonical posting it belongs to.
- `posting_content`: description text, HTML and raw payload, one row per listing, range-partitioned
  by `expires_at` in hourly partitions. Expiry is rounded down to the hour, so every row of a
  partition expires together and the purge drops whole partitions (no row deletes, almost no WAL).
  The service role cannot create or drop tables: the SECURITY DEFINER functions below, owned by
  the migration role, do that for it and nothing else.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ENSURE_PARTITIONS = """
CREATE FUNCTION catalog_ensure_content_partitions(from_ts timestamptz, to_ts timestamptz)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    hour timestamptz := date_trunc('hour', from_ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    name text;
    created integer := 0;
BEGIN
    IF from_ts IS NULL OR to_ts IS NULL OR to_ts < from_ts THEN
        RAISE EXCEPTION 'catalog_ensure_content_partitions: need from_ts <= to_ts';
    END IF;
    IF to_ts - from_ts > interval '400 days' THEN
        RAISE EXCEPTION 'catalog_ensure_content_partitions: at most 400 days at once';
    END IF;
    -- one creator at a time: concurrent CREATE TABLE of one partition would fail
    PERFORM pg_advisory_xact_lock(7361029384757);
    WHILE hour <= to_ts LOOP
        name := 'posting_content_p' || to_char(hour AT TIME ZONE 'UTC', 'YYYYMMDDHH24');
        IF to_regclass('public.' || name) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE public.%I PARTITION OF public.posting_content FOR VALUES FROM (%L) TO (%L)',
                name, hour, hour + interval '1 hour');
            created := created + 1;
        END IF;
        hour := hour + interval '1 hour';
    END LOOP;
    RETURN created;
END
$$
"""

DROP_PARTITIONS = """
CREATE FUNCTION catalog_drop_content_partitions(before timestamptz, max_partitions integer DEFAULT 24,
                                                count_rows boolean DEFAULT false)
RETURNS TABLE (partition_name text, expired_at timestamptz, rows_removed bigint)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET lock_timeout = '2s'
AS $$
DECLARE
    part record;
    n bigint;
BEGIN
    FOR part IN
        SELECT c.relname, c.oid,
               (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']+)''\\)'))[1]::timestamptz AS upper_bound
        FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'public.posting_content'::regclass
        ORDER BY 3
    LOOP
        -- every row of a partition expires at its lower bound; the upper bound is one hour later
        EXIT WHEN part.upper_bound - interval '1 hour' > before OR max_partitions <= 0;
        n := NULL;
        IF count_rows THEN
            EXECUTE format('SELECT count(*) FROM public.%I', part.relname) INTO n;
        END IF;
        EXECUTE format('DROP TABLE public.%I', part.relname);
        partition_name := part.relname;
        expired_at := part.upper_bound - interval '1 hour';
        rows_removed := n;
        max_partitions := max_partitions - 1;
        RETURN NEXT;
    END LOOP;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "postings",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), primary_key=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("company", sa.Text()),
        sa.Column("locations", pg.ARRAY(sa.Text()), nullable=False, server_default="{}"),
        sa.Column("country", sa.Text()),
        sa.Column("remote", sa.Text(), nullable=False, server_default="unknown"),
        sa.Column("salary_min", sa.Float()),
        sa.Column("salary_max", sa.Float()),
        sa.Column("salary_currency", sa.Text()),
        sa.Column("salary_period", sa.Text()),
        sa.Column("salary_predicted", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("employment_type", sa.Text()),
        sa.Column("posted_at", sa.DateTime(timezone=True)),
        sa.Column("source_url", sa.Text()),
        sa.Column("apply_url", sa.Text()),
        sa.Column("apply_url_rank", sa.SmallInteger(), nullable=False, server_default="-1"),
        sa.Column("apply_url_key", sa.Text()),
        sa.Column("tags", pg.ARRAY(sa.Text()), nullable=False, server_default="{}"),
        sa.Column("category", sa.Text()),
        sa.Column("title_key", sa.Text(), nullable=False, server_default=""),
        sa.Column("seniority", sa.Text()),
        sa.Column("company_key", sa.Text(), nullable=False, server_default=""),
        sa.Column("agency", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("location_keys", pg.ARRAY(sa.Text()), nullable=False, server_default="{}"),
        sa.Column("signature", pg.BYTEA()),
        sa.Column("shingles", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("fingerprint_version", sa.SmallInteger(), nullable=False),
        sa.Column("description_length", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_expires_at", sa.DateTime(timezone=True)),
    )
    # The blocking keys as an index of their own: a new page's candidates are one btree lookup of
    # all its keys, a few milliseconds; a GIN index on an array column of `postings`
    # answers `&&` with hundreds of keys in hundreds of milliseconds.
    op.create_table(
        "posting_keys",
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column("posting_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", "posting_id", name="pk_posting_keys"),
    )
    op.create_table(
        "posting_sources",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), primary_key=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=False),
        sa.Column("posting_id", sa.BigInteger(), sa.ForeignKey("postings.id", ondelete="CASCADE"), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("company", sa.Text()),
        sa.Column("source_url", sa.Text()),
        sa.Column("apply_url", sa.Text()),
        sa.Column("match_rule", sa.Text(), nullable=False),
        sa.Column("match_score", sa.Float()),
        sa.Column("content_hash", pg.BYTEA()),
        sa.Column("content_expires_at", sa.DateTime(timezone=True)),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("source", "external_id", name="uq_posting_sources_source_external_id"),
    )
    op.create_index("ix_posting_sources_posting_id", "posting_sources", ["posting_id"])
    op.execute(
        """
        CREATE TABLE posting_content (
            source_id bigint NOT NULL,
            posting_id bigint NOT NULL,
            fetched_at timestamptz NOT NULL,
            expires_at timestamptz NOT NULL,
            description_text text NOT NULL DEFAULT '',
            description_html text,
            raw jsonb,
            CONSTRAINT pk_posting_content PRIMARY KEY (source_id, expires_at)
        ) PARTITION BY RANGE (expires_at)
        """
    )
    op.execute("CREATE INDEX ix_posting_content_posting_id ON posting_content (posting_id)")
    op.execute(ENSURE_PARTITIONS)
    op.execute(DROP_PARTITIONS)
    for function in ("catalog_ensure_content_partitions(timestamptz, timestamptz)",
                     "catalog_drop_content_partitions(timestamptz, integer, boolean)"):
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS catalog_drop_content_partitions(timestamptz, integer, boolean)")
    op.execute("DROP FUNCTION IF EXISTS catalog_ensure_content_partitions(timestamptz, timestamptz)")
    op.execute("DROP TABLE IF EXISTS posting_content")
    op.drop_table("posting_keys")
    op.drop_table("posting_sources")
    op.drop_table("postings")
