"""Merging two canonical postings found to be one job: `await merge_postings(runtime, a, b, reason)`.

The ingest merges each listing into the posting it duplicates; two postings already in the catalog
are merged when later evidence says they are one job (zentropy.matching.duplicates: the nearest
neighbours of a posting's embedding that the dedup decision itself calls duplicates, which no
blocking key of theirs had brought together). The older posting (the smaller id) is kept:

- its fields become the best of both (`zentropy.dedup.merge.merge_canonicals`);
- every listing and content row of the absorbed posting moves to it: no source link is lost;
- what users hold of the absorbed posting (feed entries, fit scores, search results) moves to it,
  for every user (`catalog_merge_posting_refs`, migration 0017), as do the cache tier's matches;
- the absorbed posting is deleted (its extraction, embedding and duplicate-candidate rows with it)
  and `posting_merges` records where it went: `GET /api/v1/jobs/{absorbed}` redirects to the kept
  posting, and the absorbed posting's blocking keys, which stay in the key tables, lead look-ups
  there (`zentropy.catalog.store.candidates`).

It runs under the ingest's lock and moves the catalog epoch (a batch decided meanwhile is decided
again), in one transaction: a merge happens whole or not at all. Merging a posting already merged
follows its redirect; merging a posting with itself does nothing.
"""

from __future__ import annotations

import logging

import msgspec

from zentropy.catalog import store
from zentropy.dedup.merge import CanonicalPosting, merge_canonicals
from zentropy.search.cache import cache_tier

log = logging.getLogger(__name__)


class Merged(msgspec.Struct, frozen=True, kw_only=True):
    kept: int
    absorbed: int
    listings: int  # listings moved to the kept posting


FINAL = "SELECT kept_id FROM posting_merges WHERE absorbed_id = $1"
MOVE = [
    "UPDATE posting_sources SET posting_id = $2 WHERE posting_id = $1",
    "UPDATE posting_content SET posting_id = $2 WHERE posting_id = $1",
    """INSERT INTO query_matches AS m (fingerprint, posting_id, rank, source, matched_at)
       SELECT fingerprint, $2, rank, source, matched_at FROM query_matches WHERE posting_id = $1
       ON CONFLICT (fingerprint, posting_id) DO UPDATE
       SET rank = LEAST(m.rank, excluded.rank), matched_at = GREATEST(m.matched_at, excluded.matched_at)""",
    "SELECT catalog_merge_posting_refs($1, $2)",
    "UPDATE posting_merges SET kept_id = $2 WHERE kept_id = $1",  # earlier merges into it lead on
]
DROP = ["DELETE FROM query_matches WHERE posting_id = $1", "DELETE FROM postings WHERE id = $1"]
RECORD = "INSERT INTO posting_merges (absorbed_id, kept_id, reason) VALUES ($1, $2, $3)"


async def final_id(conn, posting_id: int) -> int:  # noqa: ANN001 - asyncpg.Connection
    """Where `posting_id` went, if it was merged (redirects are kept pointing at the end of the chain)."""
    kept = await conn.fetchval(FINAL, posting_id)
    return posting_id if kept is None else kept


async def merge_postings(runtime, first: int, second: int, reason: str) -> Merged | None:  # noqa: ANN001
    """Merge two postings into the older one; what was done, or None when there was nothing to do
    (one of them is not in the catalog, or they already are one posting)."""
    async with runtime.db.raw() as conn, conn.transaction():
        await store.begin_write(conn)
        first, second = await final_id(conn, first), await final_id(conn, second)
        kept, absorbed = min(first, second), max(first, second)
        if kept == absorbed:
            return None
        rows: dict[int, CanonicalPosting] = {row.id: row for row in await store.canonical_postings(conn, [kept, absorbed])}
        if len(rows) < 2:
            return None
        merged = merge_canonicals(rows[kept], rows[absorbed])
        if merged != rows[kept]:
            await store.update_rows(conn, "postings", store.POSTING_COLUMNS, [merged])
        listings = await conn.fetchval("SELECT count(*) FROM posting_sources WHERE posting_id = $1", absorbed)
        for statement in MOVE:
            await conn.execute(statement, absorbed, kept)
        for statement in DROP:
            await conn.execute(statement, absorbed)
        await conn.execute(RECORD, absorbed, kept, reason)
    await cache_tier(runtime).version.bump()
    log.info("postings merged", extra={"kept": kept, "absorbed": absorbed, "reason": reason, "listings": listings})
    return Merged(kept=kept, absorbed=absorbed, listings=listings)
