"""What matching returns: a score in 0..1 and the components it was made of."""

from __future__ import annotations

import msgspec


class Component(msgspec.Struct, frozen=True, kw_only=True):
    score: float  # 0..1
    weight: float  # its share of the total (the weights of the known components sum to 1)
    detail: str


class Breakdown(msgspec.Struct, frozen=True, kw_only=True):
    """Each component, or null when it cannot be told (no skills on either side, no salary...)."""

    skills: Component | None = None
    similarity: Component | None = None
    salary: Component | None = None
    location: Component | None = None
    fit: Component | None = None  # a model's judgement of the fit (POST /api/v1/jobs/{id}/match/refine)
    matched_skills: list[str] = []
    missing_skills: list[str] = []
    strengths: list[str] = []  # the model's, with `fit`
    gaps: list[str] = []


class Match(msgspec.Struct, frozen=True, kw_only=True):
    posting_id: int
    score: float  # 0..1, the weighted mean of the known components (0 when none is known)
    breakdown: Breakdown
    fit_model: str | None = None  # the model that judged `breakdown.fit`, when there is one
