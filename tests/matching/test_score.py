"""The score's components on constructed and generated inputs."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from zentropy.matching.score import (
    FitJudgement,
    PostingFacts,
    Preferences,
    combine,
    location_fit,
    salary_fit,
    skills_fit,
)

SKILLS = ["Python", "Go", "Rust", "PostgreSQL", "Kubernetes", "React", "TypeScript", "AWS", "Docker", "Java"]
skill_lists = st.lists(st.sampled_from(SKILLS), max_size=8, unique=True)
money = st.one_of(st.none(), st.floats(min_value=0, max_value=1e7, allow_nan=False))
policies = st.sampled_from(["remote", "hybrid", "onsite", "unknown"])
places = st.lists(st.sampled_from(["Berlin", "Oslo", "Paris", "Remote EU"]), max_size=3)


@given(mine=skill_lists, required=skill_lists, preferred=skill_lists, want=money, low=money, high=money,
       currency=st.sampled_from(["EUR", "USD"]), where=places, remote=st.one_of(st.none(), st.booleans()),
       there=places, policy=policies, cosine=st.one_of(st.none(), st.floats(-1, 1)),
       judged=st.one_of(st.none(), st.floats(0, 1)))
def test_the_score_and_every_component_stay_within_0_and_1(mine, required, preferred, want, low, high, currency,
                                                           where, remote, there, policy, cosine, judged):
    prefs = Preferences(skills=mine, salary_min=want, salary_currency="EUR", locations=where, remote=remote)
    facts = PostingFacts(required_skills=required, preferred_skills=preferred, salary_min=low, salary_max=high,
                         salary_currency=currency, locations=there, remote=policy)
    judgement = None if judged is None else FitJudgement(fit=judged, summary="s", model="m")
    score, breakdown = combine(prefs, facts, cosine, judgement)
    assert 0 <= score <= 1
    assert (breakdown.fit is None) == (judgement is None)
    parts = [c for c in (breakdown.skills, breakdown.similarity, breakdown.salary, breakdown.location,
                         breakdown.fit) if c]
    assert all(0 <= c.score <= 1 for c in parts)
    assert abs(sum(c.weight for c in parts) - 1) < 1e-3 if parts else score == 0
    assert set(breakdown.missing_skills) <= set(required)


@given(mine=skill_lists, extra=st.sampled_from(SKILLS), required=skill_lists, preferred=skill_lists)
def test_more_overlapping_skills_never_lower_the_skills_component(mine, extra, required, preferred):
    before, _, _ = skills_fit(mine, required, preferred)
    after, matched, _ = skills_fit([*mine, extra], required, preferred)
    if before is not None:
        assert after >= before
    if extra in required or extra in preferred:
        assert extra in matched


def test_constructed_cases():
    assert skills_fit(["python", "postgres"], ["Python", "PostgreSQL"], []) == (1.0, ["Python", "PostgreSQL"], [])
    assert skills_fit(["Python"], ["Python", "Go"], ["Rust"])[0] == 1 / 2.5
    assert skills_fit([], ["Python"], []) == (None, [], [])
    assert salary_fit(60000, "EUR", 50000, 70000, "EUR") == 1.0
    assert salary_fit(80000, "EUR", None, 60000, "EUR") == 0.5
    assert salary_fit(80000, "EUR", 100000, None, "USD") is None  # no conversion guessed
    assert salary_fit(None, None, 1, 2, "EUR") is None
    assert location_fit([], True, ["Oslo"], "remote") == 1.0
    assert location_fit(["Berlin"], False, ["Berlin, Germany"], "onsite") == 1.0
    assert location_fit(["Berlin"], True, ["Oslo"], "onsite") == 0.0
    assert location_fit([], None, ["Oslo"], "onsite") is None


def test_a_better_fitting_posting_scores_higher():
    prefs = Preferences(skills=["Python", "PostgreSQL"], salary_min=70000, salary_currency="EUR",
                        locations=["Berlin"], remote=None)
    good = PostingFacts(required_skills=["Python", "PostgreSQL"], salary_max=90000, salary_currency="EUR",
                        locations=["Berlin"], remote="hybrid")
    poor = PostingFacts(required_skills=["Java", "Spring"], salary_max=40000, salary_currency="EUR",
                        locations=["Oslo"], remote="onsite")
    (high, breakdown), (low, _) = combine(prefs, good, 0.6), combine(prefs, poor, 0.2)
    assert high > 0.8 > 0.3 > low
    assert breakdown.matched_skills == ["Python", "PostgreSQL"] and breakdown.missing_skills == []
    assert "2 of 2" in breakdown.skills.detail
