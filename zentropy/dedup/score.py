"""The duplicate decision: a weighted score over title, company, location and description
similarity, with vetoes for facts that rule a duplicate out.

`THRESHOLD` was chosen on the labeled pairs (`zentropy.dedup.calibration`, docs/dedup.md); the
weights are set by hand from what each signal can tell. A signal that is unknown for a pair (no
company, no description, no embedding) is left out of the weighted mean rather than counted as 0.
"""

from __future__ import annotations

import msgspec
from rapidfuzz import fuzz

from zentropy.dedup.fingerprints import jaccard
from zentropy.dedup.keys import DedupKeys
from zentropy.dedup.locations import locations_compatible

THRESHOLD = 0.8
SNIPPET_RATIO = 1 / 3
WEIGHTS = {"title": 0.30, "company": 0.25, "description": 0.35, "location": 0.10, "embedding": 0.25}
# Cosine similarity of two postings' vectors from which the embedding signal counts (0 there, 1 at 1.0):
# vectors of title, company, location and skills sit far above 0.5 for any two jobs of one kind.
EMBEDDING_FLOOR = 0.95
GENERIC_PATHS = frozenset({"", "careers", "career", "jobs", "job", "join", "join-us", "openings", "vacancies",
                           "apply", "work-with-us", "en", "us", "en-us", "opportunities"})


class Decision(msgspec.Struct, frozen=True, gc=False):
    score: float
    duplicate: bool
    reason: str


def specific_url(canonical: str) -> bool:
    """A URL that names one job, not a careers page every posting links to."""
    path, _, query = canonical.partition("?")
    segments = [s for s in path.split("/")[1:] if s]
    return bool(query) or (len(segments) >= 2 and segments[-1].lower() not in GENERIC_PATHS)


def title_similarity(a: DedupKeys, b: DedupKeys) -> float:
    if not a.title_key or not b.title_key:
        return 0.0
    if a.seniority != b.seniority:
        return 0.0  # a junior and a senior opening (or a level II and a level III) are two jobs
    return (fuzz.token_set_ratio(a.title_key, b.title_key) + fuzz.token_sort_ratio(a.title_key, b.title_key)) / 200


def company_similarity(a: DedupKeys, b: DedupKeys) -> float | None:
    """None when one side says nothing about the employer (missing, or a staffing agency)."""
    if not a.company_key or not b.company_key:
        return None
    if a.company_key == b.company_key:
        return 1.0
    if a.agency or b.agency:
        return None
    return 0.8 if fuzz.token_set_ratio(a.company_key, b.company_key) == 100 else 0.0


def overlap(a: DedupKeys, b: DedupKeys) -> float | None:
    """How much of the shorter description the longer one contains (the overlap coefficient),
    estimated from the MinHash Jaccard J and the shingle counts: |A & B| = J (|A| + |B|) / (1 + J).

    Containment, not Jaccard: an agency's repost drops the employer's About and benefits, an
    aggregator's snippet is the first lines; both are mostly inside the original."""
    if a.signature is None or b.signature is None:
        return None
    small, large = sorted((a.shingles, b.shingles))
    j = jaccard(a.signature, b.signature)
    return min(1.0, j * (small + large) / ((1 + j) * small))


def description_similarity(a: DedupKeys, b: DedupKeys, same_company: bool) -> float | None:
    """The overlap, rescaled: 0 at what unrelated postings share, 1 at what duplicates share.

    Postings of one employer share its About, benefits and legal paragraphs, so between them only
    a near-complete overlap counts. A snippet (under a third of the other) is too short for the
    estimate to tell more than "consistent" (None) or "contradicts" (0)."""
    value = overlap(a, b)
    if value is None:
        return None
    small, large = sorted((a.shingles, b.shingles))
    if small < SNIPPET_RATIO * large:
        return None if value >= 0.5 else 0.0
    base, span = (0.7, 0.2) if same_company else (0.25, 0.45)
    return min(1.0, max(0.0, (value - base) / span))


def embedding_signal(similarity: float | None) -> float | None:
    if similarity is None:
        return None
    return min(1.0, max(0.0, (similarity - EMBEDDING_FLOOR) / (1 - EMBEDDING_FLOOR)))


def decide(a: DedupKeys, b: DedupKeys, embedding_similarity: float | None = None) -> Decision:
    """`embedding_similarity`: the cosine similarity of the two postings' vectors, when both have one
    (zentropy.matching.duplicates); the ingest decides before any vector exists."""
    if a.country and b.country and a.country != b.country:
        return Decision(0.0, False, "different countries")
    places = locations_compatible(a.location_keys, b.location_keys)
    if places is False:
        return Decision(0.0, False, "different locations")
    title = title_similarity(a, b)
    company = company_similarity(a, b)
    description = description_similarity(a, b, same_company=company is not None and company > 0)
    if a.apply_url_key and a.apply_url_key == b.apply_url_key and specific_url(a.apply_url_key) and (
        title >= 0.5 or (description or 0.0) >= 0.5
    ):
        return Decision(1.0, True, "same apply url")
    features = {
        "title": title,
        "company": company,
        "description": description,
        "location": 1.0 if places else 0.5,
        "embedding": embedding_signal(embedding_similarity),
    }
    known = {k: v for k, v in features.items() if v is not None}
    score = sum(WEIGHTS[k] * v for k, v in known.items()) / sum(WEIGHTS[k] for k in known)
    return Decision(round(score, 4), score >= THRESHOLD, "score")
