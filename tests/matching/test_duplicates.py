"""Embeddings as a dedup signal: nearest neighbours (HNSW, real pgvector) of the same employer weighed
with the dedup decision; likely duplicate pairs recorded, those the decision calls duplicates merged."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from tests.matching.conftest import add, posting, rows
from zentropy.dedup import THRESHOLD, decide, dedup_keys
from zentropy.matching.duplicates import NEIGHBOURS_SQL, SIMILARITY_MIN, assess
from zentropy.matching.pipeline import run_pipeline
from zentropy.sources.contract import Posting

SHARED = ("Our platform team runs the freight marketplace for three hundred carriers. You will own the pricing "
          "service, its Python code and its PostgreSQL schema, and review the code of four colleagues.")
OTHER = ("The warehouse robotics group programs the picking arms in our Leipzig hub. Field trips every month; "
         "a driving licence helps. Requirements: Python and PostgreSQL.")


def _keys(**fields) -> list:
    base = dict(source="adzuna", title="Backend Engineer", company="Acme Logistics GmbH", locations=["Berlin"],
                description_text=SHARED)
    return dedup_keys([Posting(external_id=str(i), **{**base, **f}) for i, f in enumerate([{}, fields])])


SAME = _keys()
OPENINGS = _keys(description_text=OTHER)
ELSEWHERE = _keys(locations=["Toronto, Canada"])


@given(low=st.floats(0, 1), high=st.floats(0, 1))
def test_more_similar_vectors_never_lower_the_score(low, high):
    low, high = sorted((low, high))
    for a, b in (SAME, OPENINGS, ELSEWHERE):
        assert assess(a, b, low).score <= assess(a, b, high).score


@given(similarity=st.floats(-1, 1))
def test_the_dedup_decision_stays_in_charge(similarity):
    assert assess(*SAME, similarity).likely_duplicate  # the decision says duplicate: so does the signal
    vetoed = assess(*ELSEWHERE, similarity)
    assert vetoed.dedup.reason in {"different countries", "different locations"} and not vetoed.likely_duplicate
    if similarity <= SIMILARITY_MIN:  # below the floor, the vectors count against the pair
        found = assess(*OPENINGS, similarity)
        assert found.score < found.dedup.score and not found.likely_duplicate


@given(similarity=st.floats(-1, 1))
def test_the_ingest_decision_is_unchanged_without_vectors(similarity):
    for a, b in (SAME, OPENINGS, ELSEWHERE):
        assert decide(a, b) == decide(a, b, embedding_similarity=None)
        assert assess(a, b, similarity).dedup == decide(a, b)


def test_near_identical_vectors_lift_a_borderline_pair_only():
    pair = assess(*OPENINGS, 1.0)
    assert not pair.dedup.duplicate
    assert pair.score > pair.dedup.score
    assert pair.likely_duplicate == (pair.score >= THRESHOLD)


async def test_a_duplicate_the_blocking_missed_is_merged(catalog, local, owner_engine):
    [first] = await add(catalog, posting("a", company="Acme Logistics GmbH", description_text=SHARED))
    async with owner_engine.begin() as conn:  # the ingest's blocking cannot find it any more
        await conn.execute(text("DELETE FROM posting_keys WHERE posting_id = :p"), {"p": first})
    [second] = await add(catalog, posting("b", source="jooble", company="Acme Logistics", description_text=SHARED))
    [third] = await add(catalog, posting("c", company="Acme Logistics GmbH", description_text=OTHER))
    [elsewhere] = await add(catalog, posting("d", company="Beta Freight AG", description_text=OTHER))
    assert len({first, second, third, elsewhere}) == 4

    report = await run_pipeline(catalog)
    assert report.embedded == 4 and report.likely_duplicates == 1 and report.merged_duplicates == 1
    # the pair the dedup decision calls duplicate is one posting now, the older, with both listings
    postings = {r.id for r in await rows(owner_engine, "SELECT id FROM postings")}
    assert postings == {first, third, elsewhere}
    listings = {r.external_id: r.posting_id for r in await rows(owner_engine, "SELECT * FROM posting_sources")}
    assert listings["a"] == listings["b"] == first
    [merge] = await rows(owner_engine, "SELECT * FROM posting_merges")
    assert (merge.absorbed_id, merge.kept_id) == (second, first) and merge.reason.startswith("embedding neighbour")
    found = {(r.posting_id, r.other_id): r for r in await rows(
        owner_engine, "SELECT * FROM posting_duplicate_candidates")}
    assert not [key for key in found if second in key]  # went with the absorbed posting
    # same employer, same job title, another text: two openings, recorded, neither likely nor merged
    openings = [r for key, r in found.items() if third in key]
    assert openings and not any(r.likely_duplicate for r in openings)
    # another employer is never paired, however close its vector
    assert not [key for key in found if elsewhere in key]
    # a second run changes nothing; a deleted posting takes its pairs along
    again = await run_pipeline(catalog)
    assert (again.likely_duplicates, again.merged_duplicates) == (0, 0)
    async with owner_engine.begin() as conn:
        await conn.execute(text("DELETE FROM postings WHERE id = :p"), {"p": third})
    assert not [r for r in await rows(owner_engine, "SELECT * FROM posting_duplicate_candidates")
                if third in (r.posting_id, r.other_id)]


async def test_neighbours_come_from_the_hnsw_index(catalog, runtime):
    async with runtime.db.session() as session:
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(r[0] for r in await session.execute(
            text("EXPLAIN " + NEIGHBOURS_SQL), {"posting_id": 1, "model": "local:all-minilm-l6-v2", "limit": 6}))
    assert "Index Scan using ix_posting_embeddings_hnsw" in plan, plan
