"""What extraction produces: the answer a model must give (`ExtractionAnswer`, its JSON schema is
sent as structured output) and the validated, normalized `Extraction` that gets stored."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from zentropy.llm.salary import to_yearly
from zentropy.llm.skills import normalize_skills
from zentropy.sources.contract import EmploymentType, RemotePolicy, SalaryPeriod

Seniority = Literal["intern", "junior", "mid", "senior", "lead", "principal", "executive", "unknown"]
Method = Literal["llm", "rules"]
MAX_SKILLS = 40


class SalaryAnswer(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    min: float | None
    max: float | None
    currency: str | None  # ISO 4217
    period: SalaryPeriod | None


class ExtractionAnswer(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A model's answer. Every field is required (strict structured output); unknown fields are
    refused, so an answer that carries anything else is invalid, never half-read."""

    required_skills: list[str]
    preferred_skills: list[str]
    seniority: Seniority
    years_experience: int | None
    remote: RemotePolicy
    salary: SalaryAnswer | None
    employment_type: EmploymentType | None


Currency = Annotated[str, msgspec.Meta(pattern="^[A-Z]{3}$")]
Amount = Annotated[float, msgspec.Meta(ge=0, le=100_000_000)]
Skill = Annotated[str, msgspec.Meta(min_length=1, max_length=80)]


class YearlySalary(msgspec.Struct, frozen=True, kw_only=True):
    min: Amount | None = None
    max: Amount | None = None
    currency: Currency


class Extraction(msgspec.Struct, frozen=True, kw_only=True):
    """Posting metadata; it survives the content TTL. Salary is per year."""

    required_skills: Annotated[list[Skill], msgspec.Meta(max_length=MAX_SKILLS)] = []
    preferred_skills: Annotated[list[Skill], msgspec.Meta(max_length=MAX_SKILLS)] = []
    seniority: Seniority = "unknown"
    years_experience: Annotated[int, msgspec.Meta(ge=0, le=60)] | None = None
    remote: RemotePolicy = "unknown"
    salary: YearlySalary | None = None
    employment_type: EmploymentType | None = None
    method: Method = "rules"
    model: str | None = None  # the model that answered, for method "llm"


def normalize(answer: ExtractionAnswer, *, method: Method, model: str | None = None) -> Extraction:
    """The answer as an `Extraction`: skills canonical and deduplicated (a skill both required and
    preferred is required), salary per year. Raises msgspec.ValidationError when a value is out of
    bounds (a negative salary, a currency that is not a code, 90 years of experience...)."""
    required = normalize_skills(answer.required_skills)
    seen = {s.lower() for s in required}
    preferred = [s for s in normalize_skills(answer.preferred_skills) if s.lower() not in seen]
    salary = None
    if answer.salary is not None and (answer.salary.min is not None or answer.salary.max is not None):
        low, high = answer.salary.min, answer.salary.max
        if low is not None and high is not None and low > high:
            low, high = high, low
        period = answer.salary.period or "year"
        salary = {"min": to_yearly(low, period), "max": to_yearly(high, period),
                  "currency": (answer.salary.currency or "").upper()}
    return msgspec.convert(
        {"required_skills": required[:MAX_SKILLS], "preferred_skills": preferred[:MAX_SKILLS],
         "seniority": answer.seniority, "years_experience": answer.years_experience, "remote": answer.remote,
         "salary": salary, "employment_type": answer.employment_type, "method": method, "model": model},
        Extraction,
    )
