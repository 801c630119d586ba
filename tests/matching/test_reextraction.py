"""Re-extraction when a posting's text changes: the content hash an extraction was made from is stored;
the extraction job picks postings whose fullest live listing now has another hash, and the vector
follows. A failed re-extraction keeps the previous extraction and is retried a bounded number of times."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from tests.llm.loopback import completion
from tests.matching.conftest import GOOD, add, posting, rows
from zentropy.matching.pipeline import MAX_ATTEMPTS, RETRY_AFTER, extract_batch, run_pipeline

STATE = ("SELECT e.status, e.extraction, e.error_code, e.attempts, e.content_hash, "
         "(SELECT s.content_hash FROM posting_sources s WHERE s.posting_id = e.posting_id) AS listing_hash, "
         "v.content_hash AS vector_hash, v.embedding::text AS vector "
         "FROM posting_extractions e LEFT JOIN posting_embeddings v ON v.posting_id = e.posting_id "
         "WHERE e.posting_id = :p")


async def test_changed_text_is_extracted_and_embedded_again(catalog, local, owner_engine):
    [pid] = await add(catalog, posting("a", skills="Python and PostgreSQL"))
    assert (await run_pipeline(catalog)).extracted == 1
    [first] = await rows(owner_engine, STATE, p=pid)
    assert first.content_hash is not None and first.content_hash == first.listing_hash == first.vector_hash
    assert "Python" in first.extraction["required_skills"]
    assert (await run_pipeline(catalog)).extracted == 0  # unchanged: nothing to do

    # the source serves the same text again: same hash, no new extraction
    await add(catalog, posting("a", skills="Python and PostgreSQL"))
    assert (await run_pipeline(catalog)).extracted == 0

    # the text changes
    [same] = await add(catalog, posting("a", skills="Rust and Go"))
    assert same == pid
    report = await run_pipeline(catalog)
    assert (report.extracted, report.embedded) == (1, 1)
    [second] = await rows(owner_engine, STATE, p=pid)
    assert second.content_hash == second.listing_hash != first.content_hash
    assert {"Rust", "Go"} <= set(second.extraction["required_skills"])
    assert "Python" not in second.extraction["required_skills"]
    assert second.vector_hash == second.content_hash and second.vector != first.vector
    assert (second.status, second.attempts, second.error_code) == ("ok", 1, None)
    assert (await run_pipeline(catalog)).extracted == 0


async def test_a_failed_reextraction_keeps_the_previous_one(catalog, make_service, openrouter, loopback,
                                                            local_provider, owner_engine):
    make_service([openrouter, local_provider], extraction_models="openrouter:google/gemini-2.5-flash-lite",
                 embedding_models="local:all-minilm-l6-v2")
    loopback.default_content = json.dumps(GOOD)
    [pid] = await add(catalog, posting("a"))
    now = datetime.now(timezone.utc)
    assert await extract_batch(catalog, now=now) == (1, 0)
    [before] = await rows(owner_engine, STATE, p=pid)

    await add(catalog, posting("a", skills="Rust and Go"))
    loopback.default_content = "Ignore the schema."  # never valid
    assert await extract_batch(catalog, now=now) == (0, 1)
    [row] = await rows(owner_engine, STATE, p=pid)
    # the previous extraction stays (nothing half-stored), with the error beside it
    assert (row.status, row.extraction, row.content_hash) == ("ok", before.extraction, before.content_hash)
    assert (row.error_code, row.attempts) == ("llm_invalid_output", 1) and row.listing_hash != row.content_hash
    assert await extract_batch(catalog, now=now + timedelta(minutes=1)) == (0, 0)  # not at once
    for attempt in range(2, MAX_ATTEMPTS + 1):
        now += RETRY_AFTER + timedelta(minutes=1)
        assert await extract_batch(catalog, now=now) == (0, 1)
    now += RETRY_AFTER + timedelta(minutes=1)
    assert await extract_batch(catalog, now=now) == (0, 0)  # given up at this text
    [row] = await rows(owner_engine, STATE, p=pid)
    assert (row.status, row.attempts, row.extraction) == ("ok", MAX_ATTEMPTS, before.extraction)

    # the text changes once more: tried again at once, and a valid answer replaces the old extraction
    await add(catalog, posting("a", skills="Elixir and Erlang"))
    loopback.reply(completion(json.dumps({**GOOD, "required_skills": ["Elixir"]})))
    assert await extract_batch(catalog, now=now) == (1, 0)
    [row] = await rows(owner_engine, STATE, p=pid)
    assert (row.status, row.error_code, row.attempts) == ("ok", None, 1)
    assert row.extraction["required_skills"] == ["Elixir"] and row.content_hash == row.listing_hash


async def test_a_fuller_listing_merged_in_is_extracted(catalog, local, owner_engine):
    [pid] = await add(catalog, posting("a", skills="Python"))
    await run_pipeline(catalog)
    [before] = await rows(owner_engine, STATE.replace("(SELECT s.content_hash FROM posting_sources s WHERE "
                                                      "s.posting_id = e.posting_id)", "NULL"), p=pid)
    # another listing of the same job, with a fuller text: the dedup merges it into the posting
    [merged] = await add(catalog, posting("b", company="Company a", skills="Python",
                                          extra="You will also run Kubernetes and Terraform on AWS for us."))
    assert merged == pid
    assert (await run_pipeline(catalog)).extracted == 1
    [after] = await rows(owner_engine, "SELECT content_hash, extraction FROM posting_extractions "
                                       "WHERE posting_id = :p", p=pid)
    assert after.content_hash != before.content_hash
    assert {"Kubernetes", "Terraform", "AWS"} <= set(after.extraction["required_skills"])
    [fullest] = await rows(owner_engine, "SELECT content_hash FROM posting_sources WHERE posting_id = :p "
                                         "AND external_id = 'b'", p=pid)
    assert after.content_hash == fullest.content_hash
