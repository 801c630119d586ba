"""GET /api/v1/me/matches: the catalog postings nearest to a user's preference vector through the HNSW
index, right (against an exact search), tenant-safe, each with its match."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import text

from tests.matching.conftest import add, posting, rows
from zentropy.matching.nearest import NEAREST_SQL, nearest_matches
from zentropy.matching.pipeline import run_pipeline, vector_literal

MODEL = "local:all-minilm-l6-v2"
CATALOG_SIZE = 300
PLANTED = 8


def _parse(vector_text: str) -> np.ndarray:
    return np.array([float(x) for x in vector_text.strip("[]").split(",")])


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


async def _profile(owner_engine, user) -> np.ndarray:
    [row] = await rows(owner_engine, "SELECT embedding::text AS e FROM user_profile_embeddings WHERE user_id = :u",
                       u=user)
    return _parse(row.e)


async def _store_vectors(owner_engine, vectors: dict[int, np.ndarray], model: str = MODEL) -> None:
    async with owner_engine.begin() as conn:
        for pid, v in vectors.items():
            await conn.execute(text(
                "INSERT INTO posting_embeddings (posting_id, embedding, model) VALUES (:p, CAST(:e AS vector), :m) "
                "ON CONFLICT (posting_id) DO UPDATE SET embedding = excluded.embedding, model = excluded.model"),
                {"p": pid, "e": vector_literal(list(v)), "m": model})


@pytest.fixture
async def big_catalog(catalog, local, owner_engine):
    """CATALOG_SIZE postings (distinct titles and texts, so none is merged) with random unit vectors."""
    words = ["Platform", "Data", "Mobile", "Security", "Cloud", "Backend", "Frontend", "ML", "QA", "SRE"]
    ids = await add(catalog, *[
        posting(f"n{i}", title=f"{words[i % 10]} Engineer {i}", company=f"Firm {i}",
                description_text=f"Opening number {i} of {words[(i * 7) % 10]} work, ticket {i * 7919}.")
        for i in range(CATALOG_SIZE)])
    assert len(set(ids)) == CATALOG_SIZE
    rng = np.random.default_rng(8)
    vectors = {pid: _unit(rng.normal(size=384)) for pid in ids}
    await _store_vectors(owner_engine, vectors)
    return ids, vectors


async def test_nearest_postings_come_from_the_index_and_are_right(big_catalog, new_user, owner_engine, runtime):
    ids, vectors = big_catalog
    alice = await new_user(skills=["Python", "PostgreSQL"], locations=["Berlin"])
    bob = await new_user(skills=["COBOL"], locations=["Oslo"], remote=False)
    nobody = await new_user(prefs=False)
    assert (await nearest_matches(runtime, alice, 3)).model == MODEL  # makes alice's profile vector
    mine = await _profile(owner_engine, alice)
    # plant postings close to alice's preferences: they must come first, in order of similarity
    rng = np.random.default_rng(9)
    planted = {pid: _unit(mine + rng.normal(scale=0.02 * (n + 1), size=384)) for n, pid in enumerate(ids[:PLANTED])}
    await _store_vectors(owner_engine, planted)
    vectors.update(planted)

    found = await nearest_matches(runtime, alice, 10)
    exact = sorted(ids, key=lambda pid: -float(vectors[pid] @ mine))[:10]
    assert [item.job.id for item in found.items][:PLANTED] == exact[:PLANTED]
    assert len(found.items) == 10
    sims = [item.similarity for item in found.items]
    assert sims == sorted(sims, reverse=True)
    for item in found.items:  # the similarity reported is alice's, and the match is hers
        assert item.similarity == pytest.approx(float(vectors[item.job.id] @ mine), abs=1e-3)
        assert item.match.posting_id == item.job.id and 0 <= item.match.score <= 1
        assert item.match.breakdown.similarity is not None
        assert item.match.breakdown.similarity.score == pytest.approx(max(0.0, item.similarity), abs=1e-3)

    # bob's search uses bob's vector only: his order and similarities are his, not alice's
    theirs = await nearest_matches(runtime, bob, 10)
    bobs = await _profile(owner_engine, bob)
    assert float(bobs @ mine) < 0.99
    exact_bob = sorted(ids, key=lambda pid: -float(vectors[pid] @ bobs))[:10]
    assert [item.job.id for item in theirs.items][:PLANTED] == exact_bob[:PLANTED]
    for item in theirs.items:
        assert item.similarity == pytest.approx(float(vectors[item.job.id] @ bobs), abs=1e-3)
    assert [item.similarity for item in theirs.items] != sims
    # a user with no preferences gets nothing, never someone else's neighbours
    empty = await nearest_matches(runtime, nobody, 10)
    assert (empty.items, empty.model) == ([], None)

    # the query is served by the HNSW index (the planner kept away from a sequential scan)
    async with runtime.db.session() as session:
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(r[0] for r in await session.execute(
            text("EXPLAIN " + NEAREST_SQL), {"profile": vector_literal(list(mine)), "model": MODEL, "k": 10}))
    assert "Index Scan using ix_posting_embeddings_hnsw" in plan, plan


async def test_vectors_of_another_model_are_left_out(big_catalog, new_user, owner_engine, runtime):
    ids, _ = big_catalog
    alice = await new_user(skills=["Python"])
    await nearest_matches(runtime, alice, 1)
    mine = await _profile(owner_engine, alice)
    await _store_vectors(owner_engine, {ids[0]: mine}, model="openrouter:openai/text-embedding-3-small")
    found = await nearest_matches(runtime, alice, 5)
    assert ids[0] not in {item.job.id for item in found.items} and len(found.items) == 5


async def test_the_endpoint_on_real_embeddings(catalog, local, new_user, signed_in, client):
    fit, other = await add(catalog, posting("fit"),
                           posting("other", title="Pastry Chef", company="Bakery", skills="baking and icing",
                                   locations=["Oslo"]))
    await run_pipeline(catalog)
    user = await new_user(skills=["Python", "PostgreSQL"], locations=["Berlin"])
    headers = await signed_in(user)
    response = await client.get("/api/v1/me/matches", params={"limit": 5}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == MODEL
    assert [item["job"]["id"] for item in body["items"]] == [fit, other]  # the Python job is nearer
    first = body["items"][0]
    assert first["match"]["posting_id"] == fit and first["match"]["breakdown"]["matched_skills"] == [
        "Python", "PostgreSQL"]
    assert first["similarity"] > body["items"][1]["similarity"]
    assert (await client.get("/api/v1/me/matches", params={"limit": 0}, headers=headers)).status_code == 400
    assert (await client.get("/api/v1/me/matches")).status_code == 401
