"""The match score's components, as pure functions of a user's preferences and a posting's metadata."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from zentropy.llm.skills import normalize_skills
from zentropy.matching.schemas import Breakdown, Component

WEIGHTS = {"skills": 0.4, "similarity": 0.3, "salary": 0.15, "location": 0.15, "fit": 0.4}
PREFERRED_WEIGHT = 0.5  # a nice-to-have skill counts half a required one


class Preferences(msgspec.Struct, frozen=True, kw_only=True):
    skills: list[str] = []
    salary_min: float | None = None
    salary_currency: str | None = None
    locations: list[str] = []
    remote: bool | None = None


class FitJudgement(msgspec.Struct, frozen=True, kw_only=True):
    """A model's judgement of the fit (zentropy.matching.fit), stored for the user's preferences."""

    fit: float  # 0..1
    summary: str
    strengths: list[str] = []
    gaps: list[str] = []
    model: str


class PostingFacts(msgspec.Struct, frozen=True, kw_only=True):
    """What matching knows of a posting: its extraction, else the catalog's metadata."""

    required_skills: list[str] = []
    preferred_skills: list[str] = []
    salary_min: float | None = None  # per year
    salary_max: float | None = None
    salary_currency: str | None = None
    locations: list[str] = []
    remote: str = "unknown"  # remote | hybrid | onsite | unknown


def _clamp(x: float) -> float:
    return min(1.0, max(0.0, x))


def skills_fit(user_skills: Sequence[str], required: Sequence[str],
               preferred: Sequence[str]) -> tuple[float | None, list[str], list[str]]:
    """(score, matched, missing required): required skills the user has count 1, preferred ones
    half, over what the posting asks; None when either side names no skill."""
    mine = {s.lower() for s in normalize_skills(list(user_skills))}
    req, pref = normalize_skills(list(required)), normalize_skills(list(preferred))
    req_keys = {s.lower() for s in req}
    pref = [s for s in pref if s.lower() not in req_keys]
    if not mine or not (req or pref):
        return None, [], []
    matched = [s for s in [*req, *pref] if s.lower() in mine]
    missing = [s for s in req if s.lower() not in mine]
    have = sum(1 for s in req if s.lower() in mine) + PREFERRED_WEIGHT * sum(1 for s in pref if s.lower() in mine)
    return _clamp(have / (len(req) + PREFERRED_WEIGHT * len(pref))), matched, missing


def similarity_fit(cosine: float | None) -> float | None:
    """Cosine similarity of the profile and posting vectors; below 0 counts as 0."""
    return None if cosine is None else _clamp(cosine)


def salary_fit(want: float | None, want_currency: str | None, low: float | None, high: float | None,
               currency: str | None) -> float | None:
    """1 when the posting's top pay reaches the user's minimum; falling to 0 at half of it. None when
    either side is unknown, or the currencies differ (no conversion is guessed)."""
    top = high if high is not None else low
    if not want or top is None or not currency or not want_currency or currency.upper() != want_currency.upper():
        return None
    if top >= want:
        return 1.0
    return _clamp(1 - 2 * (want - top) / want)


def _place_match(wanted: Sequence[str], offered: Sequence[str]) -> bool:
    wanted_keys = [w.casefold().strip() for w in wanted if w.strip()]
    offered_keys = [o.casefold().strip() for o in offered if o.strip()]
    return any(w in o or o in w for w in wanted_keys for o in offered_keys)


def location_fit(locations: Sequence[str], wants_remote: bool | None, posting_locations: Sequence[str],
                 policy: str) -> float | None:
    """Where the job is against where the user wants to work; None without location preferences."""
    if not locations and wants_remote is None:
        return None
    here = _place_match(locations, posting_locations)
    if policy == "remote":
        return 1.0 if wants_remote is not False or here else 0.5
    if here:
        if wants_remote and policy == "onsite":
            return 0.5
        return 0.75 if wants_remote and policy != "hybrid" else 1.0
    if wants_remote and policy == "hybrid":
        return 0.25
    return 0.0


def combine(prefs: Preferences, facts: PostingFacts, cosine: float | None,
            judgement: FitJudgement | None = None) -> tuple[float, Breakdown]:
    """The score and its breakdown; a model's `judgement`, when there is one, is one more component
    (weight 0.4 of the 1.4 the five add up to)."""
    skills, matched, missing = skills_fit(prefs.skills, facts.required_skills, facts.preferred_skills)
    parts: dict[str, tuple[float, str]] = {}
    if skills is not None:
        asked = len(facts.required_skills) + len(facts.preferred_skills)
        parts["skills"] = (skills, f"{len(matched)} of {asked} skills the posting names")
    similarity = similarity_fit(cosine)
    if similarity is not None:
        parts["similarity"] = (similarity, "similarity of your preferences to the posting")
    salary = salary_fit(prefs.salary_min, prefs.salary_currency, facts.salary_min, facts.salary_max,
                        facts.salary_currency)
    if salary is not None:
        top = facts.salary_max if facts.salary_max is not None else facts.salary_min
        parts["salary"] = (salary, f"pays up to {top:,.0f} {facts.salary_currency} a year; "
                                   f"you want {prefs.salary_min:,.0f}")
    location = location_fit(prefs.locations, prefs.remote, facts.locations, facts.remote)
    if location is not None:
        where = ", ".join(facts.locations[:3]) or "location not given"
        parts["location"] = (location, f"{facts.remote}; {where}")
    if judgement is not None:
        parts["fit"] = (_clamp(judgement.fit), judgement.summary)
    total_weight = sum(WEIGHTS[k] for k in parts)
    components = {k: Component(score=round(v, 4), weight=round(WEIGHTS[k] / total_weight, 4), detail=d)
                  for k, (v, d) in parts.items()}
    score = _clamp(sum(WEIGHTS[k] * v for k, (v, _) in parts.items()) / total_weight) if parts else 0.0
    notes = {"strengths": list(judgement.strengths), "gaps": list(judgement.gaps)} if judgement else {}
    return round(score, 4), Breakdown(**components, matched_skills=matched, missing_skills=missing, **notes)
