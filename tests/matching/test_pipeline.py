"""The extraction cron job: extractions and embeddings stored for ingested postings, with the no-key
fallback and with OpenRouter (loopback); failures recorded and retried a bounded number of times;
extractions survive the content purge."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sqlalchemy import text

from tests.llm.loopback import completion, error
from tests.matching.conftest import GOOD, MARKER, add, posting, rows
from zentropy.matching.jobs import extract_new_postings
from zentropy.matching.pipeline import MAX_ATTEMPTS, RETRY_AFTER, extract_batch, run_pipeline


async def test_no_key_fallback_extracts_and_embeds(catalog, local, owner_engine):
    ids = await add(catalog, posting("a"), posting("b", title="Frontend Developer", skills="React and TypeScript"))
    report = await extract_new_postings({"runtime": catalog})
    assert report == {"extracted": 2, "failed": 0, "embedded": 2, "embedding_error": None,
                      "likely_duplicates": 0, "merged_duplicates": 0}
    stored = {r.posting_id: r for r in await rows(owner_engine, "SELECT * FROM posting_extractions")}
    assert set(stored) == set(ids) and {r.status for r in stored.values()} == {"ok"}
    assert stored[ids[0]].extraction["required_skills"] == ["Python", "PostgreSQL"]
    assert stored[ids[1]].extraction["method"] == "rules"
    assert {"React", "TypeScript"} <= set(stored[ids[1]].extraction["required_skills"])
    assert MARKER not in json.dumps([r.extraction for r in stored.values()])  # metadata, never posting text
    vectors = await rows(owner_engine, "SELECT posting_id, model, vector_dims(embedding) AS d, "
                                       "round(vector_norm(embedding)::numeric, 3) AS n FROM posting_embeddings")
    assert {(v.posting_id, v.model, v.d, float(v.n)) for v in vectors} == {
        (i, "local:all-minilm-l6-v2", 384, 1.0) for i in ids}
    # nothing left to do: a second run picks nothing
    assert await extract_new_postings({"runtime": catalog}) == {"extracted": 0, "failed": 0, "embedded": 0,
                                                                "embedding_error": None, "likely_duplicates": 0,
                                                                "merged_duplicates": 0}


async def test_openrouter_on_loopback(catalog, remote, loopback, owner_engine, system_rows):
    [pid] = await add(catalog, posting("a"))
    report = await run_pipeline(catalog)
    assert (report.extracted, report.failed, report.embedded) == (1, 0, 1)
    [row] = await rows(owner_engine, "SELECT * FROM posting_extractions")
    assert (row.posting_id, row.status, row.model) == (pid, "ok", "google/gemini-2.5-flash-lite")
    assert row.extraction["method"] == "llm" and row.extraction["salary"]["currency"] == "EUR"
    [chat] = loopback.chats()
    assert MARKER in chat.body["messages"][-1]["content"]  # the description, in the user message only
    assert MARKER not in chat.body["messages"][0]["content"]
    [vector] = await rows(owner_engine, "SELECT posting_id, model FROM posting_embeddings")
    assert tuple(vector) == (pid, "openrouter:openai/text-embedding-3-small")
    usage = await system_rows()
    assert {(u.task, u.status) for u in usage} == {("extraction", "ok"), ("embedding", "ok")}


async def test_failed_extraction_is_recorded_and_not_retried_forever(catalog, make_service, openrouter, loopback,
                                                                     owner_engine):
    make_service([openrouter], extraction_models="openrouter:google/gemini-2.5-flash-lite")
    loopback.default_content = "I cannot help with that."  # never valid
    [pid] = await add(catalog, posting("a"))
    now = datetime.now(timezone.utc)
    assert await extract_batch(catalog, now=now) == (0, 1)
    [row] = await rows(owner_engine, "SELECT * FROM posting_extractions")
    assert (row.status, row.error_code, row.extraction, row.attempts) == ("failed", "llm_invalid_output", None, 1)
    assert await extract_batch(catalog, now=now + timedelta(minutes=1)) == (0, 0)  # not at once
    for attempt in range(2, MAX_ATTEMPTS + 1):
        now += RETRY_AFTER + timedelta(minutes=1)
        assert await extract_batch(catalog, now=now) == (0, 1)
    now += RETRY_AFTER + timedelta(minutes=1)
    assert await extract_batch(catalog, now=now) == (0, 0)  # given up
    [row] = await rows(owner_engine, "SELECT * FROM posting_extractions")
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)
    assert await rows(owner_engine, "SELECT * FROM posting_embeddings") == []
    # a later success replaces the failure
    async with owner_engine.begin() as conn:
        await conn.execute(text("UPDATE posting_extractions SET attempts = 1"))
    loopback.reply(completion(json.dumps(GOOD)))
    assert await extract_batch(catalog, now=now + RETRY_AFTER * 2) == (1, 0)
    [row] = await rows(owner_engine, "SELECT * FROM posting_extractions")
    assert (row.posting_id, row.status, row.error_code) == (pid, "ok", None)


async def test_provider_outage_falls_back_to_rules(catalog, make_service, openrouter, local_provider, loopback,
                                                   owner_engine):
    make_service([openrouter, local_provider], max_retries=0, embedding_models="local:all-minilm-l6-v2")
    loopback.reply(error(503, "upstream down"), error(503, "upstream down"))
    await add(catalog, posting("a"))
    report = await run_pipeline(catalog)
    assert (report.extracted, report.failed, report.embedded) == (1, 0, 1)
    [row] = await rows(owner_engine, "SELECT status, extraction FROM posting_extractions")
    assert row.status == "ok" and row.extraction["method"] == "rules"


async def test_extraction_survives_the_content_purge(catalog, local, owner_engine):
    [pid] = await add(catalog, posting("a"))
    await run_pipeline(catalog)
    async with owner_engine.begin() as conn:  # the purge: every content partition dropped
        parts = (await conn.execute(text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'posting_content'::regclass"))).scalars().all()
        for name in parts:
            await conn.execute(text(f'DROP TABLE "{name}"'))
    assert await rows(owner_engine, "SELECT * FROM posting_content") == []
    [row] = await rows(owner_engine, "SELECT posting_id, status, extraction FROM posting_extractions")
    assert (row.posting_id, row.status) == (pid, "ok") and "Python" in row.extraction["required_skills"]
    assert len(await rows(owner_engine, "SELECT 1 FROM posting_embeddings")) == 1
    assert (await run_pipeline(catalog)).extracted == 0


async def test_postings_without_content_wait_and_deleted_postings_take_their_rows(catalog, local, owner_engine):
    await add(catalog, posting("a", description_text=""))
    assert (await run_pipeline(catalog)).extracted == 0
    [pid] = await add(catalog, posting("b", title="Data Engineer", company="Other Co", locations=["Oslo"]))
    assert (await run_pipeline(catalog)).extracted == 1
    async with owner_engine.begin() as conn:
        await conn.execute(text("DELETE FROM postings WHERE id = :id"), {"id": pid})
    assert await rows(owner_engine, "SELECT 1 FROM posting_extractions") == []
    assert await rows(owner_engine, "SELECT 1 FROM posting_embeddings") == []


def test_the_cron_job_is_registered(runtime):
    jobs = {args[0].__name__: kwargs for _, args, kwargs in runtime.plugins.collect("register_cron_jobs")}
    assert jobs["extract_new_postings"]["cron"] == "*/2 * * * *"
