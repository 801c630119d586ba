"""content TTL and purge bookkeeping (issue: content TTL).

- `posting_content` gets a CHECK that every row expires on the hour (UTC). Ingest already rounds
  expiry down to the hour; the check makes it an invariant, so a partition whose lower bound has
  passed holds nothing that should be kept, and the purge may remove it whole.
- `content_purges`: the purge's work log, one row per expired partition: written when the
  partition is detached (with how many contents it holds), completed (`dropped_at`) when the
  detached table is dropped. A purge killed between the two leaves a row without `dropped_at`:
  the next run drops that table first.
- Two SECURITY DEFINER functions (the service role cannot alter or drop tables it does not own),
  `search_path` pinned, EXECUTE revoked from PUBLIC; each is one short transaction of the caller:
  - `purge_detach_expired_content_partition(before, lock_timeout_ms)`: counts the oldest partition
    of `posting_content` whose rows all expired at or before `before`, detaches it and logs it.
    Detaching needs an ACCESS EXCLUSIVE lock on `posting_content` for about a millisecond (its
    commit does not wait for the WAL flush: a crash may undo the detach, and the next run redoes
    it); it waits at most `lock_timeout_ms` for it, since readers queue behind a waiting lock. One
    purge at a time (transaction-level advisory lock).
  - `purge_drop_detached_content(lock_timeout_ms)`: drops the detached content tables the log
    says are pending (never a table that is still a partition, never one the log does not name)
    and marks them dropped. Dropping a table costs tens of milliseconds (its buffers and files go
    at commit), under a lock on that table alone, which no reader uses any more.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

DETACH_SIGNATURE = "purge_detach_expired_content_partition(timestamptz, integer)"
DROP_SIGNATURE = "purge_drop_detached_content(integer)"
PURGE_LOCK = 7361029384758  # pg_advisory_xact_lock key: one detach at a time

DETACH = f"""
CREATE FUNCTION purge_detach_expired_content_partition(before timestamptz, lock_timeout_ms integer DEFAULT 100)
RETURNS TABLE (partition_name text, expired_at timestamptz, rows_removed bigint)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    part record;
    v_expired timestamptz;
    v_rows bigint;
BEGIN
    IF before IS NULL THEN
        RAISE EXCEPTION 'purge_detach_expired_content_partition: need a time';
    END IF;
    PERFORM set_config('lock_timeout', greatest(1, least(coalesce(lock_timeout_ms, 100), 60000))::text || 'ms',
                       true);
    PERFORM pg_advisory_xact_lock({PURGE_LOCK});
    SELECT c.relname,
           (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']+)''\\)'))[1]::timestamptz AS upper_bound
    INTO part
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'public.posting_content'::regclass
    ORDER BY 2
    LIMIT 1;
    -- rows expire on the hour (CHECK), so the last a partition can hold expires an hour before its upper bound
    IF NOT FOUND OR part.upper_bound IS NULL OR part.upper_bound - interval '1 hour' > before THEN
        RETURN;
    END IF;
    v_expired := part.upper_bound - interval '1 hour';
    EXECUTE format('SELECT count(*) FROM public.%I', part.relname) INTO v_rows;
    EXECUTE format('ALTER TABLE public.posting_content DETACH PARTITION public.%I', part.relname);
    INSERT INTO content_purges (partition_name, expired_at, rows_removed) VALUES (part.relname, v_expired, v_rows);
    -- nothing is lost if a crash undoes the detach: the next run detaches the partition again
    PERFORM set_config('synchronous_commit', 'off', true);
    partition_name := part.relname;
    expired_at := v_expired;
    rows_removed := v_rows;
    RETURN NEXT;
END
$$
"""

DROP = """
CREATE FUNCTION purge_drop_detached_content(lock_timeout_ms integer DEFAULT 100)
RETURNS TABLE (partition_name text, expired_at timestamptz, rows_removed bigint)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    pending record;
    attached boolean;
BEGIN
    PERFORM set_config('lock_timeout', greatest(1, least(coalesce(lock_timeout_ms, 100), 60000))::text || 'ms',
                       true);
    FOR pending IN
        SELECT p.id, p.partition_name, p.expired_at, p.rows_removed FROM content_purges p
        WHERE p.dropped_at IS NULL ORDER BY p.id FOR UPDATE SKIP LOCKED
    LOOP
        SELECT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = to_regclass('public.' || quote_ident(pending.partition_name)))
        INTO attached;
        IF attached THEN  -- the detach was undone (a crash): the next detach redoes it and logs it again
            DELETE FROM content_purges WHERE id = pending.id;
            CONTINUE;
        END IF;
        EXECUTE format('DROP TABLE IF EXISTS public.%I', pending.partition_name);
        UPDATE content_purges SET dropped_at = now() WHERE id = pending.id;
        partition_name := pending.partition_name;
        expired_at := pending.expired_at;
        rows_removed := pending.rows_removed;
        RETURN NEXT;
    END LOOP;
END
$$
"""


def upgrade() -> None:
    op.execute("ALTER TABLE posting_content ADD CONSTRAINT ck_posting_content_expires_on_the_hour "
               "CHECK (date_trunc('hour', expires_at AT TIME ZONE 'UTC') = expires_at AT TIME ZONE 'UTC')")
    op.create_table(
        "content_purges",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("partition_name", sa.Text(), nullable=False),
        sa.Column("expired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rows_removed", sa.BigInteger(), nullable=False),
        sa.Column("detached_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("dropped_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_content_purges_pending", "content_purges", ["id"], postgresql_where=sa.text("dropped_at IS NULL"))
    op.execute(DETACH)
    op.execute(DROP)
    for signature in (DETACH_SIGNATURE, DROP_SIGNATURE):
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")


def downgrade() -> None:
    for signature in (DROP_SIGNATURE, DETACH_SIGNATURE):
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    op.drop_index("ix_content_purges_pending", table_name="content_purges")
    op.drop_table("content_purges")
    op.execute("ALTER TABLE posting_content DROP CONSTRAINT IF EXISTS ck_posting_content_expires_on_the_hour")
