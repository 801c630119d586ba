"""Migration 0010 on a database with extractions made under 0009: each gets the content hash of its
posting's fullest live listing (what it was most likely made from), and its vector the same hash;
an extraction of a posting with no live text keeps none. Down again, and up."""

from __future__ import annotations

from sqlalchemy import text

from tests.conftest import alembic_run

SHORT, LONG, GONE = b"\x01" * 16, b"\x02" * 16, b"\x03" * 16


async def test_existing_extractions_get_the_hash_of_their_text(scratch_database):
    url, engine = scratch_database
    await alembic_run(url, "upgrade", "0009")
    async with engine.begin() as conn:
        await conn.execute(text("SELECT catalog_ensure_content_partitions(now(), now() + interval '3 hours')"))
        for pid in (1, 2):
            await conn.execute(text(
                "INSERT INTO postings (id, title, fingerprint_version, first_seen_at, last_seen_at, "
                "content_expires_at) VALUES (:id, 'Engineer', 1, now(), now(), now() + interval '1 hour')"),
                {"id": pid})
        listings = [(10, 1, SHORT, "short text", 1), (11, 1, LONG, "a much longer text " * 5, 1),
                    (12, 1, GONE, "the longest text of all, expired", -1),
                    (20, 2, SHORT, "expired only", -1)]
        for sid, pid, digest, body, hours in listings:
            await conn.execute(text(
                "INSERT INTO posting_sources (id, source, external_id, posting_id, title, match_rule, content_hash, "
                "content_expires_at, first_seen_at, last_seen_at) VALUES (:sid, 'adzuna', :ext, :pid, 'Engineer', "
                "'new', :digest, date_trunc('hour', now()) + make_interval(hours => :hours), now(), now())"),
                {"sid": sid, "ext": str(sid), "pid": pid, "digest": digest, "hours": hours})
            if hours > 0:
                await conn.execute(text(
                    "INSERT INTO posting_content (source_id, expires_at, posting_id, fetched_at, description_text) "
                    "SELECT id, content_expires_at, posting_id, now(), :body FROM posting_sources WHERE id = :sid"),
                    {"sid": sid, "body": body})
        for pid in (1, 2):
            await conn.execute(text(
                "INSERT INTO posting_extractions (posting_id, status, extraction, model) "
                "VALUES (:id, 'ok', '{}', 'local:rules')"), {"id": pid})
            await conn.execute(text(
                "INSERT INTO posting_embeddings (posting_id, embedding, model) "
                "VALUES (:id, array_fill(0.1, ARRAY[384])::vector, 'local:all-minilm-l6-v2')"), {"id": pid})
    await alembic_run(url, "upgrade", "0010")
    async with engine.connect() as conn:
        found = {r.posting_id: (r.content_hash, r.vector_hash, r.attempted_hash) for r in (await conn.execute(text(
            "SELECT e.posting_id, e.content_hash, v.content_hash AS vector_hash, e.attempted_hash "
            "FROM posting_extractions e JOIN posting_embeddings v USING (posting_id)"))).all()}
    assert found == {1: (LONG, LONG, None), 2: (None, None, None)}
    await engine.dispose()
    await alembic_run(url, "downgrade", "0009")
    await alembic_run(url, "upgrade", "0010")
