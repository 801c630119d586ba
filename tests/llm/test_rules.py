"""The deterministic extractor: skill taxonomy and patterns for salary, seniority, remote, years, type."""

from __future__ import annotations

import html
import json
import re

import msgspec
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.conftest import FIXTURES
from zentropy.llm.rules import extract
from zentropy.llm.salary import PER_YEAR, parse_salary
from zentropy.llm.schemas import ExtractionAnswer, SalaryAnswer, normalize
from zentropy.llm.skills import TAXONOMY, find_skills, normalize_skills

POSTING = """Senior Backend Engineer (Python)

Acme is a remote-first company. Full-time, permanent.
Salary: $120,000 - $150,000 per year.

Requirements:
- 5+ years of professional experience with Python and Django
- PostgreSQL, Redis, Docker

Nice to have:
- Kubernetes, Terraform
- Experience with Python typing

Benefits: learning budget
"""


def test_a_typical_posting():
    e = extract(POSTING)
    assert e.required_skills == ["Python", "Django", "PostgreSQL", "Redis", "Docker"]
    assert e.preferred_skills == ["Kubernetes", "Terraform"]
    assert (e.seniority, e.years_experience, e.remote, e.employment_type) == ("senior", 5, "remote", "full_time")
    assert (e.salary.min, e.salary.max, e.salary.currency) == (120000, 150000, "USD")
    assert e.method == "rules" and e.model is None


def test_a_captured_remotive_posting():
    job = json.loads((FIXTURES / "sources" / "remotive.json").read_text())["jobs"][0]
    text = job["title"] + "\n" + re.sub(r"<[^>]+>", " ", html.unescape(job["description"])) + "\n" + job["salary"]
    e = extract(text)
    assert e.remote == "remote" and e.seniority == "lead"
    assert e.salary is not None and (e.salary.min, e.salary.max, e.salary.currency) == (175000, 225000, "USD")


@pytest.mark.parametrize(("text", "remote"), [
    ("Fully remote, work from anywhere", "remote"),
    ("Hybrid: 3 days in the office", "hybrid"),
    ("This role is not remote; on-site in Berlin", "onsite"),
    ("Office-based in Leeds", "onsite"),
    ("Great team, great coffee", "unknown"),
])
def test_remote_policy(text, remote):
    assert extract(text).remote == remote


@pytest.mark.parametrize(("text", "level"), [
    ("Junior Frontend Developer", "junior"), ("Staff Engineer, Platform", "lead"),
    ("Principal Data Scientist", "principal"), ("Head of Engineering", "executive"),
    ("Software Engineering Intern", "intern"), ("Mid-level QA Engineer", "mid"),
    ("Backend Engineer\nAt least 7 years of experience", "senior"), ("Backend Engineer", "unknown"),
])
def test_seniority(text, level):
    assert extract(text).seniority == level


@pytest.mark.parametrize(("text", "kind"), [
    ("Part-time support role", "part_time"), ("6-month contract, B2B", "contract"),
    ("Summer internship", "internship"), ("Full time position", "full_time"), ("Temporary cover", "temporary"),
    ("A role", None),
])
def test_employment_type(text, kind):
    assert extract(text).employment_type == kind


@pytest.mark.parametrize(("text", "years"), [
    ("Minimum of 3 years' experience in sales", 3), ("2-4 years of relevant work experience", 2),
    ("10+ years experience", 10), ("We were founded 12 years ago", None),
])
def test_years_of_experience(text, years):
    assert extract(text).years_experience == years


@pytest.mark.parametrize("text", ["We raised $50M last year", "Series C, 2-3 years of runway", "Call 555 1234",
                                  "Python 3.12 and 2 GPUs", "$5 coffee card"])
def test_numbers_that_are_not_salaries(text):
    assert parse_salary(text) is None


def test_go_the_language_and_go_the_verb():
    assert find_skills("We use Go and gRPC") == ["Go", "gRPC"]
    assert find_skills("Go to market with us, a go-getter") == []
    assert find_skills("Series C funding; R&D budget") == []


@given(st.sampled_from(sorted(TAXONOMY)), st.sampled_from(["Experience with {} required.", "{}, Docker", "({})"]))
def test_every_canonical_skill_is_found_in_context(skill, template):
    if skill in ("C", "R"):  # too ambiguous alone; matched through their aliases
        return
    assert skill in find_skills(template.format(skill))


@given(st.lists(st.sampled_from([a for aliases in TAXONOMY.values() for a in aliases] + sorted(TAXONOMY)),
                max_size=12))
def test_normalized_skills_are_canonical_unique_and_idempotent(names):
    once = normalize_skills(names)
    assert normalize_skills(once) == once
    assert len({s.lower() for s in once}) == len(once)
    assert all(s in TAXONOMY for s in once)


SYMBOL = {"USD": "$", "EUR": "€", "GBP": "£"}
PERIOD_TEXT = {"hour": "per hour", "month": "per month", "year": "per year"}


@settings(max_examples=150, deadline=None)
@given(
    low=st.integers(min_value=20, max_value=400_000), spread=st.integers(min_value=0, max_value=100_000),
    currency=st.sampled_from(["USD", "EUR", "GBP"]), period=st.sampled_from(["hour", "month", "year"]),
    style=st.sampled_from(["symbol", "code-after", "code-before"]), thousands=st.booleans(),
)
def test_salary_ranges_in_many_spellings(low, spread, currency, period, style, thousands):
    high = low + spread
    assume(high * PER_YEAR[period] <= 100_000_000)
    fmt = (lambda n: f"{n:,}") if thousands else str
    if style == "symbol":
        text = f"{SYMBOL[currency]}{fmt(low)} - {SYMBOL[currency]}{fmt(high)} {PERIOD_TEXT[period]}"
    elif style == "code-after":
        text = f"{fmt(low)}-{fmt(high)} {currency} {PERIOD_TEXT[period]}"
    else:
        text = f"{currency} {fmt(low)} to {fmt(high)} {PERIOD_TEXT[period]}"
    parsed = parse_salary(f"Compensation: {text}. Apply now.")
    assert parsed is not None and parsed.currency == currency and parsed.period == period
    assert parsed.min == low and parsed.max == high
    yearly = extract(f"Pay: {text}").salary
    assert yearly.min == low * PER_YEAR[period] and yearly.max == high * PER_YEAR[period]


@given(
    low=st.one_of(st.none(), st.floats(min_value=0, max_value=1e6)),
    high=st.one_of(st.none(), st.floats(min_value=0, max_value=1e6)),
    period=st.sampled_from(list(PER_YEAR)),
)
def test_yearly_salary_is_ordered_and_scaled(low, high, period):
    answer = ExtractionAnswer(required_skills=[], preferred_skills=[], seniority="unknown", years_experience=None,
                              remote="unknown", salary=SalaryAnswer(min=low, max=high, currency="usd", period=period),
                              employment_type=None)
    try:
        salary = normalize(answer, method="llm").salary
    except msgspec.ValidationError:
        assert max(x or 0 for x in (low, high)) * PER_YEAR[period] > 100_000_000  # beyond the bound: refused
        return
    if low is None and high is None:
        assert salary is None
        return
    assert salary.currency == "USD"
    if salary.min is not None and salary.max is not None:
        assert salary.min <= salary.max


def test_an_implausible_salary_is_left_out():
    assert extract("Senior dev, $20 - $60,000 per hour, Python").salary is None


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=400))
def test_any_text_gives_a_valid_extraction(text):
    e = extract(text)
    assert msgspec.convert(msgspec.to_builtins(e), type(e)) == e
