"""Merging a listing into its canonical posting: the best of each field, nothing lost.

- title and company come from the most authoritative listing: an employer's own over a staffing
  agency's, then an ATS apply URL over a company site over an aggregator;
- the apply URL with the highest rank (ATS > company site > aggregator), ties keep the first;
- salary from whichever has one; a stated range over a predicted one, both bounds over one;
- the earliest `posted_at`; locations and tags united; unknown fields filled in;
- the description fingerprint of the fullest description.

Every listing's blocking keys stay in `posting_keys` and `posting_agency_keys` (the ingest adds
them, but for keys already known hot, which no look-up uses), so a posting is found by the keys
of any of its listings.

`merge(merge(c, x), x) == merge(c, x)`: merging is idempotent, so replaying a page changes nothing.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from zentropy.dedup.fingerprints import FINGERPRINT_VERSION
from zentropy.dedup.keys import DedupKeys
from zentropy.sources.contract import Posting, Salary

MAX_TAGS = 50


class CanonicalPosting(msgspec.Struct, kw_only=True, gc=False):
    """A row of `postings`: permanent metadata only (content lives in `posting_content`)."""

    id: int
    title: str
    company: str | None = None
    locations: list[str] = []
    country: str | None = None
    remote: str = "unknown"
    salary_min: float | None = None
    salary_max: float | None = None
    salary_currency: str | None = None
    salary_period: str | None = None
    salary_predicted: bool = False
    employment_type: str | None = None
    posted_at: datetime | None = None
    source_url: str | None = None
    apply_url: str | None = None
    apply_url_rank: int = -1
    apply_url_key: str | None = None
    tags: list[str] = []
    category: str | None = None
    title_key: str = ""
    seniority: str | None = None
    company_key: str = ""
    agency: bool = False
    location_keys: list[str] = []
    signature: bytes | None = None
    shingles: int = 0
    fingerprint_version: int = FINGERPRINT_VERSION
    description_length: int = 0
    first_seen_at: datetime
    last_seen_at: datetime
    content_expires_at: datetime | None = None

    def dedup_keys(self) -> DedupKeys:
        return DedupKeys(
            title_key=self.title_key, seniority=self.seniority, company_key=self.company_key,
            agency=self.agency, location_keys=tuple(self.location_keys), country=self.country,
            apply_url_key=self.apply_url_key, apply_url_rank=self.apply_url_rank, signature=self.signature,
            shingles=self.shingles, block_keys=[],
        )


def _authority(agency: bool, company_key: str, rank: int) -> tuple[int, int]:
    return (0 if agency or not company_key else 1, rank)


def _salary_quality(minimum: float | None, maximum: float | None, predicted: bool) -> tuple[int, int]:
    bounds = (minimum is not None) + (maximum is not None)
    return (0 if not bounds else (1 if predicted else 2), bounds)


def _union(first: list, second: list, limit: int | None = None) -> list:
    out = list(first)
    out.extend(x for x in second if x not in first)
    return out[:limit] if limit else out


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return min(x for x in (a, b) if x is not None) if (a or b) else None


def new_canonical(posting_id: int, p: Posting, k: DedupKeys, now: datetime,
                  content_expires_at: datetime | None) -> CanonicalPosting:
    salary = p.salary
    return CanonicalPosting(
        id=posting_id, title=p.title, company=p.company, locations=list(p.locations), country=k.country,
        remote=p.remote, salary_min=salary.min if salary else None, salary_max=salary.max if salary else None,
        salary_currency=salary.currency if salary else None, salary_period=salary.period if salary else None,
        salary_predicted=salary.predicted if salary else False, employment_type=p.employment_type,
        posted_at=p.posted_at, source_url=p.source_url, apply_url=p.apply_url, apply_url_rank=k.apply_url_rank,
        apply_url_key=k.apply_url_key, tags=list(dict.fromkeys(p.tags))[:MAX_TAGS], category=p.category,
        title_key=k.title_key, seniority=k.seniority, company_key=k.company_key, agency=k.agency,
        location_keys=list(k.location_keys), signature=k.signature, shingles=k.shingles,
        description_length=len(p.description_text or ""),
        first_seen_at=now, last_seen_at=now, content_expires_at=content_expires_at,
    )


def merge(c: CanonicalPosting, p: Posting, k: DedupKeys, now: datetime,
          content_expires_at: datetime | None) -> CanonicalPosting:
    """`c` with listing `p` (its keys `k`) merged in; `c` itself is not changed."""
    changes: dict = {}
    if _authority(k.agency, k.company_key, k.apply_url_rank) > _authority(c.agency, c.company_key, c.apply_url_rank):
        changes.update(title=p.title, company=p.company, title_key=k.title_key, seniority=k.seniority,
                       company_key=k.company_key, agency=k.agency)
    if k.apply_url_rank > c.apply_url_rank:
        changes.update(apply_url=p.apply_url, apply_url_rank=k.apply_url_rank, apply_url_key=k.apply_url_key)
    s = p.salary
    if s is not None and _salary_quality(s.min, s.max, s.predicted) > _salary_quality(
        c.salary_min, c.salary_max, c.salary_predicted
    ):
        changes.update(salary_min=s.min, salary_max=s.max, salary_currency=s.currency, salary_period=s.period,
                       salary_predicted=s.predicted)
    new_places = [place for place in k.location_keys if place not in c.location_keys]
    if new_places:
        changes.update(location_keys=sorted(c.location_keys + new_places), locations=_union(c.locations, p.locations))
    if c.country is None and k.country:
        changes["country"] = k.country
    if c.remote == "unknown" and p.remote != "unknown":
        changes["remote"] = p.remote
    if c.employment_type is None and p.employment_type:
        changes["employment_type"] = p.employment_type
    if c.category is None and p.category:
        changes["category"] = p.category
    if c.source_url is None and p.source_url:
        changes["source_url"] = p.source_url
    posted_at = _earliest(c.posted_at, p.posted_at)
    if posted_at != c.posted_at:
        changes["posted_at"] = posted_at
    tags = _union(c.tags, list(dict.fromkeys(p.tags)), MAX_TAGS)
    if tags != c.tags:
        changes["tags"] = tags
    if k.shingles > c.shingles:
        changes.update(signature=k.signature, shingles=k.shingles)
    if len(p.description_text or "") > c.description_length:
        changes["description_length"] = len(p.description_text)
    if now > c.last_seen_at:
        changes["last_seen_at"] = now
    if now < c.first_seen_at:
        changes["first_seen_at"] = now
    if content_expires_at and (c.content_expires_at is None or content_expires_at > c.content_expires_at):
        changes["content_expires_at"] = content_expires_at
    return msgspec.structs.replace(c, **changes) if changes else c


def merge_canonicals(kept: CanonicalPosting, absorbed: CanonicalPosting) -> CanonicalPosting:
    """`kept` with the posting `absorbed` merged in, field by field as a listing is (`merge`): two
    postings found to be one job. Keeps `kept`'s id; neither is changed."""
    has_salary = absorbed.salary_min is not None or absorbed.salary_max is not None
    as_listing = Posting(
        source="", external_id="", title=absorbed.title, company=absorbed.company, locations=absorbed.locations,
        remote=absorbed.remote,  # type: ignore[arg-type]
        salary=Salary(min=absorbed.salary_min, max=absorbed.salary_max, currency=absorbed.salary_currency,
                      period=absorbed.salary_period,  # type: ignore[arg-type]
                      predicted=absorbed.salary_predicted) if has_salary else None,
        employment_type=absorbed.employment_type,  # type: ignore[arg-type]
        posted_at=absorbed.posted_at, source_url=absorbed.source_url, apply_url=absorbed.apply_url,
        tags=absorbed.tags, category=absorbed.category,
    )
    merged = merge(kept, as_listing, absorbed.dedup_keys(), absorbed.last_seen_at, absorbed.content_expires_at)
    return msgspec.structs.replace(merged, first_seen_at=min(kept.first_seen_at, absorbed.first_seen_at),
                                   description_length=max(kept.description_length, absorbed.description_length))
