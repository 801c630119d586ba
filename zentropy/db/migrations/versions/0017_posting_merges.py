"""posting merges: two canonical postings found to be one job become one, and the absorbed one's id
leads to the kept one.

- `posting_merges`: (absorbed_id -> kept_id), kept forever: links to the absorbed posting redirect,
  and the absorbed posting's blocking keys, which stay in the key tables (they have no index by
  posting to find them with), lead look-ups to the kept one (`zentropy.catalog.merging`).
- `catalog_merge_posting_refs(absorbed, kept)`: moves what users hold of the absorbed posting
  (feed entries, fit scores, search results) to the kept one, across every tenant: a SECURITY
  DEFINER function with policies admitting only its owner, since these tables' row-level security
  keeps the service role to one user at a time.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

DEFINER_ACCESS = [("feed_entries", "SELECT"), ("feed_entries", "UPDATE"), ("feed_entries", "DELETE"),
                  ("match_fit_scores", "SELECT"), ("match_fit_scores", "UPDATE"), ("match_fit_scores", "DELETE")]

MOVE_REFS = """
CREATE FUNCTION catalog_merge_posting_refs(absorbed bigint, kept bigint) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    -- A user's feed holds a posting once: where it held both, the entry the user changed last
    -- (its status), added when the first was.
    UPDATE feed_entries k
       SET status = CASE WHEN a.updated_at > k.updated_at THEN a.status ELSE k.status END,
           updated_at = GREATEST(a.updated_at, k.updated_at), added_at = LEAST(a.added_at, k.added_at),
           saved_search_id = COALESCE(k.saved_search_id, a.saved_search_id)
      FROM feed_entries a
     WHERE k.posting_id = kept AND a.posting_id = absorbed AND a.user_id = k.user_id;
    DELETE FROM feed_entries a
     WHERE a.posting_id = absorbed
       AND EXISTS (SELECT FROM feed_entries k WHERE k.user_id = a.user_id AND k.posting_id = kept);
    UPDATE feed_entries SET posting_id = kept WHERE posting_id = absorbed;
    -- A fit score is of one posting's text: where a user has both, the kept posting's stays.
    DELETE FROM match_fit_scores a
     WHERE a.posting_id = absorbed
       AND EXISTS (SELECT FROM match_fit_scores k WHERE k.user_id = a.user_id AND k.posting_id = kept);
    UPDATE match_fit_scores SET posting_id = kept WHERE posting_id = absorbed;
    -- A search's results keep their order (and each its source), the kept posting once, where it came first.
    UPDATE searches s
       SET (result_ids, result_sources) = (
           SELECT coalesce(array_agg(d.id ORDER BY d.n), '{}'), coalesce(array_agg(d.source ORDER BY d.n), '{}')
             FROM (SELECT DISTINCT ON (u.id) u.id, u.source, u.n
                     FROM unnest(array_replace(s.result_ids, absorbed, kept), s.result_sources)
                          WITH ORDINALITY AS u(id, source, n)
                    ORDER BY u.id, u.n) AS d)
     WHERE s.result_ids @> ARRAY[absorbed];
END
$$
"""


def upgrade() -> None:
    op.execute("CREATE TABLE posting_merges (absorbed_id bigint PRIMARY KEY, kept_id bigint NOT NULL, "
               "reason text NOT NULL, merged_at timestamptz NOT NULL DEFAULT now())")
    op.execute("CREATE INDEX ix_posting_merges_kept_id ON posting_merges (kept_id)")
    for table, command in DEFINER_ACCESS:
        check = " WITH CHECK (true)" if command == "UPDATE" else ""
        op.execute(f"CREATE POLICY definer_access_{command.lower()} ON {table} FOR {command} "
                   f"TO CURRENT_USER USING (true){check}")
    op.execute(MOVE_REFS)
    op.execute("REVOKE ALL ON FUNCTION catalog_merge_posting_refs(bigint, bigint) FROM PUBLIC")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS catalog_merge_posting_refs(bigint, bigint)")
    for table, command in DEFINER_ACCESS:
        op.execute(f"DROP POLICY IF EXISTS definer_access_{command.lower()} ON {table}")
    op.execute("DROP TABLE posting_merges")
