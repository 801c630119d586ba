"""The texts that get embedded: a posting's (from its metadata and extraction, so it can be remade
after the content TTL) and a user's profile (from their preferences), in the same shape."""

from __future__ import annotations

from collections.abc import Sequence

from zentropy.llm.skills import normalize_skills


def posting_text(title: str, company: str | None, locations: Sequence[str], remote: str,
                 extraction: dict | None) -> str:
    extraction = extraction or {}
    skills = [*extraction.get("required_skills", []), *extraction.get("preferred_skills", [])]
    lines = [title + (f" at {company}" if company else "")]
    if skills:
        lines.append("Skills: " + ", ".join(skills))
    seniority = extraction.get("seniority")
    if seniority and seniority != "unknown":
        lines.append(f"Seniority: {seniority}")
    policy = extraction.get("remote") if extraction.get("remote", "unknown") != "unknown" else remote
    where = ", ".join(locations)
    if where or (policy and policy != "unknown"):
        lines.append("Location: " + ", ".join(x for x in (where, policy if policy != "unknown" else "") if x))
    return "\n".join(lines)


def profile_text(skills: Sequence[str], locations: Sequence[str], remote: bool | None) -> str:
    lines = []
    if skills:
        lines.append("Skills: " + ", ".join(normalize_skills(list(skills))))
    where = ", ".join(locations)
    policy = {True: "remote", False: "onsite", None: ""}[remote]
    if where or policy:
        lines.append("Location: " + ", ".join(x for x in (where, policy) if x))
    return "\n".join(lines)
