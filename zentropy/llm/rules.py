"""The deterministic extractor: what a posting says, found by the skill taxonomy and patterns.

No model, no key, no network: the same text always gives the same `Extraction`. Posting text is
only searched, never followed.
"""

from __future__ import annotations

import re

import msgspec

from zentropy.llm.salary import parse_salary
from zentropy.llm.schemas import Extraction, ExtractionAnswer, SalaryAnswer, Seniority, normalize
from zentropy.llm.skills import find_skills
from zentropy.sources.contract import EmploymentType, RemotePolicy

PREFERRED = re.compile(r"\b(nice[\s-]to[\s-]haves?|preferred|bonus|pluses?|a plus|desirable|ideally|"
                       r"would be great|good to have|not required|optional)\b", re.I)
REQUIRED_HEADING = re.compile(r"\b(requirements?|required|must[\s-]haves?|qualifications|what you bring|"
                              r"you have|you will need|skills)\b", re.I)
OTHER_HEADING = re.compile(r"\b(benefits|perks|what we offer|about us|about the company|why join)\b", re.I)

SENIORITY: list[tuple[Seniority, re.Pattern[str]]] = [
    ("intern", re.compile(r"\b(intern|internship|werkstudent)\b", re.I)),
    ("executive", re.compile(r"\b(head of|director|vp|vice president|chief \w+ officer|cto|ceo|cfo)\b", re.I)),
    ("principal", re.compile(r"\b(principal|distinguished)\b", re.I)),
    ("lead", re.compile(r"\b(lead|staff|team lead|tech lead|engineering manager)\b", re.I)),
    ("senior", re.compile(r"\b(senior|sr\.?)(?=\W)", re.I)),
    ("mid", re.compile(r"\b(mid[\s-]?level|intermediate|mid[\s-]senior)\b", re.I)),
    ("junior", re.compile(r"\b(junior|jr\.?|entry[\s-]level|graduate|new grad)(?=\W|$)", re.I)),
]
YEARS = re.compile(
    r"(?:(?:at\s+least|minimum(?:\s+of)?|min\.?|over|more\s+than)\s+)?"
    r"(?P<n>\d{1,2})\s*\+?\s*(?:(?:-|–|to)\s*\d{1,2}\s*\+?\s*)?years?(?:'|’)?"
    r"(?:\s+of)?(?:\s+[\w/+#.-]+){0,4}?\s+(?:experience|exp\b)",
    re.I,
)
REMOTE_NEGATED = re.compile(r"\b(not|no|non)[\s-]remote\b|\bremote\s+(?:work\s+)?(?:is\s+)?not\s+(?:possible|available)", re.I)
HYBRID = re.compile(r"\bhybrid\b|\b\d\s+days?\s+(?:per\s+week\s+|a\s+week\s+)?(?:in|at)\s+(?:the\s+|our\s+)?office\b"
                    r"|\bpartially\s+remote\b", re.I)
REMOTE = re.compile(r"\b(fully\s+remote|100\s?%\s+remote|remote[\s-]first|remote\b|work\s+from\s+(?:home|anywhere)|"
                    r"distributed\s+team|telecommute)", re.I)
ONSITE = re.compile(r"\b(on[\s-]?site|in[\s-]office|office[\s-]based|in\s+person)\b", re.I)
EMPLOYMENT: list[tuple[EmploymentType, re.Pattern[str]]] = [
    ("internship", re.compile(r"\b(internship|intern)\b", re.I)),
    ("contract", re.compile(r"\b(contract(?:or)?|freelance|fixed[\s-]term|b2b)\b", re.I)),
    ("temporary", re.compile(r"\b(temporary|temp|seasonal)\b", re.I)),
    ("part_time", re.compile(r"\b(part[\s-]time)\b", re.I)),
    ("full_time", re.compile(r"\b(full[\s-]time|permanent)\b", re.I)),
]


def extract(text: str) -> Extraction:
    required, preferred = _skills(text)
    years = _years(text)
    salary = parse_salary(text)
    answer = ExtractionAnswer(
        required_skills=required,
        preferred_skills=preferred,
        seniority=_seniority(text, years),
        years_experience=years,
        remote=_remote(text),
        salary=SalaryAnswer(min=salary.min, max=salary.max, currency=salary.currency, period=salary.period)
        if salary else None,
        employment_type=_first(EMPLOYMENT, text),
    )
    try:
        return normalize(answer, method="rules")
    except msgspec.ValidationError:  # an implausible salary (say "$20-$60,000 per hour") is left out
        return normalize(msgspec.structs.replace(answer, salary=None), method="rules")


def _skills(text: str) -> tuple[list[str], list[str]]:
    """Skills under a "nice to have" heading, or on a line that says so, are preferred; the rest required."""
    required: list[str] = []
    preferred: list[str] = []
    section = "required"
    for line in text.splitlines():
        stripped = line.strip()
        is_heading = 0 < len(stripped) <= 60 and (stripped.endswith(":") or len(stripped.split()) <= 5)
        if is_heading and PREFERRED.search(stripped):
            section = "preferred"
        elif is_heading and REQUIRED_HEADING.search(stripped):
            section = "required"
        elif is_heading and OTHER_HEADING.search(stripped):
            section = "other"
        skills = find_skills(line)
        if not skills:
            continue
        target = preferred if section == "preferred" or PREFERRED.search(line) else required
        target.extend(skills)
    required = list(dict.fromkeys(required))
    return required, [s for s in dict.fromkeys(preferred) if s not in required]


def _years(text: str) -> int | None:
    match = YEARS.search(text)
    if match is None:
        return None
    years = int(match["n"])
    return years if years <= 60 else None


def _seniority(text: str, years: int | None) -> Seniority:
    title = next((line for line in text.splitlines() if line.strip()), "")
    for scope in (title, text):
        level = _first(SENIORITY, scope)
        if level is not None:
            return level
    if years is None:
        return "unknown"
    return "junior" if years < 2 else "mid" if years < 5 else "senior"


def _remote(text: str) -> RemotePolicy:
    if REMOTE_NEGATED.search(text):
        return "onsite"
    if HYBRID.search(text):
        return "hybrid"
    if REMOTE.search(text):
        return "remote"
    if ONSITE.search(text):
        return "onsite"
    return "unknown"


def _first(patterns, text: str):  # noqa: ANN001, ANN202
    for value, pattern in patterns:
        if pattern.search(text):
            return value
    return None
