"""match() and GET /api/v1/jobs/{id}/match on ingested, extracted postings (no-key fallback)."""

from __future__ import annotations

from sqlalchemy import text

from tests.matching.conftest import add, posting, rows
from zentropy.db import tenant
from zentropy.matching import match
from zentropy.matching.pipeline import run_pipeline
from zentropy.sources.contract import Salary


async def _catalog(runtime):
    ids = await add(runtime,
                    posting("fit", salary=Salary(min=70000, max=90000, currency="EUR", period="year")),
                    posting("other", title="Java Developer", company="Beans Inc", skills="Java and Spring",
                            locations=["Oslo"], extra="Onsite only."))
    await run_pipeline(runtime)
    return ids


async def test_match_scores_and_breakdown(catalog, local, new_user, owner_engine):
    fit, other = await _catalog(catalog)
    user = await new_user(skills=["Python", "PostgreSQL"], salary_min=60000, locations=["Berlin"])
    scores = await match(catalog, user, [fit, other, 10**15])
    assert set(scores) == {fit, other}  # unknown ids are left out
    good, poor = scores[fit], scores[other]
    assert 0 <= poor.score < good.score <= 1
    assert good.breakdown.matched_skills == ["Python", "PostgreSQL"] and good.breakdown.skills.score == 1
    assert good.breakdown.salary.score == 1 and good.breakdown.location.score == 1
    assert poor.breakdown.missing_skills and poor.breakdown.skills.score == 0
    assert good.breakdown.similarity is not None and good.breakdown.similarity.score > poor.breakdown.similarity.score
    [profile] = await rows(owner_engine, "SELECT user_id, model FROM user_profile_embeddings WHERE user_id = :u",
                                u=user)
    assert tuple(profile) == (user, "local:all-minilm-l6-v2")


async def test_profile_is_remade_when_preferences_change(catalog, local, new_user, owner_engine):
    [fit, _] = await _catalog(catalog)
    user = await new_user(skills=["Java"])
    await match(catalog, user, [fit])
    [before] = await rows(owner_engine, "SELECT profile_digest, embedding::text AS e FROM user_profile_embeddings "
                                     "WHERE user_id = :u", u=user)
    await match(catalog, user, [fit])  # unchanged: not remade
    assert await rows(owner_engine, "SELECT profile_digest, embedding::text AS e FROM user_profile_embeddings "
                                     "WHERE user_id = :u", u=user) == [before]
    with tenant(user):
        async with catalog.db.session() as s:
            await s.execute(text("UPDATE user_preferences SET skills = '{Python}' WHERE user_id = :u"), {"u": user})
    assert (await match(catalog, user, [fit]))[fit].breakdown.skills.score > 0
    [after] = await rows(owner_engine, "SELECT profile_digest, embedding::text AS e FROM user_profile_embeddings "
                                     "WHERE user_id = :u", u=user)
    assert after.profile_digest != before.profile_digest and after.e != before.e


async def test_another_users_profile_is_never_used(catalog, local, new_user, owner_engine):
    [fit, _] = await _catalog(catalog)
    alice = await new_user(skills=["Python", "PostgreSQL"], locations=["Berlin"])
    bob = await new_user(prefs=False)
    assert (await match(catalog, alice, [fit]))[fit].breakdown.similarity is not None
    seen = (await match(catalog, bob, [fit]))[fit]
    assert seen.score == 0 and seen.breakdown.similarity is None and seen.breakdown.skills is None
    assert [r.user_id for r in await rows(owner_engine, "SELECT user_id FROM user_profile_embeddings "
                                                            "WHERE user_id IN (:a, :b)", a=alice, b=bob)] == [alice]


async def test_the_endpoint(catalog, local, new_user, signed_in, client):
    [fit, _] = await _catalog(catalog)
    user = await new_user(skills=["Python"], locations=["Berlin"])
    headers = await signed_in(user)
    response = await client.get(f"/api/v1/jobs/{fit}/match", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["posting_id"] == fit and 0 < body["score"] <= 1
    assert body["breakdown"]["matched_skills"] == ["Python"] and body["breakdown"]["missing_skills"] == ["PostgreSQL"]
    missing = await client.get("/api/v1/jobs/999999999999/match", headers=headers)
    assert (missing.status_code, missing.json()["code"]) == (404, "job_not_found")
    anonymous = await client.get(f"/api/v1/jobs/{fit}/match")
    assert anonymous.status_code == 401
